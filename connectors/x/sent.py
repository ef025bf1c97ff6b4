"""What became of an X send that got no answer: our own timeline or DM events read back from the first
attempt on (owned reads), matched by text and parent."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from agentconsole.domain.models import OutboundRequest, SendResult
from connectors.x import payload as xp

if TYPE_CHECKING:
    from connectors.x.connector import XConnector



def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _words(text: str) -> list[str]:
    # X rewrites every link to a t.co address: compare the words around links only.
    return [w for w in text.split() if not w.lower().startswith(("http://", "https://", "www."))]


def same_text(ours: str, theirs: str) -> bool:
    return bool(_words(ours)) and _words(ours) == _words(theirs)


async def find_own_post(connector: XConnector, request: OutboundRequest, since: float) -> SendResult | None:
    """Our post with this text (and parent, for a reply) created since *since*, or None."""
    params = {"start_time": _iso(since), "max_results": "100", "exclude": "retweets",
              "tweet.fields": "created_at,conversation_id,referenced_tweets,in_reply_to_user_id"}
    answer = await connector.api.get(f"/2/users/{connector.own_id}/tweets", route="/2/users/:id/tweets",
                                     params=params)
    posts = xp.items(xp.page(answer.body, "our posts").get("data"), xp.POST, "post")
    connector.ledger.read("owned_read", [p.obj["id"] for p in posts], connector.clock.now())
    parent = str(request.in_reply_to) if request.action == "reply" and request.in_reply_to else None
    for item in posts:
        post = item.obj
        if xp.replied_to(post) != parent or not same_text(request.text, post["text"]):
            continue
        thread = request.thread_key or str(post.get("conversation_id") or post["id"])
        return SendResult(external_id=str(post["id"]), sent_at=xp.parse_time(post.get("created_at")) or since,
                          thread_key=thread, raw=json.dumps(post, ensure_ascii=False))
    return None


async def find_own_dm(connector: XConnector, recipient: str, request: OutboundRequest,
                      since: float) -> SendResult | None:
    """Our DM to *recipient* with this text created since *since*, or None."""
    params = {"event_types": "MessageCreate", "max_results": "50",
              "dm_event.fields": "id,text,event_type,created_at,sender_id,dm_conversation_id"}
    answer = await connector.api.get(f"/2/dm_conversations/with/{recipient}/dm_events",
                                     route="/2/dm_conversations/with/:id/dm_events", params=params)
    events = xp.items(xp.page(answer.body, "our DMs").get("data"), xp.DM_EVENT, "DM event")
    connector.ledger.read("dm_read", [e.obj["id"] for e in events], connector.clock.now())
    for item in events:
        event = item.obj
        created = xp.parse_time(event.get("created_at"))
        if str(event.get("sender_id")) != connector.own_id or (created is not None and created < since):
            continue
        if same_text(request.text, str(event.get("text") or "")):
            conv = str(event.get("dm_conversation_id") or xp.pair_id(str(connector.own_id), recipient))
            return SendResult(external_id=str(event["id"]), sent_at=created or since, thread_key=xp.dm_key(conv),
                              raw=json.dumps(event, ensure_ascii=False))
    return None
