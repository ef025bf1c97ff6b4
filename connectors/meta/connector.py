"""The Meta connector: a Facebook Page (Messenger and post comments) or an Instagram professional account
(DMs and media comments), polled through the Graph API; replies, private replies, DMs and Page posts out."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx

from agentconsole.channels import phases
from agentconsole.domain.clock import Clock
from agentconsole.domain.errors import (AuthError, NotSent, OutcomeUnknown, PermanentError, RateLimited,
                                        TemporaryError)
from agentconsole.domain.models import Capabilities, Channel, FetchResult, InboundMessage, Kind, OutboundRequest, SendResult
from agentconsole.domain.sanitize import one_line
from agentconsole.replies import reach
from connectors import shape
from connectors.http import DEADLINE, MalformedResponse
from connectors.meta import INSTAGRAM_DM_BYTES, MESSENGER_LIMIT
from connectors.meta import inbound
from connectors.meta.graph import Graph, decode, parse_time
from connectors.meta.graph import next_cursor as graph_next_cursor
from connectors.meta.tokens import TokenKeeper

log = logging.getLogger(__name__)

SEND_DEADLINE = 30.0
USER_AGENT = "agentconsole (+https://github.com/agentconsole)"
FB_MESSAGE_FIELDS = "id,message,from,to,created_time,attachments,sticker,shares"
IG_MESSAGE_FIELDS = "id,message,from,to,created_time,attachments,shares,story"
FB_COMMENT_FIELDS = "id,message,from,created_time,can_reply_privately"
IG_COMMENT_FIELDS = "id,text,username,from,timestamp"


@dataclass(frozen=True, slots=True)
class Surface:
    """What differs between a Facebook Page and an Instagram account on the same Graph."""

    channel: Channel
    instagram: bool

    @property
    def label(self) -> str:
        return self.channel.label


FACEBOOK = Surface(Channel.FACEBOOK, False)
INSTAGRAM = Surface(Channel.INSTAGRAM, True)


class MetaConnector:
    """One Facebook Page or Instagram account."""

    def __init__(self, surface: Surface, own_id: str, tokens: TokenKeeper, clock: Clock, *, base: str,
                 capabilities: Capabilities, client: httpx.AsyncClient | None = None, posts: int = 10,
                 max_pages: int = 10, poll_interval: float = 60.0, deadline: float = DEADLINE,
                 send_deadline: float = SEND_DEADLINE) -> None:
        self.surface = surface
        self.channel = surface.channel
        self.own_id = own_id
        self.clock = clock
        self.capabilities = capabilities
        self.poll_interval = poll_interval
        self.posts = posts
        self.max_pages = max_pages
        self.send_deadline = send_deadline
        self._client = client or httpx.AsyncClient(timeout=httpx.Timeout(20.0))
        self._owns_client = client is None
        self._client.headers.update({"User-Agent": USER_AGENT})
        self.tokens = tokens
        self.graph = Graph(base, tokens.token, clock, self._client, platform=surface.label, deadline=deadline)

    @property
    def _me(self) -> str:
        # Instagram Login calls address the account as "me"; a Page is addressed by its id.
        return "me" if self.surface.instagram else self.own_id

    async def close(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def check(self) -> str:
        from connectors.meta.setup import describe_check

        return await describe_check(self)

    # ------------------------------------------------------------------ receiving

    async def fetch(self, cursor: str | None) -> FetchResult:
        await self.tokens.keep_fresh(self.graph)
        state = shape.cursor_state(cursor)
        dm_mark, cm_mark = inbound.Mark.load(state.get("dm")), inbound.Mark.load(state.get("cm"))
        now = self.clock.now()
        dms, dm_seen = await self._dms(dm_mark, now)
        comments, cm_seen = await self._comments(cm_mark, now)
        messages = sorted(dms + comments, key=lambda m: m.sent_at)
        new_state = {"dm": dm_mark.advanced(dm_seen, now).dump(), "cm": cm_mark.advanced(cm_seen, now).dump()}
        return FetchResult(messages, json.dumps(new_state, separators=(",", ":")))

    async def _dms(self, mark: inbound.Mark, now: float) -> tuple[list[InboundMessage], list[Any]]:
        """Conversations newest first, walked back page by page to the stored high-water mark."""
        fields = IG_MESSAGE_FIELDS if self.surface.instagram else FB_MESSAGE_FIELDS
        params = {"platform": "instagram" if self.surface.instagram else "messenger", "limit": "25",
                  "fields": f"id,updated_time,participants,messages.limit(20){{{fields}}}"}
        first_sync = mark.at is None and not mark.odd
        out: list[InboundMessage] = []
        seen: list[tuple[str, float | None]] = []
        async for page, _more in self.graph.pages(f"/{self._me}/conversations", params,
                                                  1 if first_sync else self.max_pages):
            good = _readable(page, inbound.CONVERSATION, "conversation", self.surface.label)
            reached = False
            for conversation in good:
                updated = parse_time(conversation.get("updated_time"))
                if mark.at is not None and updated is not None and updated <= mark.at:
                    reached = True
                    break
                customer = self._customer(conversation)
                async for message in self._messages_of(conversation, mark, first_sync, fields):
                    item, at = inbound.dm_message(message, str(conversation["id"]), customer, self.own_id, now,
                                                  instagram=self.surface.instagram)
                    seen.append((item.external_id, at))
                    if mark.is_new(item.external_id, at if at is None or at <= now + inbound.FUTURE_SLACK else None):
                        out.append(item)
            if reached:
                break
        return out, seen

    async def _messages_of(self, conversation: dict[str, Any], mark: inbound.Mark, first_sync: bool,
                           fields: str) -> AsyncIterator[dict[str, Any]]:
        """The conversation's messages, newest first: the nested ones, then (when all of those are new
        and Meta says there are more) further pages of /{conversation}/messages back to the mark."""
        nested = conversation.get("messages")
        messages = inbound.readable(inbound.listed(nested), inbound.MESSAGE)
        for message in messages:
            yield message
        after = graph_next_cursor(nested) if isinstance(nested, dict) else None
        if first_sync or after is None or not messages or not _all_newer(messages, mark):
            return
        async for page, _more in self.graph.pages(f"/{conversation['id']}/messages",
                                                  {"fields": fields, "limit": "50", "after": after}, self.max_pages):
            older = inbound.readable(page, inbound.MESSAGE)
            for message in older:
                yield message
            if not older or not _all_newer(older, mark):
                return

    def _customer(self, conversation: dict[str, Any]) -> str:
        for who in inbound.listed(conversation.get("participants")):
            if isinstance(who, dict) and who.get("id") is not None and str(who["id"]) != self.own_id:
                return str(who["id"])
        for message in inbound.readable(inbound.listed(conversation.get("messages")), inbound.MESSAGE):
            if str(message["from"]["id"]) != self.own_id:
                return str(message["from"]["id"])
        return f"conversation:{conversation['id']}"

    async def _comments(self, mark: inbound.Mark, now: float) -> tuple[list[InboundMessage], list[Any]]:
        """Comments and replies on the last N posts (or media); each top-level comment is a thread."""
        if self.surface.instagram:
            path = "/me/media"
            inner = f"replies.limit(25){{{IG_COMMENT_FIELDS}}}"
            fields = (f"id,caption,timestamp,comments.limit(50){{{IG_COMMENT_FIELDS},{inner}}}")
        else:
            path = f"/{self.own_id}/feed"
            inner = f"comments.order(reverse_chronological).limit(25){{{FB_COMMENT_FIELDS}}}"
            fields = (f"id,message,created_time,comments.order(reverse_chronological).limit(50)"
                      f"{{{FB_COMMENT_FIELDS},{inner}}}")
        body = await self.graph.get(path, {"fields": fields, "limit": str(self.posts)})
        posts = body.get("data") if isinstance(body, dict) else None
        if not isinstance(posts, list):
            raise MalformedResponse(f"{self.surface.label} sent an unexpected answer on {path}: no data list")
        out: list[InboundMessage] = []
        seen: list[tuple[str, float | None]] = []
        unreadable = 0
        for post in _readable(posts, inbound.POST, "post", self.surface.label):
            subject = one_line(str(post.get("message") or post.get("caption") or ""), 80)
            tops = inbound.listed(post.get("comments"))
            good = inbound.readable(tops, inbound.COMMENT)
            unreadable += len(tops) - len(good)
            for top in good:
                thread = str(top["id"])
                children = inbound.listed(top.get("replies") if self.surface.instagram else top.get("comments"))
                kids = inbound.readable(children, inbound.COMMENT)
                unreadable += len(children) - len(kids)
                if str(top["from"]["id"]) == self.own_id:
                    continue  # our own top-level comment opens no customer thread
                for comment, parent in [(top, None), *((kid, thread) for kid in kids)]:
                    item, at = inbound.comment_message(comment, thread, parent, self.own_id, subject, now,
                                                       instagram=self.surface.instagram)
                    seen.append((item.external_id, at))
                    if mark.is_new(item.external_id, at if at is None or at <= now + inbound.FUTURE_SLACK else None):
                        out.append(item)
        if unreadable:
            log.warning("%s sent %d unreadable comment(s); they are skipped", self.surface.label, unreadable)
            if not seen:
                raise MalformedResponse(f"{self.surface.label} sent {unreadable} comments and none could be read")
        return out, seen

    # ------------------------------------------------------------------ sending

    async def send(self, request: OutboundRequest) -> SendResult:
        """One reply, private reply, DM or Page post. Checks that can refuse it run before anything
        leaves; Meta has no idempotency key, so an unanswered request is OutcomeUnknown and looked up
        (find_sent) before any resend."""
        path, payload, as_json, thread = self._plan(request)
        self.graph.check_budget(send=True)
        await phases.transmitting()
        try:
            answer = await self.graph.request("POST", path, data=None if as_json else payload,
                                              json_body=payload if as_json else None, send=True,
                                              deadline=self.send_deadline)
        except (RateLimited, AuthError, PermanentError, NotSent, OutcomeUnknown):
            raise
        except TemporaryError as exc:
            if isinstance(exc.__cause__, (httpx.ConnectError, httpx.ConnectTimeout)):
                raise NotSent(f"{self.surface.label}: the request never left: {exc}") from exc
            raise OutcomeUnknown(f"{self.surface.label}: no answer ({exc}); it may have arrived") from exc
        try:
            created = decode(answer.body, path)
        except MalformedResponse as exc:
            raise OutcomeUnknown(f"{self.surface.label} accepted it with an unreadable answer") from exc
        if not isinstance(created, dict):
            raise OutcomeUnknown(f"{self.surface.label} accepted it with an unexpected answer")
        if "message_id" in created:
            recipient = str(created.get("recipient_id") or "")
            thread = f"dm:{recipient}" if recipient else thread
            external = str(created["message_id"])
        elif created.get("id"):
            external = str(created["id"])
        else:
            raise OutcomeUnknown(f"{self.surface.label} accepted it but returned no id")
        return SendResult(external, self.clock.now(), thread or external, json.dumps(created))

    def _plan(self, request: OutboundRequest) -> tuple[str, dict[str, Any], bool, str | None]:
        """(path, payload, sent as JSON, thread key) for *request*; raises PermanentError for what
        Meta would refuse anyway."""
        label = self.surface.label
        if request.action == "post":
            if self.surface.instagram:
                raise PermanentError(reach.why_no_post(Channel.INSTAGRAM))
            return f"/{self.own_id}/feed", {"message": request.text}, False, None
        comment_id = request.extra.get("comment_id")
        if request.action == "dm" and comment_id:
            self._fits_dm(request.text)
            return (f"/{self._me}/messages", {"recipient": {"comment_id": str(comment_id)},
                                              "message": {"text": request.text}}, True, None)
        if request.kind == Kind.PUBLIC:
            target = request.thread_key or request.in_reply_to
            if not target:
                raise PermanentError(f"a {label} comment reply needs the comment it answers")
            edge = "replies" if self.surface.instagram else "comments"
            return f"/{target}/{edge}", {"message": request.text}, False, target
        thread = request.thread_key or ""
        if not thread.startswith("dm:"):
            raise PermanentError(f"{label} lets a business message only someone who wrote first (or answer "
                                 "a comment privately): waiting for the customer to reply")
        customer_at = request.extra.get("customer_at")
        answer = reach.messaging_for(self.channel, customer_at if isinstance(customer_at, (int, float)) else None,
                                     self.clock.now(), request.extra.get("source"))
        if not answer.can_send:
            raise PermanentError(answer.reason)
        self._fits_dm(request.text)
        payload: dict[str, Any] = {"recipient": {"id": thread[3:]}, "messaging_type": answer.messaging_type,
                                   "message": {"text": request.text}}
        if answer.tag:
            payload["tag"] = answer.tag
        return f"/{self._me}/messages", payload, True, thread

    def _fits_dm(self, text: str) -> None:
        if self.surface.instagram and len(text.encode("utf-8")) > INSTAGRAM_DM_BYTES:
            raise PermanentError(f"an Instagram DM takes at most {INSTAGRAM_DM_BYTES} bytes")
        if not self.surface.instagram and len(text) > MESSENGER_LIMIT:
            raise PermanentError(f"a Messenger message takes at most {MESSENGER_LIMIT} characters")

    async def moderate(self, comment_id: str, action: str) -> None:
        """Hide, unhide or delete one comment (agentconsole.replies.moderation's extra)."""
        if action == "delete":
            answer = await self.graph.request("DELETE", f"/{comment_id}", send=True)
        else:
            field = "hide" if self.surface.instagram else "is_hidden"
            answer = await self.graph.request("POST", f"/{comment_id}", send=True,
                                              data={field: "true" if action == "hide" else "false"})
        body = decode(answer.body, comment_id)
        if not (isinstance(body, dict) and body.get("success") is True):
            raise PermanentError(f"{self.surface.label} did not confirm the {action} of the comment")

    async def find_sent(self, request: OutboundRequest) -> SendResult | None:
        from connectors.meta.sent import find_sent

        return await find_sent(self, request)


def _all_newer(messages: list[dict[str, Any]], mark: inbound.Mark) -> bool:
    """Every message is past the mark, so older unread ones may lie beyond this page."""
    times = [parse_time(m.get("created_time")) for m in messages]
    return mark.at is None or all(t is not None and t > mark.at for t in times)


def _readable(items: list[Any], spec: shape.Spec, what: str, platform: str) -> list[dict[str, Any]]:
    good = inbound.readable(items, spec)
    if len(good) < len(items):
        log.warning("%s sent %d unreadable %s(s) of %d; they are skipped", platform, len(items) - len(good),
                    what, len(items))
        if not good:
            raise MalformedResponse(f"{platform} sent {len(items)} {what}s and none could be read")
    return good


