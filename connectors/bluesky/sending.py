"""Sending on Bluesky: replies with their root and parent refs, posts, DMs, and finding an interrupted send again."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from agentconsole.channels import phases
from agentconsole.domain.clock import Clock
from agentconsole.domain.errors import (AuthError, ConnectorError, NotSent, OutcomeUnknown, PermanentError,
                                        RateLimited, TemporaryError)
from agentconsole.domain.models import Kind, OutboundRequest, SendResult
from connectors import shape
from connectors.bluesky import chat
from connectors.bluesky.client import WRITE_POINTS, Xrpc
from connectors.bluesky.records import (CREATED, POST, RECORD_VIEW, STRONG_REF, iso, parse_at_uri, parse_time,
                                        reply_parent)
from connectors.bluesky.richtext import facets

SEND_DEADLINE = 30.0  # a send with no full answer by then has an unknown outcome
LOOKUP_PAGES = 5  # pages of 100 of our own records (or a convo's messages) read back at most
_NEVER_LEFT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


def outcome(exc: TemporaryError, what: str) -> ConnectorError:
    """A failed write as NotSent when the connection never opened, else OutcomeUnknown: a timeout, a
    dropped connection or a 5xx after the body left may hide a created record."""
    if isinstance(exc.__cause__, _NEVER_LEFT):
        return NotSent(f"Bluesky: the {what} never left: {exc}")
    return OutcomeUnknown(f"Bluesky: no answer to the {what} ({exc}); it may have gone out")


class Sender:
    def __init__(self, xrpc: Xrpc, clock: Clock, dms: bool, send_deadline: float = SEND_DEADLINE) -> None:
        self.xrpc = xrpc
        self.clock = clock
        self.dms = dms
        self.send_deadline = send_deadline
        self._dids: dict[str, str | None] = {}

    async def send(self, request: OutboundRequest) -> SendResult:
        """Everything before the write (the parent's refs, the handles of mentions, the convo) failing
        is NotSent; the write itself without a clear answer is OutcomeUnknown (no idempotency key)."""
        is_dm = request.action == "dm" or (request.kind == Kind.DM and request.action == "reply")
        try:
            prepared = await (self._dm(request) if is_dm else self._post(request))
        except (NotSent, OutcomeUnknown, RateLimited, AuthError):
            raise
        except PermanentError as exc:  # e.g. getConvoForMembers refusing: they accept no DM from us
            if not is_dm:
                raise
            raise chat.refusal(exc) from exc
        except TemporaryError as exc:
            raise NotSent(str(exc)) from exc
        # A budget the last answers said is spent stops the send here, before anything leaves.
        self.xrpc.limiter.before("chat.bsky.convo.sendMessage" if is_dm else "com.atproto.repo.createRecord",
                                 1 if is_dm else WRITE_POINTS)
        await phases.transmitting()
        try:
            return await asyncio.wait_for(prepared(), self.send_deadline)
        except TimeoutError as exc:
            raise OutcomeUnknown(f"Bluesky: no full answer within {self.send_deadline:.0f} s; it may have gone "
                                 "out") from exc
        except (NotSent, OutcomeUnknown, RateLimited, AuthError):
            raise
        except PermanentError as exc:
            if not is_dm:
                raise
            raise chat.refusal(exc) from exc
        except TemporaryError as exc:
            raise outcome(exc, "DM" if is_dm else "post") from exc

    # ------------------------------------------------------------------ public posts

    async def _post(self, request: OutboundRequest) -> Callable[[], Awaitable[SendResult]]:
        if request.action not in ("reply", "post"):
            raise PermanentError(f"Bluesky cannot {request.action!r}")
        session = await self.xrpc.signed_in()
        record: dict[str, Any] = {"$type": POST, "text": request.text, "createdAt": iso(self.clock.now())}
        thread_key = None
        if request.action == "reply":
            if not request.in_reply_to:
                raise PermanentError("a Bluesky reply needs the post it answers (in_reply_to)")
            parent, root = await self.refs(request.in_reply_to)
            record["reply"] = {"root": root, "parent": parent}
            thread_key = root["uri"]
        found = await facets(request.text, self.resolve)
        if found:
            record["facets"] = found
        if request.extra.get("langs"):
            record["langs"] = list(request.extra["langs"])[:3]

        async def create() -> SendResult:
            body = await self.xrpc.post("com.atproto.repo.createRecord",
                                        {"repo": session.did, "collection": POST, "record": record}, expect=CREATED)
            return SendResult(external_id=body["uri"], sent_at=self.clock.now(), thread_key=thread_key or body["uri"],
                              raw=json.dumps({"uri": body["uri"], "cid": body["cid"], "record": record},
                                             ensure_ascii=False))

        return create

    async def refs(self, uri: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """The strong refs (uri + cid) of the post *uri* and of its thread's root, read from the record."""
        try:
            repo, collection, rkey = parse_at_uri(uri)
        except ValueError as exc:
            raise PermanentError(f"cannot reply on Bluesky to {uri[:80]!r}: not a post") from exc
        view = await self.xrpc.get("com.atproto.repo.getRecord",
                                   {"repo": repo, "collection": collection, "rkey": rkey}, expect=RECORD_VIEW)
        parent = {"uri": view["uri"], "cid": view["cid"]}
        reply = view["value"].get("reply")
        root: Any = reply.get("root") if isinstance(reply, dict) else None  # checked by shape.valid below
        return parent, (dict(root) if shape.valid(root, STRONG_REF) else parent)

    async def resolve(self, handle: str) -> str | None:
        if handle not in self._dids:
            try:
                body = await self.xrpc.get("com.atproto.identity.resolveHandle", {"handle": handle})
            except PermanentError:  # no such handle: the text stays plain, as the Bluesky app leaves it
                body = {}
            did = body.get("did") if isinstance(body, dict) else None
            self._dids[handle] = did if isinstance(did, str) and did.startswith("did:") else None
        return self._dids[handle]

    # ------------------------------------------------------------------ DMs

    async def _dm(self, request: OutboundRequest) -> Callable[[], Awaitable[SendResult]]:
        if not self.dms:
            raise PermanentError("DMs are off for this Bluesky account")
        convo = await self._convo(request)
        if convo.get("status") == "request":
            await chat.accept(self.xrpc, convo["id"])  # answering a message request accepts it
        found = await facets(request.text, self.resolve)

        async def deliver() -> SendResult:
            message = await chat.send(self.xrpc, convo["id"], request.text, found)
            return SendResult(external_id=f"dm:{message['id']}",
                              sent_at=parse_time(message["sentAt"]) or self.clock.now(),
                              thread_key=f"convo:{convo['id']}", raw=json.dumps(message, ensure_ascii=False))

        return deliver

    async def _convo(self, request: OutboundRequest) -> dict[str, Any]:
        key = request.thread_key or ""
        if key.startswith("convo:"):
            return await chat.convo(self.xrpc, key[len("convo:"):])
        if request.recipient is None or not request.recipient.external_id.startswith("did:"):
            raise PermanentError("a Bluesky DM needs the recipient's DID")
        return await chat.convo_for(self.xrpc, request.recipient.external_id)

    # ------------------------------------------------------------------ finding a send again

    async def find_sent(self, request: OutboundRequest) -> SendResult | None:
        """Our record (or chat message) with this text, and for a reply this parent, or None.

        Authoritative: our own repo (the PDS's own list, not the AppView's feed) or the convo is read
        back until an item older than the first attempt, or to its end; a lookup that cannot reach
        that far raises instead of answering "not found"."""
        since = request.extra.get("first_attempt_at")
        since = float(since) if isinstance(since, (int, float)) else None
        is_dm = request.action == "dm" or (request.kind == Kind.DM and request.action == "reply")
        if is_dm:
            return await self._find_message(request, since)
        return await self._find_post(request, since)

    async def _find_post(self, request: OutboundRequest, since: float | None) -> SendResult | None:
        session = await self.xrpc.signed_in()
        parent = request.in_reply_to if request.action == "reply" else None
        params = {"repo": session.did, "collection": POST, "limit": "100"}
        for _ in range(LOOKUP_PAGES):
            body = await self.xrpc.get("com.atproto.repo.listRecords", params,
                                       expect=shape.Obj({"records": shape.ListOf(shape.Anything(), 1000)}))
            for view in body["records"]:
                if not shape.valid(view, RECORD_VIEW):
                    continue
                value = view["value"]
                created = parse_time(value.get("createdAt"))
                if value.get("text") == request.text and reply_parent(value) == parent and \
                        (since is None or created is None or created >= since - 1.0):
                    root = (value.get("reply") or {}).get("root") or {}
                    return SendResult(external_id=view["uri"], sent_at=created or self.clock.now(),
                                      thread_key=request.thread_key or root.get("uri") or view["uri"],
                                      raw=json.dumps(view, ensure_ascii=False))
                if since is not None and created is not None and created < since - 1.0:
                    return None  # read back past the first attempt: it is not there
            cursor = body.get("cursor")
            if not body["records"] or not isinstance(cursor, str):
                return None  # the whole repo has been read
            params = {**params, "cursor": cursor}
        raise TemporaryError("Bluesky: could not read our posts back far enough to tell whether the send arrived")

    async def _find_message(self, request: OutboundRequest, since: float | None) -> SendResult | None:
        convo = await self._convo(request)
        own = (await self.xrpc.signed_in()).did
        cursor = None
        for _ in range(LOOKUP_PAGES):
            found, cursor = await chat.messages(self.xrpc, convo["id"], cursor)
            for message in found:
                if message["sender"]["did"] == own and message["text"] == request.text:
                    return SendResult(external_id=f"dm:{message['id']}",
                                      sent_at=parse_time(message["sentAt"]) or self.clock.now(),
                                      thread_key=f"convo:{convo['id']}", raw=json.dumps(message, ensure_ascii=False))
            if not found or not cursor:
                return None
        raise TemporaryError("Bluesky: could not read the convo back far enough to tell whether the DM arrived")
