"""Mastodon connector: mentions and direct messages in, replies, DMs and public posts out."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

from agentconsole.channels.contract import ListenResult, ListenTerms
from agentconsole.domain.clock import Clock
from agentconsole.channels import phases
from agentconsole.domain.errors import (AuthError, ConnectorError, NotSent, OutcomeUnknown, PermanentError,
                                        RateLimited, TemporaryError)
from agentconsole.domain.models import (Channel, Direction, FetchResult, InboundMessage, Kind,
                                 OutboundRequest, Person, SendResult)
from agentconsole.domain.rows import AccountRow
from agentconsole.domain.sanitize import clean, findings, one_line
from agentconsole.secrets import SecretUnavailable, load_secret

from connectors.mastodon import DEFAULT_MAX_CHARACTERS, IDEMPOTENCY_KEY_SECONDS, capabilities_for  # noqa: F401
from connectors.mastodon import stream as mastodon_stream
from connectors.mastodon.html import full_acct, html_to_text, status_text
from connectors import shape
from connectors.http import DEADLINE
from connectors.mastodon.client import (ACCOUNT, CONVERSATION, INSTANCE, NOTIFICATION, STATUS, Api, normalise_instance, parse_time)
from connectors.mastodon.payload import (MAX_PAGE_ITEMS, Item, decode_json, load_cursor as _load_cursor,
                                         page as _page, parse_time_safely as _time, readable as _readable)
from connectors.mastodon.sent import find_own_status, post_outcome
from connectors.mastodon.stream import streaming_base

log = logging.getLogger(__name__)

URL_LENGTH = 23
SEND_DEADLINE = 30.0  # a post with no full answer by then (a trickling server, say) has an unknown outcome
USER_AGENT = "agentconsole (+https://github.com/agentconsole)"
# Narrowest last: a reply may narrow the customer's visibility, never widen it.
VISIBILITY_ORDER = ("public", "unlisted", "private", "direct")
FILTERED_NOTE = "held back by the account's notification policy (filtered mention)"
ROOT_CACHE = 1000  # status id -> thread root, kept in the cursor so restarts need no context calls
FETCH_RESERVE = 5  # fetches stop this many requests short of the limit so replies still go out


def narrowest(*visibilities: str | None) -> str:
    known = [v for v in visibilities if v in VISIBILITY_ORDER]
    return max(known, key=VISIBILITY_ORDER.index) if known else "public"


PAGE = shape.ListOf(shape.Anything(), max_items=MAX_PAGE_ITEMS)


def _count(value: Any, default: int) -> int:
    """A positive count from the instance's configuration; anything odd falls back to *default*."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return default
    return number if 0 < number <= 1_000_000 else default


def _id_key(value: str) -> tuple[int, str]:
    # Ids are integers cast to strings (not guaranteed): order numerically when they are.
    return (len(value), value)


