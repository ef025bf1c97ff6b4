"""X connector: owned mentions and DMs in (both field spellings, both DM shapes), replies, DMs and
status posts out, with X's rate limits, prices and reply restriction."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

import httpx

from agentconsole.channels import phases
from agentconsole.channels.contract import ListenResult, ListenTerms
from agentconsole.domain.clock import Clock
from agentconsole.domain.errors import (AuthError, ConnectorError, NotSent, OutcomeUnknown, PermanentError,
                                        RateLimited, TemporaryError)
from agentconsole.domain.models import (Channel, Direction, DmAvailability, FetchResult, InboundMessage, Kind,
                                        OutboundRequest, Person, SendResult)
from agentconsole.domain.rows import AccountRow
from agentconsole.domain.sanitize import one_line
from connectors import shape
from connectors.http import DEADLINE
from connectors.x import CAPABILITIES, DEFAULT_API
from connectors.x import payload as xp
from connectors.x.api import Api, Forbidden, ReplyRestricted
from connectors.x.auth import SecretStore, TokenKeeper, Tokens, refresh_grant
from connectors.x.credits import Ledger, parse_prices, url_warning, write_kind
from connectors.x.sent import find_own_dm, find_own_post

log = logging.getLogger(__name__)

TWEET_FIELDS = "created_at,author_id,conversation_id,in_reply_to_user_id,referenced_tweets,attachments,entities"
USER_FIELDS = "username,name,description,location,receives_your_dm"
DM_FIELDS = "id,text,event_type,created_at,sender_id,dm_conversation_id,participant_ids,attachments,referenced_tweets"
MENTIONS_ROUTE = "/2/users/:id/mentions"
DM_ROUTE = "/2/dm_events"
FETCH_RESERVE = 1  # fetches leave the last request of a window to replies and lookups
SEEN_DMS = 500  # DM event ids kept in the cursor: stream and poll deliver the same DM once
DM_CACHE_SECONDS = 3600.0  # how long an expansion's receives_your_dm answers dm_availability
SEND_DEADLINE = 30.0
DM_PAGE = 20  # DM events are billed $0.010 each (once a day): a poll reads no more than a minute brings
STREAMING_DM_INTERVAL = 900.0
_NEVER_LEFT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


def _id_key(value: str) -> tuple[int, str]:
    return (len(value), value)


class XConnector:
    """One X account, through the brand's own developer app and a user token."""

    channel = Channel.X
    capabilities = CAPABILITIES

    def __init__(self, tokens: TokenKeeper, clock: Clock, *, client: httpx.AsyncClient | None = None,
                 api: str = DEFAULT_API, own_id: str | None = None, username: str = "",
                 poll_interval: float = 60.0, dm_interval: float = 60.0, prices: Any = None,
                 deadline: float = DEADLINE, max_pages: int = 5, send_deadline: float = SEND_DEADLINE) -> None:
        self.clock = clock
        self.poll_interval = poll_interval
        self.dm_interval = dm_interval
        self.max_pages = max_pages
        self.send_deadline = send_deadline
        self._client = client or httpx.AsyncClient(timeout=httpx.Timeout(20.0))
        self._owns_client = client is None
        self.tokens = tokens
        self.api = Api(api, self._client, clock, tokens, deadline=deadline)
        self.own_id = own_id
        self.username = username
        self.own_name = ""
        self.ledger = Ledger(parse_prices(prices))
        self._dm_cache: dict[str, tuple[bool, float]] = {}
        self.pushed: dict[str, InboundMessage] = {}  # DMs the stream delivered, until the next fetch
        self.streaming = False
        self._stream_gap = False

    # ------------------------------------------------------------------ account

    async def me(self) -> dict[str, Any]:
        answer = await self.api.get("/2/users/me", params={"user.fields": "username,name"})
        data = xp.page(answer.body, "/2/users/me").get("data")
        fixed, _ = xp.repaired(data)
        if not shape.valid(fixed, xp.USER):
            raise TemporaryError("X sent an unexpected answer on /2/users/me")
        self.own_id, self.username = str(fixed["id"]), str(fixed.get("username") or "")
        self.own_name = str(fixed.get("name") or "")
        self.ledger.read("user_read", [self.own_id], self.clock.now())
        me: dict[str, Any] = fixed
        return me

    async def check(self) -> str:
        try:
            me = await self.me()
        except PermanentError as exc:
            raise AuthError(f"re-authorise: {exc}") from exc
        name = one_line(me.get("name") or "", 60)
        who = f"{name} (@{one_line(self.username, 60)})" if name else f"@{one_line(self.username, 60)}"
        expiry = self.tokens.tokens.expires_at
        left = f", expires in {max(0, int((expiry - self.clock.now()) // 60))} min" if expiry else ""
        refresh = "refreshed automatically" if self.tokens.tokens.refresh_token else "no refresh token"
        saved = f"; WARNING: {self.tokens.unsaved}" if self.tokens.unsaved else ""
        return f"{who}: token valid{left} ({refresh}); {self.credits()}{saved}"

    def credits(self) -> str:
        """Today's spend at X's prices, e.g. "$0.042 spent today (UTC)"."""
        return self.ledger.describe(self.clock.now())

    def status_note(self) -> str:
        """What the banner shows beside the account once it synced: today's spend."""
        return self.credits()

    def spent_today(self) -> float:
        return self.ledger.today(self.clock.now())

    def send_warning(self, text: str, action: str) -> str:
        """What to say before sending *text* (a post with a link costs 13× more); "" when nothing."""
        return url_warning(text, action, self.ledger.prices)

    async def _ready(self) -> None:
        if self.own_id is None:
            await self.me()

    async def close(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    # ------------------------------------------------------------------ receiving

    listen_interval = 900.0  # X bills every post a search reads ($0.005): listen every quarter hour

    async def listen(self, terms: ListenTerms, cursor: str | None) -> ListenResult:
        """Brand talk beyond the mentions (the Listens extra), priced: see connectors.x.listen."""
        from connectors.x.listen import listen

        return await listen(self, terms, cursor)

    async def like(self, external_id: str) -> None:
        """Like a post (the LikesPosts extra: what we can do with brand talk X will not let us answer)."""
        from connectors.x.listen import like

        await like(self, external_id)

    async def fetch(self, cursor: str | None) -> FetchResult:
        state = _load_cursor(cursor)
        now = self.clock.now()
        self.ledger.restore(state.get("credits"), now)
        await self._ready()
        mentions, newest = await self._mentions(state.get("since"))
        messages: dict[str, InboundMessage] = {m.external_id: m for m in mentions}
        seen = [str(s) for s in state.get("dm_seen") or [] if isinstance(s, str)][-SEEN_DMS:]
        dm_high, dm_at = state.get("dm_high"), state.get("dm_at")
        # While the stream delivers DMs the poll is only a backfill: once a quarter hour, or at once
        # after the stream dropped.
        interval = STREAMING_DM_INTERVAL if self.streaming and not self._stream_gap else self.dm_interval
        if not isinstance(dm_at, (int, float)) or now - dm_at >= interval or now < dm_at:
            self._stream_gap = False
            dms, dm_high = await self._dms(dm_high if isinstance(dm_high, str) else None)
            dm_at = now
        else:
            dms = []
        dms += list(self.pushed.values())
        self.pushed.clear()
        known = set(seen)
        for msg in dms:
            if msg.external_id not in known:
                known.add(msg.external_id)
                seen.append(msg.external_id)
                messages.setdefault(msg.external_id, msg)
        new_state = {"since": newest or state.get("since"), "dm_high": dm_high, "dm_at": dm_at,
                     "dm_seen": seen[-SEEN_DMS:], "credits": self.ledger.state()}
        return FetchResult(list(messages.values()), json.dumps(new_state, separators=(",", ":")))

    async def _mentions(self, since: str | None) -> tuple[list[InboundMessage], str | None]:
        """Mentions newer than *since* (the first sync takes the newest page only). The cursor is the
        newest id among the readable posts, never X's meta.newest_id: one unreadable item with a huge
        id must not move it past real mentions."""
        params: dict[str, str] = {"max_results": "100" if since else "20", "tweet.fields": TWEET_FIELDS,
                                  "expansions": "author_id,attachments.media_keys",
                                  "user.fields": USER_FIELDS, "media.fields": "type,url,preview_image_url"}
        if since:
            params["since_id"] = since
        found: list[InboundMessage] = []
        newest = since
        for _ in range(self.max_pages):
            answer = await self.api.get(f"/2/users/{self.own_id}/mentions", route=MENTIONS_ROUTE, params=params,
                                        reserve=FETCH_RESERVE)
            data = xp.page(answer.body, "mentions")
            posts = xp.items(data.get("data"), xp.POST, "post")
            users, media = xp.includes(data)
            now = self.clock.now()
            self.ledger.read("owned_read", [p.obj["id"] for p in posts], now)
            self.ledger.read("user_read", list(users), now)
            for uid, user in users.items():
                if isinstance(user.get("receives_your_dm"), bool):
                    self._dm_cache[uid] = (user["receives_your_dm"], now)
            for item in posts:
                found.append(self._post(item, users, media))
                pid = str(item.obj["id"])
                if newest is None or _id_key(pid) > _id_key(newest):
                    newest = pid
            token = (data.get("meta") or {}).get("next_token") if isinstance(data.get("meta"), dict) else None
            if not since or not isinstance(token, str) or not token:
                break
            params = {**params, "pagination_token": token[:200]}
        return found, newest

    def _post(self, item: xp.Item, users: dict[str, Any], media: dict[str, Any]) -> InboundMessage:
        post = item.obj
        pid = str(post["id"])
        author_id = str(post.get("author_id") or "")
        user = users.get(author_id)
        notes = list(item.notes)
        sent_at = xp.parse_time(post.get("created_at"))
        if sent_at is None:
            sent_at = self.clock.now()
            notes.append(f"no readable creation time ({one_line(repr(post.get('created_at')), 40)}); time of fetch used")
        extra: dict[str, Any] = {"summoned": True}
        if user is not None:
            extra["url"] = f"https://x.com/{user.get('username') or 'i'}/status/{pid}"
            if isinstance(user.get("receives_your_dm"), bool):
                extra["receives_your_dm"] = user["receives_your_dm"]
        return InboundMessage(
            external_id=pid, thread_key=str(post.get("conversation_id") or pid), kind=Kind.PUBLIC,
            author=xp.person(user, author_id), text=xp.with_attachments(post["text"], xp.attachments(post, media)),
            sent_at=sent_at, direction=Direction.OUT if author_id == self.own_id else Direction.IN,
            in_reply_to=xp.replied_to(post), raw=item.raw, parse_note="; ".join(notes), extra=extra)

    async def _dms(self, high: str | None) -> tuple[list[InboundMessage], str | None]:
        """DM events newer than *high* (one page: X allows 15 DM reads per 15 min, and the stream, when
        it runs, brings the rest)."""
        params = {"event_types": "MessageCreate", "dm_event.fields": DM_FIELDS, "max_results": str(DM_PAGE),
                  "expansions": "sender_id,attachments.media_keys", "user.fields": USER_FIELDS,
                  "media.fields": "type,url,preview_image_url"}
        answer = await self.api.get("/2/dm_events", route=DM_ROUTE, params=params, reserve=FETCH_RESERVE)
        data = xp.page(answer.body, "dm_events")
        events = xp.items(data.get("data"), xp.DM_EVENT, "DM event")
        users, media = xp.includes(data)
        fresh = [e for e in events if high is None or _id_key(str(e.obj["id"])) > _id_key(high)]
        self.ledger.read("dm_read", [e.obj["id"] for e in events], self.clock.now())
        out = [self._dm_event(e, users, media) for e in fresh if e.obj.get("event_type") == "MessageCreate"]
        ids = [str(e.obj["id"]) for e in events]
        newest = max(ids + ([high] if high else []), key=_id_key) if ids or high else None
        return out, newest

    def _dm_event(self, item: xp.Item, users: dict[str, Any], media: dict[str, Any]) -> InboundMessage:
        """A v2 DmEvent (dm_events, the poll)."""
        event = item.obj
        sender = str(event.get("sender_id") or "")
        conv = str(event.get("dm_conversation_id") or "")
        if not conv:
            others = [p for p in event.get("participant_ids") or [] if str(p) != self.own_id]
            conv = xp.pair_id(sender, str(others[0]) if others else str(self.own_id))
        return self._dm(item, sender, conv, str(event.get("text") or ""), event.get("created_at"),
                        xp.attachments(event, media), users)

    def _dm(self, item: xp.Item, sender: str, conv: str, text: str, created: Any, lines: list[str],
            users: dict[str, Any]) -> InboundMessage:
        notes = list(item.notes)
        sent_at = xp.parse_time(created)
        if sent_at is None:
            sent_at = self.clock.now()
            notes.append(f"no readable creation time ({one_line(repr(created), 40)}); time of fetch used")
        outgoing = sender == self.own_id
        # The customer is the other participant, also on our own DMs (sent from the X app).
        customer = next((p for p in conv.split("-") if p != self.own_id), sender) if outgoing else sender
        extra: dict[str, Any] = {"dm_conversation_id": conv}
        if outgoing:
            extra["source"] = "platform"
            extra["recipient"] = xp.person(users.get(customer), customer)
        return InboundMessage(
            external_id=str(item.obj["id"]), thread_key=xp.dm_key(conv), kind=Kind.DM,
            author=xp.person(users.get(sender), sender), text=xp.with_attachments(text, lines), sent_at=sent_at,
            direction=Direction.OUT if outgoing else Direction.IN, raw=item.raw, parse_note="; ".join(notes),
            extra=extra)

    def activity(self, body: bytes) -> list[InboundMessage]:
        """The messages in one X Activity API event (dm.received / dm.sent in the legacy
        direct_message_events shape, chat.received as an encrypted chat); they are kept for the next
        fetch, which de-duplicates them against the poll by id."""
        envelope = xp.page(body, "the activity stream")
        raw_data = envelope.get("data")
        data: dict[str, Any] = raw_data if isinstance(raw_data, dict) else {}
        kind = data.get("event_type")
        raw_body_of = data.get("payload")
        body_of: dict[str, Any] = raw_body_of if isinstance(raw_body_of, dict) else {}
        found: list[InboundMessage] = []
        if kind in ("dm.received", "dm.sent"):
            users = xp.legacy_users(body_of)
            for item in xp.items(body_of.get("direct_message_events"), xp.LEGACY_DM, "DM event"):
                create = item.obj["message_create"]
                sender = str(create["sender_id"])
                recipient = str((create.get("target") or {}).get("recipient_id") or self.own_id)
                text = str((create.get("message_data") or {}).get("text") or "")
                found.append(self._dm(item, sender, xp.pair_id(sender, recipient), text,
                                      item.obj.get("created_timestamp"), [], users))
        elif kind in ("chat.received", "chat.sent"):
            for item in xp.items([body_of], xp.CHAT, "chat event"):
                found.append(xp.encrypted_chat(item, str(self.own_id), self.clock.now()))
        if kind in ("dm.received", "chat.received"):
            self.ledger.read("dm_read", [m.external_id for m in found], self.clock.now())
        for msg in found:
            self.pushed[msg.external_id] = msg
        return found

    async def watch(self, wake: Callable[[], None]) -> None:
        """Real-time DMs from the X Activity API stream, until cancelled (the engine runs it beside the
        poll; fetch() stays the truth and de-duplicates both by id)."""
        from connectors.x import stream

        try:
            await stream.watch(self, self._client, wake)
        finally:
            self.streaming = False

    def stream_dropped(self) -> None:
        """After a dropped stream the next fetch polls DMs at once (the reconnect's backfill covers 5 min)."""
        self.streaming = False
        self._stream_gap = True

    # ------------------------------------------------------------------ DM availability

    async def dm_availability(self, person: Person) -> DmAvailability:
        """Whether X lets us DM *person* now (their receives_your_dm), from the last mention's
        expansion when it is recent, else one user read."""
        uid = person.external_id
        if not shape.valid(uid, xp.ID):
            raise PermanentError(f"{one_line(uid, 40)!r} is not an X user id")
        cached = self._dm_cache.get(uid)
        now = self.clock.now()
        if cached is None or now - cached[1] > DM_CACHE_SECONDS:
            answer = await self.api.get(f"/2/users/{uid}", route="/2/users/:id",
                                        params={"user.fields": "username,receives_your_dm"})
            data, _ = xp.repaired(xp.page(answer.body, "the user").get("data"))
            self.ledger.read("user_read", [uid], now)
            if not isinstance(data, dict) or not isinstance(data.get("receives_your_dm"), bool):
                raise TemporaryError("X did not say whether this person accepts DMs")
            cached = self._dm_cache[uid] = (data["receives_your_dm"], now)
        if cached[0]:
            return DmAvailability(True)
        brand = f"@{self.username}" if self.username else "us"
        return DmAvailability(False, f"they do not accept DMs from {brand} on X",
                              f"Could you send us a DM? (You may need to allow messages from {brand} first.)")

    # ------------------------------------------------------------------ sending

    async def send(self, request: OutboundRequest) -> SendResult:
        """One reply, DM or post. Failures before the POST are NotSent; a POST that left without an answer
        is OutcomeUnknown (X has no idempotency key: the engine asks find_sent, then the agent)."""
        try:
            await self._ready()
            path, body, kind, thread_key = self._plan(request)
            await self.tokens.access()  # a due refresh happens here, before anything of the send leaves
        except (PermanentError, AuthError, RateLimited, NotSent):
            raise
        except TemporaryError as exc:
            raise NotSent(str(exc)) from exc
        await phases.transmitting()
        try:
            answer = await asyncio.wait_for(self.api.call("POST", path, route=path.split("/with/")[0], json=body,
                                                          send=True), self.send_deadline)
        except TimeoutError as exc:
            raise OutcomeUnknown(f"X: no full answer within {self.send_deadline:.0f} s; it may have been sent") from exc
        except Forbidden as exc:
            if request.action == "reply" and request.kind != Kind.DM:
                raise await self._restricted(request, exc) from exc
            raise
        except (NotSent, OutcomeUnknown, RateLimited, AuthError):
            raise
        except TemporaryError as exc:
            if isinstance(exc.__cause__, _NEVER_LEFT):
                raise NotSent(f"X: it never left: {exc}") from exc
            raise OutcomeUnknown(f"X: no answer ({exc}); it may have been sent") from exc
        except ConnectorError:
            raise
        except Exception as exc:
            raise OutcomeUnknown(f"X: no usable answer ({type(exc).__name__}: {exc})") from exc
        self.ledger.write(kind, self.clock.now())
        data = (xp.decode(answer.body, path) or {}).get("data")
        if not isinstance(data, dict):
            raise OutcomeUnknown("X accepted it but returned no id")
        ext = data.get("dm_event_id") if kind == "dm" else data.get("id")
        if not shape.valid(ext, xp.ID):
            raise OutcomeUnknown("X accepted it but returned no readable id")
        if kind == "dm" and isinstance(data.get("dm_conversation_id"), str):
            thread_key = xp.dm_key(data["dm_conversation_id"])
        return SendResult(external_id=str(ext), sent_at=self.clock.now(), thread_key=thread_key or str(ext),
                          raw=json.dumps(data, ensure_ascii=False))

    def _plan(self, request: OutboundRequest) -> tuple[str, dict[str, Any], str, str | None]:
        thread = request.thread_key or ""
        if thread.startswith("xchat:"):
            raise PermanentError("this is an encrypted X chat: answer it in the X app")
        if request.action == "dm" or (request.action == "reply" and request.kind == Kind.DM):
            recipient = request.recipient.external_id if request.recipient else ""
            if not recipient and thread.startswith("dm:"):
                recipient = next((p for p in thread[3:].split("-") if p != self.own_id), "")
            if not shape.valid(recipient, xp.ID):
                raise PermanentError("an X DM needs the recipient's X user id")
            if len(request.text) > 10_000:
                raise PermanentError("an X DM holds at most 10,000 characters")
            return (f"/2/dm_conversations/with/{recipient}/messages", {"text": request.text}, "dm",
                    thread or None)
        if request.action == "reply":
            if not shape.valid(request.in_reply_to, xp.ID):
                raise PermanentError("an X reply needs the id of the post it answers")
            return ("/2/tweets", {"text": request.text, "reply": {"in_reply_to_tweet_id": str(request.in_reply_to)}},
                    "reply", request.thread_key)
        if request.action == "post":
            body: dict[str, Any] = {"text": request.text}
            if shape.valid(request.extra.get("quote_of"), xp.ID):  # quoting a heard post
                body["quote_tweet_id"] = str(request.extra["quote_of"])
            return "/2/tweets", body, write_kind("post", request.text), None
        raise PermanentError(f"X cannot {request.action!r}")

    async def _restricted(self, request: OutboundRequest, exc: PermanentError) -> ReplyRestricted:
        """The 403 on a reply as the offer the agent needs: a DM when they accept ours, else a public
        "please DM us"."""
        base = (f"X will not let us reply publicly ({exc}): a self-serve app may only answer posts that "
                "@mention or quote the brand")
        if request.recipient is None:
            return ReplyRestricted(base + ". Offer a DM instead (press d).")
        try:
            availability = await self.dm_availability(request.recipient)
        except ConnectorError:
            return ReplyRestricted(base + ". Offer a DM instead (press d); X did not say whether they accept DMs.")
        if availability.can_dm:
            return ReplyRestricted(base + ". They accept DMs from us: answer by DM instead (press d).")
        return ReplyRestricted(base + f", and {availability.reason}. Ask them publicly to DM us: "
                               f"\"{availability.public_hint}\"")

    async def find_sent(self, request: OutboundRequest) -> SendResult | None:
        """Our own post (or DM) with this text since the first attempt, or None; not authoritative (X's
        timelines are eventually consistent), so a "not found" goes to the agent."""
        since = request.extra.get("first_attempt_at")
        if not isinstance(since, (int, float)):
            raise PermanentError("cannot look an X send up without the time of its first attempt")
        await self._ready()
        plan = self._plan(request)
        if plan[2] == "dm":
            recipient = plan[0].split("/with/")[1].split("/")[0]
            return await find_own_dm(self, recipient, request, float(since))
        return await find_own_post(self, request, float(since))


def _load_cursor(cursor: str | None) -> dict[str, Any]:
    state = shape.cursor_state(cursor)
    if not state and cursor and shape.valid(cursor, xp.ID) and not _is_json(cursor):
        return {"since": cursor}  # a bare post id that is not JSON: the newest mention read
    return state


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def from_account(account: AccountRow, clock: Clock, client: httpx.AsyncClient | None = None) -> XConnector:
    settings = account.settings or {}
    store = SecretStore(account.name, settings)
    tokens = store.load()
    api = str(settings.get("api") or DEFAULT_API)
    http_client = client or httpx.AsyncClient(timeout=httpx.Timeout(20.0))
    from connectors.http import Http

    http = Http(http_client, "X", deadline=float(settings.get("deadline") or DEADLINE))

    async def refresher(old: Tokens) -> Tokens:
        return await refresh_grant(http, api, old, clock.now())

    keeper = TokenKeeper(tokens, store, refresher, clock)
    connector = XConnector(keeper, clock, client=http_client, api=api,
                           own_id=str(settings["user_id"]) if settings.get("user_id") else None,
                           username=str(settings.get("username") or ""),
                           poll_interval=float(settings.get("poll_interval") or 60),
                           dm_interval=float(settings.get("dm_interval") or 60), prices=settings.get("prices"),
                           deadline=float(settings.get("deadline") or DEADLINE),
                           send_deadline=float(settings.get("send_deadline") or SEND_DEADLINE))
    connector._owns_client = client is None
    return connector
