"""Bluesky connector: mentions, replies, quotes and chat DMs in; replies, posts and DMs out."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from agentconsole.channels.contract import ListenResult, ListenTerms
from agentconsole.domain.clock import Clock
from agentconsole.domain.errors import AuthError, PermanentError
from agentconsole.domain.models import (Channel, Direction, DmAvailability, FetchResult, InboundMessage, Kind,
                                        OutboundRequest, Person, SendResult)
from agentconsole.domain.rows import AccountRow
from agentconsole.domain.sanitize import clean, findings, one_line
from agentconsole.secrets import SecretUnavailable, load_secret
from connectors import shape
from connectors.bluesky import CAPABILITIES, DEFAULT_CHAT_SERVICE, DEFAULT_SERVICE, chat
from connectors.bluesky.client import DM_INSTRUCTION, ChatNotAllowed, Xrpc
from connectors.bluesky.records import (NOTIFICATION, POST, POST_RECORD, WANTED_REASONS, Item, page, parse_at_uri,
                                        parse_time, reply_parent, thread_root)
from connectors.bluesky.sending import Sender
from connectors.http import DEADLINE, MalformedResponse

log = logging.getLogger(__name__)

CONVO_CACHE = 500  # convo id -> (kind, members) kept in the cursor, so a restart needs no getConvo calls
DECLARATION = "chat.bsky.actor.declaration"


class BlueskyConnector:
    """One Bluesky account: notifications and the chat log polled through its PDS."""

    channel = Channel.BLUESKY

    def __init__(self, xrpc: Xrpc, clock: Clock, *, dms: bool = True, page_limit: int = 50, max_pages: int = 5,
                 poll_interval: float = 60.0) -> None:
        self.xrpc = xrpc
        self.clock = clock
        self.dms = dms
        self.page_limit = page_limit
        self.max_pages = max_pages
        self.poll_interval = poll_interval
        self.capabilities = CAPABILITIES
        self.sender = Sender(xrpc, clock, dms)

    async def close(self) -> None:
        await self.xrpc.close()

    listen_interval = 300.0

    async def listen(self, terms: ListenTerms, cursor: str | None) -> ListenResult:
        """Brand talk beyond the mentions (the Listens extra): see connectors.bluesky.listen."""
        from connectors.bluesky.listen import listen

        return await listen(self, terms, cursor)

    @property
    def own_did(self) -> str:
        session = self.xrpc.session
        return session.did if session is not None else ""

    # ------------------------------------------------------------------ checks

    async def check(self) -> str:
        """Posting and chat are checked apart: an app password without DM access still posts."""
        session = await self.xrpc.signed_in()
        await self.xrpc.get("com.atproto.server.getSession")
        who = one_line(f"@{session.handle}" if session.handle else session.did, 120)
        parts = [f"{who} on {self.xrpc.pds}: posting ok"]
        if not self.dms:
            return "; ".join(parts + ["DMs off for this account"])
        try:
            await self.xrpc.get("chat.bsky.convo.listConvos", {"limit": "1"}, chat=True)
        except ChatNotAllowed as exc:
            raise AuthError(f"{parts[0]}, but chat FAILED: {DM_INSTRUCTION}") from exc
        parts.append(f"chat ok via {one_line(self.xrpc.chat_proxy, 120)}")
        allowed = await self.allow_incoming(session.did)
        if allowed != "all":
            parts.append(f"customers the brand does not follow cannot DM it (chat declaration: {allowed}); "
                         "set Settings > Privacy and security > Chat > Allow new messages from: Everyone")
        return "; ".join(parts)

    async def allow_incoming(self, did: str) -> str:
        """The account's chat declaration (all, following or none); Bluesky's default is following."""
        try:
            body = await self.xrpc.get("com.atproto.repo.getRecord",
                                       {"repo": did, "collection": DECLARATION, "rkey": "self"})
        except PermanentError:  # no declaration record: the default applies
            return "following"
        value = body.get("value") if isinstance(body, dict) else None
        allowed = value.get("allowIncoming") if isinstance(value, dict) else None
        return allowed if allowed in ("all", "following", "none") else "following"

    async def dm_availability(self, person: Person) -> DmAvailability:
        if not self.dms:
            return DmAvailability(False, "DMs are off for this Bluesky account", chat.PUBLIC_HINT)
        return await chat.availability(self.xrpc, person.external_id)

    # ------------------------------------------------------------------ receiving

    async def fetch(self, cursor: str | None) -> FetchResult:
        state = shape.cursor_state(cursor)
        session = await self.xrpc.signed_in()
        messages, notes_state, more = await self._notifications(state.get("n"), session.did)
        new_state: dict[str, Any] = {"n": notes_state}
        if self.dms:
            dms, chat_cursor, convos, chat_more = await self._chat(state.get("chat"), state.get("convos") or {},
                                                                   session.did)
            messages.extend(dms)
            new_state.update(chat=chat_cursor, convos=convos)
            more = more or chat_more
        return FetchResult(messages, json.dumps(new_state, separators=(",", ":")), more)

    async def _notifications(self, state: Any, own: str) -> tuple[list[InboundMessage], dict[str, Any], bool]:
        """Notifications newer than the high mark (the first sync takes the newest page only).

        The list runs newest first with a cursor to older ones, so a catch-up longer than max_pages
        is finished on the next fetch from where it stopped ("back") before the mark moves."""
        state = state if isinstance(state, dict) else {}
        high, seen = _float(state.get("at")), set(state.get("seen") or [])
        back = state.get("back") if isinstance(state.get("back"), dict) else None
        page_cursor = back.get("cursor") if back else None
        newest, newest_seen = (_float(back.get("at")), set(back.get("seen") or [])) if back else (high, set(seen))
        found: list[InboundMessage] = []
        for _ in range(self.max_pages):
            params = [("limit", str(self.page_limit))] + [("reasons", r) for r in WANTED_REASONS]
            if page_cursor:
                params.append(("cursor", page_cursor))
            answer = await self.xrpc.answer("GET", "app.bsky.notification.listNotifications", params=params)
            items, body = page(answer, "notifications", "listNotifications", max_items=self.page_limit * 2)
            good = _readable(items)
            reached_old = False
            for item in good:
                note = item[0]
                at = parse_time(note["indexedAt"])
                assert at is not None  # _readable keeps only items with a readable time
                if high is not None and (at < high or (at == high and note["uri"] in seen)):
                    reached_old = True
                    continue
                if newest is None or at > newest:
                    newest, newest_seen = at, {note["uri"]}
                elif at == newest:
                    newest_seen.add(note["uri"])
                message = self._mention(item, own)
                if message is not None:
                    found.append(message)
            next_cursor = body.get("cursor") if isinstance(body.get("cursor"), str) else None
            if high is None or reached_old or not next_cursor or not items:
                at_state = {"at": newest, "seen": sorted(newest_seen)[-50:]} if newest is not None else {}
                return found, at_state, False
            page_cursor = next_cursor
        # Still newer than the mark after max_pages: resume further back next time, keep the old mark.
        return found, {"at": high, "seen": sorted(seen), "back": {"cursor": page_cursor, "at": newest,
                                                                    "seen": sorted(newest_seen)[-50:]}}, True

    def _mention(self, item: Item, own: str) -> InboundMessage | None:
        note, raw, notes = item
        record = note["record"]
        if note["reason"] not in WANTED_REASONS or record.get("$type", POST) != POST:
            return None  # likes, follows, reasons added later: nothing to answer
        if not shape.valid(record, POST_RECORD) or note["author"]["did"] == own:
            return None
        uri = note["uri"]
        author = _person(note["author"])
        text = clean(record["text"])
        notes = notes + findings(record["text"])
        sent_at = sent_time(record, note["indexedAt"], self.clock.now, notes)
        extra: dict[str, Any] = {"cid": note["cid"], "reason": note["reason"],
                                 "handle": author.handle.lstrip("@")}
        try:
            _, _, rkey = parse_at_uri(uri)
            extra["url"] = f"https://bsky.app/profile/{note['author']['did']}/post/{rkey}"
        except ValueError:
            pass
        return InboundMessage(external_id=uri, thread_key=thread_root(record, uri), kind=Kind.PUBLIC,
                              author=author, text=text, sent_at=sent_at, in_reply_to=reply_parent(record),
                              raw=raw, parse_note="; ".join(notes), extra=extra)

    async def _chat(self, cursor: Any, convos: dict[str, Any], own: str) -> tuple[list[InboundMessage], str | None, dict[str, Any],
                                                                         bool]:
        cursor = cursor if isinstance(cursor, str) else None
        found: list[InboundMessage] = []
        for _ in range(self.max_pages):
            entries, next_cursor = await chat.log_page(self.xrpc, cursor)
            for entry in entries:
                convo_id = entry["convoId"]
                if convo_id not in convos:
                    view = await chat.convo(self.xrpc, convo_id)
                    convos[convo_id] = {"kind": view.get("kind") or "directConvo",
                                        "members": {m["did"]: m.get("handle", "") for m in view["members"]}}
                found.append(self._dm(entry, convos[convo_id], own))
            if not entries or next_cursor == cursor:
                return found, next_cursor, _trimmed(convos), False
            cursor = next_cursor
        return found, cursor, _trimmed(convos), True

    def _dm(self, entry: dict[str, Any], convo: dict[str, Any], own: str) -> InboundMessage:
        message = entry["message"]
        did = message["sender"]["did"]
        handle = (convo.get("members") or {}).get(did, "")
        extra: dict[str, Any] = {"convo_id": entry["convoId"]}
        if convo.get("kind") == chat.GROUP:
            extra["group"] = True  # its own thread (the convo's id): never mixed into a one-to-one DM
        direction = Direction.OUT if did == own else Direction.IN
        if direction == Direction.OUT:
            extra["source"] = "platform"
        sent_at = parse_time(message["sentAt"])
        notes = findings(message["text"])
        if sent_at is None:
            sent_at = self.clock.now()
            notes.append("no readable send time; the time of fetch is shown")
        return InboundMessage(external_id=f"dm:{message['id']}", thread_key=f"convo:{entry['convoId']}",
                              kind=Kind.DM, author=Person(did, one_line("@" + handle if handle else "", 200)),
                              text=clean(message["text"]), sent_at=sent_at, direction=direction,
                              raw=json.dumps(entry, ensure_ascii=True), parse_note="; ".join(notes), extra=extra)

    # ------------------------------------------------------------------ sending

    async def send(self, request: OutboundRequest) -> SendResult:
        return await self.sender.send(request)

    async def find_sent(self, request: OutboundRequest) -> SendResult | None:
        return await self.sender.find_sent(request)


def sent_time(record: dict[str, Any], indexed_at: Any, now: Callable[[], float], notes: list[str]) -> float:
    """A post's creation time; when unreadable, the time Bluesky indexed it (else now), saying so in *notes*."""
    sent_at = parse_time(record.get("createdAt"))
    if sent_at is None:
        sent_at = parse_time(indexed_at) or now()
        notes.append(f"no readable creation time ({one_line(repr(record.get('createdAt')), 40)});"
                     " the time Bluesky indexed it is shown")
    return sent_at