class MastodonConnector:
    """One Mastodon account on one instance, polled through the REST API."""

    channel = Channel.MASTODON

    def __init__(self, instance: str, token: str, clock: Clock, *, client: httpx.AsyncClient | None = None,
                 max_characters: int | None = None, own_id: str | None = None,
                 page_limit: int = 40, max_pages: int = 5, poll_interval: float = 60.0,
                 deadline: float = DEADLINE, idempotency_window: float = IDEMPOTENCY_KEY_SECONDS,
                 send_deadline: float = SEND_DEADLINE) -> None:
        self.instance = normalise_instance(instance)
        self.clock = clock
        self.poll_interval = poll_interval
        self.page_limit = page_limit
        self.max_pages = max_pages
        self.local_host = urlsplit(self.instance).hostname or ""
        self._client = client or httpx.AsyncClient(timeout=httpx.Timeout(20.0))
        self._owns_client = client is None
        self._client.headers.update({"Authorization": f"Bearer {token}", "User-Agent": USER_AGENT})
        self.api = Api(self.instance, self._client, clock, deadline=deadline)
        self.own_id = own_id
        self.own_acct = ""
        self.own_display_name = ""
        self._limits_loaded = False
        self.streaming_url = self.instance
        self._roots: dict[str, str] = {}
        self.capabilities = dataclasses.replace(capabilities_for(max_characters),
                                                idempotency_window=idempotency_window)
        self.send_deadline = send_deadline

    # ------------------------------------------------------------------ set-up and checks

    async def load_limits(self) -> int:
        """Read the instance's status length limit into capabilities.max_length."""
        data = await self.api.get_json("/api/v2/instance", expect=INSTANCE)
        config = data.get("configuration") or {}
        statuses = config.get("statuses") or {}
        limit = _count(statuses.get("max_characters"), DEFAULT_MAX_CHARACTERS)
        per_url = _count(statuses.get("characters_reserved_per_url"), URL_LENGTH)
        if per_url != URL_LENGTH:
            log.info("%s counts URLs as %d characters, the composer counts %d", self.instance, per_url,
                     URL_LENGTH)
        self.local_host = str(data.get("domain") or self.local_host)
        self.streaming_url = streaming_base(self.instance, (config.get("urls") or {}).get("streaming"))
        self.capabilities = dataclasses.replace(self.capabilities, max_length=limit)
        self._limits_loaded = True
        return limit

    async def verify(self) -> dict[str, Any]:
        me = await self.api.get_json("/api/v1/accounts/verify_credentials", expect=ACCOUNT)
        self.own_id = str(me["id"])
        self.own_acct = str(me.get("acct") or me.get("username") or "")
        self.own_display_name = str(me.get("display_name") or "")
        verified: dict[str, Any] = me
        return verified

    async def check(self) -> str:
        try:
            me = await self.verify()
        except PermanentError as exc:
            raise AuthError(f"re-authorise: {exc}") from exc
        limit = await self.load_limits()
        name = one_line(me.get("display_name") or "", 60)
        handle = one_line("@" + full_acct(self.own_acct, self.local_host), 80)
        who = f"{name} ({handle})" if name else handle
        return f"{who} on {self.instance}: token valid, {limit} characters per post"

    async def _ready(self) -> None:
        if self.own_id is None:
            await self.verify()
        if not self._limits_loaded:
            await self.load_limits()

    async def watch(self, wake: Callable[[], None]) -> None:
        """Call *wake* (e.g. the engine's kick) as soon as a mention or DM arrives, until cancelled.

        Optional: fetch() alone is complete; this only shortens the wait for the next poll.
        """
        if not self._limits_loaded:
            await self.load_limits()
        await mastodon_stream.watch(self._client, self.streaming_url, wake)

    async def close(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    # ------------------------------------------------------------------ receiving

    listen_interval = 300.0  # hashtag and search rounds (one request per term) share the 300 per 5 min

    async def listen(self, terms: ListenTerms, cursor: str | None) -> ListenResult:
        """Brand talk beyond the mentions (the Listens extra): see connectors.mastodon.listen."""
        from connectors.mastodon.listen import listen

        return await listen(self, terms, cursor)

    async def fetch(self, cursor: str | None) -> FetchResult:
        state = _load_cursor(cursor)
        self._roots.update(state.get("roots", {}))
        await self._ready()
        notes, newest, more = await self._mentions(state.get("min_id"))
        filtered = await self._filtered_accounts() if notes else set()
        conversations, conv_high = await self._conversations(state.get("conv"))
        messages: dict[str, InboundMessage] = {}
        conv_of_status = {str(c["last_status"]["id"]): str(c["id"]) for c, _, _ in conversations}
        pending: list[tuple[dict[str, Any], bool, Item]] = []
        for item in notes:
            note = item[0]
            status = note.get("status")
            if not (isinstance(status, dict) and status.get("id")):
                continue
            # An edit arrives as an "update" notification; only those of statuses addressed to us count.
            if note.get("type") == "mention" or (note.get("type") == "update" and self._mentions_us(status)):
                account_id = str((note.get("account") or status.get("account") or {}).get("id", ""))
                pending.append((status, account_id in filtered, item))
        for item in conversations:
            pending.append((item[0]["last_status"], False, item))
        # Oldest first, so a reply finds its parent's root among what this batch already placed; of two
        # versions of one status (a mention and its edit), the later edit wins.
        for status, is_filtered, item in sorted(pending, key=lambda p: _id_key(str(p[0]["id"]))):
            sid = str(status["id"])
            if sid in messages and not _newer_edit(status, messages[sid]):
                continue
            messages[sid] = await self._inbound(status, is_filtered, conv_of_status.get(sid), item[1], item[2])
        new_state = {"min_id": newest or state.get("min_id"), "conv": conv_high or state.get("conv"),
                     "roots": self._trimmed_roots()}
        return FetchResult(list(messages.values()), json.dumps(new_state, separators=(",", ":")), more)

    def _mentions_us(self, status: dict[str, Any]) -> bool:
        mentions = status.get("mentions")
        return isinstance(mentions, list) and any(
            isinstance(m, dict) and str(m.get("id")) == self.own_id for m in mentions)

    async def _mentions(self, min_id: str | None) -> tuple[list[Item], str | None, bool]:
        """New mention (and edit) notifications after *min_id* (the first sync takes the newest page only).

        Only notifications that pass the shape check count: the cursor is the newest of those, so a
        page of garbage (or one garbage item with a huge id) can never move it past real mentions."""
        base = [("types[]", "mention"), ("types[]", "update"), ("include_filtered", "true"),
                ("limit", str(self.page_limit))]
        collected: list[Item] = []
        cursor: dict[str, str] = {"min_id": min_id} if min_id else {}
        more = False
        for page_no in range(self.max_pages):
            response = await self.api.request("GET", "/api/v1/notifications",
                                              params=base + list(cursor.items()), reserve=FETCH_RESERVE)
            page = _page(response.body, "/api/v1/notifications")
            good = _readable(page, NOTIFICATION, "notification")
            collected.extend(good)
            if not min_id or len(page) < self.page_limit:
                break  # first sync: newest page only; otherwise a short page means we caught up
            # Forward paging from the newest id we read ourselves, not from the Link header: the
            # server's "prev" link is one more untrusted value that could jump the cursor.
            cursor = {"min_id": max((str(n[0]["id"]) for n in good), key=_id_key)}
            more = page_no == self.max_pages - 1
        ids = [str(n["id"]) for n, _, _ in collected]
        newest = max(ids, key=_id_key) if ids else None
        return collected, newest, more

    async def _filtered_accounts(self) -> set[str]:
        """Accounts whose notifications the policy holds back (4.3+); older servers have none."""
        try:
            requests = await self.api.get_json("/api/v1/notifications/requests", params={"limit": "80"},
                                               reserve=FETCH_RESERVE, expect=PAGE)
        except PermanentError:  # 404 before 4.3: nothing is filtered there
            return set()
        held = shape.Obj({"account": ACCOUNT})
        return {str(r["account"]["id"]) for r in requests if shape.valid(r, held)}

    async def _conversations(self, high: str | None) -> tuple[list[Item], str | None]:
        """Direct conversations whose last status is newer than *high* (catches DMs we sent elsewhere)."""
        response = await self.api.request("GET", "/api/v1/conversations", params={"limit": "40"},
                                          reserve=FETCH_RESERVE)
        fresh = []
        newest = high
        for item in _readable(_page(response.body, "/api/v1/conversations"), CONVERSATION, "conversation"):
            sid = str(item[0]["last_status"]["id"])
            if newest is None or _id_key(sid) > _id_key(newest):
                newest = sid
            if high is None or _id_key(sid) > _id_key(high):
                fresh.append(item)
        return fresh, newest

    async def _inbound(self, status: dict[str, Any], filtered: bool, conversation_id: str | None, raw: bytes,
                       decode_notes: list[str]) -> InboundMessage:
        """One status as a message; *raw* is the page item's bytes exactly as the server sent them."""
        sid = str(status["id"])
        account = status.get("account") or {}
        author = self.person(account)
        outgoing = str(account.get("id")) == self.own_id
        visibility = status.get("visibility") or "public"
        extra: dict[str, Any] = {"visibility": visibility, "acct": str(account.get("acct") or "")}
        if status.get("url"):
            extra["url"] = str(status["url"])
        notes = list(decode_notes)
        # status_text() cleans what it returns; what cleaning takes out is said on the message.
        notes.extend(findings(f"{status.get('spoiler_text') or ''}{status.get('content') or ''}"))
        if status.get("edited_at"):
            edited = _time(status.get("edited_at"))
            if edited is not None:
                extra["edited_at"] = edited
        if visibility == "direct":
            kind = Kind.DM
            thread_key = self.dm_key([str(m.get("id")) for m in status.get("mentions") or []]
                                     + [str(account.get("id"))])
            if conversation_id:
                extra["conversation_id"] = conversation_id
            self._remember(sid, thread_key)
        else:
            kind = Kind.PUBLIC
            thread_key = await self._root_of(status)
        if filtered:
            extra["filtered"] = True
            notes.append(FILTERED_NOTE)
        if outgoing:
            extra["source"] = "platform"
        created = _time(status.get("created_at"))
        if created is None:
            created = self.clock.now()
            notes.append(f"no readable creation time ({one_line(repr(status.get('created_at')), 40)});"
                         " time of fetch used")
        return InboundMessage(
            external_id=sid, thread_key=thread_key, kind=kind, author=author,
            text=status_text(status, self.local_host), sent_at=created,
            direction=Direction.OUT if outgoing else Direction.IN,
            in_reply_to=str(status["in_reply_to_id"]) if status.get("in_reply_to_id") else None,
            raw=raw, parse_note="; ".join(notes), extra=extra)

    def person(self, account: dict[str, Any]) -> Person:
        acct = full_acct(str(account.get("acct") or account.get("username") or ""), self.local_host)
        return Person(external_id=str(account.get("id", "")),
                      handle=one_line("@" + acct if acct else "", 200),
                      display_name=one_line(account.get("display_name") or "", 200),
                      bio=clean(html_to_text(account.get("note"), None, self.local_host))[:1000])

    def dm_key(self, participant_ids: list[str]) -> str:
        """DMs group by who takes part (ourselves excluded), the same key a DM we send gets."""
        others = sorted({p for p in participant_ids if p and p != "None" and p != self.own_id},
                        key=_id_key)
        return "dm:" + ",".join(others) if others else "dm:self"

    async def _root_of(self, status: dict[str, Any]) -> str:
        """The root of the reply chain; asks the server for the context only when the parent is unknown."""
        sid = str(status["id"])
        parent = status.get("in_reply_to_id")
        if not parent:
            root = sid
        elif str(parent) in self._roots:
            root = self._roots[str(parent)]
        else:
            root = await self._root_from_context(sid, str(parent))
        self._remember(sid, root)
        return root

    async def _root_from_context(self, sid: str, parent: str) -> str:
        try:
            response = await self.api.request("GET", f"/api/v1/statuses/{sid}/context", reserve=FETCH_RESERVE)
        except PermanentError:  # deleted or not visible to us: the parent is the best root we know
            return self._roots.get(parent, parent)
        context, _ = decode_json(response.body, "the thread context")
        found = context.get("ancestors") if isinstance(context, dict) else None
        ancestors = [a for a in found if shape.valid(a, STATUS)] if isinstance(found, list) else []
        if not ancestors:
            return parent
        # Ancestors come oldest first; a known one may already belong to an older thread key.
        root = str(ancestors[0]["id"])
        for ancestor in ancestors:
            known = self._roots.get(str(ancestor["id"]))
            if known:
                root = known
                break
        for ancestor in ancestors:
            self._remember(str(ancestor["id"]), root)
        return root

    def _remember(self, status_id: str, root: str) -> None:
        self._roots.pop(status_id, None)
        self._roots[status_id] = root
        if len(self._roots) > ROOT_CACHE * 2:
            self._roots = dict(list(self._roots.items())[-ROOT_CACHE:])

    def _trimmed_roots(self) -> dict[str, str]:
        return dict(list(self._roots.items())[-ROOT_CACHE:])

    # ------------------------------------------------------------------ sending

    async def send(self, request: OutboundRequest) -> SendResult:
        """Post one status. Failures before the POST are NotSent; a POST that left without a clear
        answer is OutcomeUnknown (Mastodon's Idempotency-Key makes a resend safe for an hour, after
        that the engine looks our own statuses up first, see find_sent)."""
        try:
            payload, thread_key = await self._payload(request)
        except (NotSent, OutcomeUnknown, RateLimited):
            raise
        except TemporaryError as exc:  # looking the parent up failed: nothing was posted yet
            raise NotSent(str(exc)) from exc
        await phases.transmitting()
        try:
            created = await asyncio.wait_for(self.api.post_json(
                "/api/v1/statuses", payload, idempotency_key=request.idempotency_key), self.send_deadline)
        except TimeoutError as exc:
            raise OutcomeUnknown(f"Mastodon: no full answer to the post within {self.send_deadline:.0f} s; "
                                 "it may have been posted") from exc
        except (NotSent, OutcomeUnknown, RateLimited, AuthError, PermanentError):
            raise
        except TemporaryError as exc:
            raise post_outcome(exc) from exc
        except ConnectorError:
            raise
        except Exception as exc:  # whatever the HTTP layer raised after the request left
            raise OutcomeUnknown(f"Mastodon: no usable answer to the post ({type(exc).__name__}: {exc})") from exc
        if not isinstance(created, dict) or not created.get("id"):
            raise OutcomeUnknown("Mastodon accepted the status but returned no id")
        sid = str(created["id"])
        thread_key = thread_key or sid
        if not thread_key.startswith("dm:"):
            self._remember(sid, thread_key)
        sent_at = parse_time(created.get("created_at")) or self.clock.now()
        return SendResult(external_id=sid, sent_at=sent_at, thread_key=thread_key,
                          raw=json.dumps(created, ensure_ascii=False))

    async def _payload(self, request: OutboundRequest) -> tuple[dict[str, Any], str | None]:
        if not self._limits_loaded or self.own_id is None:
            await self._ready()
        thread_key: str | None
        if request.action == "reply" and request.in_reply_to is None and request.kind == Kind.DM:
            # A DM thread holding only our own messages has no customer status to answer yet.
            payload, thread_key = self._dm_payload(request)
        elif request.action == "reply":
            payload, thread_key = await self._reply_payload(request)
        elif request.action == "dm":
            payload, thread_key = self._dm_payload(request)
        elif request.action == "post":
            visibility = request.extra.get("visibility", "public")
            if visibility not in ("public", "unlisted"):
                raise PermanentError(f"a public post cannot have visibility {visibility!r}")
            payload, thread_key = {"status": request.text, "visibility": visibility}, None
        else:
            raise PermanentError(f"Mastodon cannot {request.action!r}")
        if request.extra.get("spoiler_text"):
            payload["spoiler_text"] = str(request.extra["spoiler_text"])
        return payload, thread_key

    async def _reply_payload(self, request: OutboundRequest) -> tuple[dict[str, Any], str | None]:
        if not request.in_reply_to:
            raise PermanentError("a Mastodon reply needs the status it answers (in_reply_to)")
        parent = await self.api.get_json(f"/api/v1/statuses/{request.in_reply_to}")
        account = parent.get("account") or {}
        acct = str(account.get("acct") or "")
        wanted = "direct" if request.kind == Kind.DM else request.extra.get("visibility")
        visibility = narrowest(parent.get("visibility") or "public", wanted)
        text = request.text
        if acct and str(account.get("id")) != self.own_id:
            text = _with_mention(text, acct)
        thread_key = request.thread_key
        if thread_key is None:
            thread_key = (self.dm_key([str(account.get("id"))]) if visibility == "direct"
                          else self._roots.get(str(request.in_reply_to)))
        return ({"status": text, "in_reply_to_id": str(request.in_reply_to), "visibility": visibility},
                thread_key)

    def _dm_payload(self, request: OutboundRequest) -> tuple[dict[str, Any], str]:
        recipient = request.recipient
        if recipient is None or not recipient.handle:
            raise PermanentError("a Mastodon DM needs the recipient's @handle")
        payload = {"status": _with_mention(request.text, recipient.handle.lstrip("@")),
                   "visibility": "direct"}
        if request.in_reply_to:
            payload["in_reply_to_id"] = str(request.in_reply_to)
        return payload, self.dm_key([recipient.external_id])

    async def find_sent(self, request: OutboundRequest) -> SendResult | None:
        """Our own status with this text and parent, created since the first attempt, or None; see
        connectors.mastodon.sent.find_own_status (authoritative: it reads back far enough or raises)."""
        since = request.extra.get("first_attempt_at")
        if since is None and not request.in_reply_to:
            raise PermanentError("cannot tell whether a status without a parent was posted without the "
                                 "time of the first attempt; check the account on the web and decide")
        await self._ready()
        return await find_own_status(self.api, str(self.own_id), self.local_host, request, since,
                                     self.clock.now())


def _newer_edit(status: dict[str, Any], known: InboundMessage) -> bool:
    edited = _time(status.get("edited_at"))
    return edited is not None and edited > (known.extra.get("edited_at") or 0)


def _with_mention(text: str, acct: str) -> str:
    """*text* addressed to @acct, unless it already mentions them."""
    handle = "@" + acct.lstrip("@")
    words = {w.rstrip(".,:;!?").lower() for w in text.split()}
    return text if handle.lower() in words else f"{handle} {text}"


def from_account(account: AccountRow, clock: Clock) -> MastodonConnector:
    settings = account.settings or {}
    instance = settings.get("instance")
    if not instance:
        raise PermanentError(f"account '{account.name}' has no Mastodon instance in its settings")
    try:
        token = load_secret(account.name, settings)
    except SecretUnavailable as exc:
        raise AuthError(f"re-authorise: {exc}") from exc
    max_chars = settings.get("max_characters")
    return MastodonConnector(str(instance), token, clock,
                             max_characters=int(max_chars) if max_chars else None,
                             own_id=str(settings["account_id"]) if settings.get("account_id") else None,
                             poll_interval=float(settings.get("poll_interval", 60.0)),
                             deadline=float(settings.get("deadline") or DEADLINE),
                             # Only for test servers that forget keys sooner; Mastodon keeps them an hour.
                             idempotency_window=float(settings.get("idempotency_window") or IDEMPOTENCY_KEY_SECONDS),
                             send_deadline=float(settings.get("send_deadline") or SEND_DEADLINE))
