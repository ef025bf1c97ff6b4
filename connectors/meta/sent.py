"""Looking an interrupted Meta send up: Meta has no idempotency key, so before any resend we read our own
comments, posts and messages back, and a private reply is never sent twice."""

from __future__ import annotations

from typing import Any, TYPE_CHECKING

from agentconsole.domain.errors import PermanentError, TemporaryError
from agentconsole.domain.models import Kind, OutboundRequest, SendResult
from connectors.meta import inbound
from connectors.meta.graph import parse_time

if TYPE_CHECKING:
    from connectors.meta.connector import MetaConnector

LOOKUP_PAGES = 5


def _same(text: object, wanted: str) -> bool:
    return isinstance(text, str) and " ".join(text.split()) == " ".join(wanted.split())


async def find_sent(connector: MetaConnector, request: OutboundRequest) -> SendResult | None:
    """Our own comment, post or message with this text since the first attempt, or None when Meta
    proves it never arrived; raises when the read cannot prove either (the agent then decides)."""
    since = request.extra.get("first_attempt_at")
    if not isinstance(since, (int, float)):
        raise PermanentError("cannot look a Meta send up without the time of its first attempt; check and decide")
    if request.action == "post":
        return await _own_items(connector, f"/{connector.own_id}/posts", {"fields": "id,message,created_time"},
                                request, since, None)
    if request.kind == Kind.PUBLIC and not (request.action == "dm" and request.extra.get("comment_id")):
        target = request.thread_key or request.in_reply_to
        if connector.surface.instagram:
            path, fields = f"/{target}/replies", "id,text,from,username,timestamp"
        else:
            path, fields = f"/{target}/comments", "id,message,from,created_time"
        return await _own_items(connector, path, {"fields": fields, "order": "reverse_chronological",
                                                  "filter": "stream"}, request, since, target)
    found = await _own_message(connector, request, since)
    if found is not None:
        return found
    comment_id = request.extra.get("comment_id")
    if comment_id and not connector.surface.instagram:
        body = await connector.graph.get(f"/{comment_id}", {"fields": "can_reply_privately"})
        if isinstance(body, dict) and body.get("can_reply_privately") is True:
            return None  # the comment still offers its one private reply: ours never arrived
    raise PermanentError(f"{connector.surface.label} shows no such message in the latest conversations, "
                         "but its conversation list may lag (and a private reply can be sent only once): "
                         "check the inbox on Meta, then mark it sent or discard")


async def _own_items(connector: MetaConnector, path: str, params: dict[str, Any], request: OutboundRequest, since: float,
                     thread: str | None) -> SendResult | None:
    """Walk newest first until an item older than *since* or the last page: found, or proven absent."""
    capped = False
    async for page, more in connector.graph.pages(path, {**params, "limit": "50"}, LOOKUP_PAGES):
        capped = more
        reached = False
        for item in inbound.readable(page, inbound.COMMENT):
            at = parse_time(item.get("created_time") or item.get("timestamp"))
            if at is not None and at < since:
                reached = True
                continue
            if str(item["from"]["id"]) == connector.own_id and _same(item.get("message") or item.get("text"),
                                                                     request.text):
                return SendResult(str(item["id"]), at or connector.clock.now(), thread or str(item["id"]))
        if reached:
            return None
    if capped:
        raise TemporaryError(f"{connector.surface.label}: could not read far enough back to tell whether it arrived")
    return None


async def _own_message(connector: MetaConnector, request: OutboundRequest, since: float) -> SendResult | None:
    fields = "id,message,from,created_time"
    params = {"platform": "instagram" if connector.surface.instagram else "messenger", "limit": "25",
              "fields": f"id,updated_time,participants,messages.limit(10){{{fields}}}"}
    thread = request.thread_key or ""
    if thread.startswith("dm:"):
        params["user_id"] = thread[3:]
    async for page, _more in connector.graph.pages(f"/{connector._me}/conversations", params, 1):
        for conversation in inbound.readable(page, inbound.CONVERSATION):
            for message in inbound.readable(inbound.listed(conversation.get("messages")), inbound.MESSAGE):
                at = parse_time(message.get("created_time"))
                if (str(message["from"]["id"]) == connector.own_id and _same(message.get("message"), request.text)
                        and (at is None or at >= since)):
                    customer = connector._customer(conversation)
                    return SendResult(str(message["id"]), at or connector.clock.now(), f"dm:{customer}")
    return None