def _person(profile: dict[str, Any]) -> Person:
    handle = str(profile.get("handle") or "")
    return Person(external_id=str(profile["did"]), handle=one_line("@" + handle if handle else "", 200),
                  display_name=one_line(profile.get("displayName") or "", 200),
                  bio=clean(str(profile.get("description") or ""))[:1000])


def _readable(items: list[Item]) -> list[Item]:
    """The notifications we can read; a page of which none is readable is malformed, not empty."""
    good = [i for i in items if shape.valid(i[0], NOTIFICATION) and parse_time(i[0]["indexedAt"]) is not None]
    if len(good) < len(items):
        log.warning("Bluesky sent %d unreadable notification(s) of %d; they are skipped",
                    len(items) - len(good), len(items))
        if not good:
            raise MalformedResponse(f"Bluesky sent {len(items)} notifications and none could be read")
    return good


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _trimmed(convos: dict[str, Any]) -> dict[str, Any]:
    return dict(list(convos.items())[-CONVO_CACHE:])



def from_account(account: AccountRow, clock: Clock) -> BlueskyConnector:
    settings = account.settings or {}
    handle = settings.get("did") or settings.get("handle")
    if not handle:
        raise PermanentError(f"account '{account.name}' has no Bluesky handle in its settings")
    try:
        password = load_secret(account.name, settings)
    except SecretUnavailable as exc:
        raise AuthError(f"sign in again: {exc}") from exc
    xrpc = Xrpc(str(settings.get("service") or DEFAULT_SERVICE), str(handle), password, clock,
                resolve_pds=settings.get("resolve_pds", True) is not False,
                chat_service=str(settings.get("chat_service") or DEFAULT_CHAT_SERVICE),
                plc=str(settings.get("plc") or "https://plc.directory"),
                deadline=float(settings.get("deadline") or DEADLINE))
    return BlueskyConnector(xrpc, clock, dms=settings.get("dms", True) is not False,
                            poll_interval=float(settings.get("poll_interval", 60.0)))
