"""X listening: GET /2/tweets/search/recent for the account's keywords and hashtags in one query, each
post read billed at X's post price (and each author at the user price), as the ledger counts them."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from typing import Any, TYPE_CHECKING

from agentconsole.channels.contract import HeardPost, ListenResult, ListenTerms, Reply
from agentconsole.listening.terms import matches
from connectors import shape
from connectors.x import payload as xp

if TYPE_CHECKING:
    from connectors.x.connector import XConnector

SEARCH_ROUTE = "/2/tweets/search/recent"
MAX_QUERY = 512  # characters of a recent-search query on the self-serve (pay-per-use) access
FIRST_PAGE = 10  # a new query's first round reads only its newest ten posts (X's minimum page)
PAGE = 100
MAX_PAGES = 3  # at most 300 posts ($1.50 at $0.005) per round, however much brand talk there is
LISTEN_RESERVE = 2


def query(terms: ListenTerms, username: str) -> str:
    """One recent-search query for all terms: quoted keywords and hashtags OR-ed, without retweets,
    our own posts or posts that mention us (those come through the mentions); raises ValueError when
    it would be longer than X accepts."""
    parts = [json.dumps(k, ensure_ascii=False) if " " in k or not k.isalnum() else k for k in terms.keywords]
    parts += ["#" + tag for tag in terms.hashtags]
    body = parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"
    own = f" -from:{username} -@{username}" if username else ""
    text = f"{body} -is:retweet{own}"
    if len(text) > MAX_QUERY:
        raise ValueError(f"the X search for these terms has {len(text)} characters; X takes {MAX_QUERY}")
    return text


async def listen(connector: XConnector, terms: ListenTerms, cursor: str | None) -> ListenResult:
    from agentconsole.domain.errors import PermanentError

    state = shape.cursor_state(cursor)
    now = connector.clock.now()
    connector.ledger.restore(state.get("credits"), now)
    await connector._ready()
    try:
        q = query(terms, connector.username)
    except ValueError as exc:
        raise PermanentError(str(exc)) from exc
    digest = hashlib.sha256(q.encode()).hexdigest()[:16]
    since = state.get("since") if state.get("q") == digest and shape.valid(state.get("since"), xp.ID) else None
    params: dict[str, str] = {"query": q, "max_results": str(PAGE if since else FIRST_PAGE),
                              "tweet.fields": "created_at,author_id,conversation_id,in_reply_to_user_id,"
                                              "referenced_tweets,attachments,entities",
                              "expansions": "author_id", "user.fields": "username,name,description,location,"
                                                                         "receives_your_dm"}
    if since:
        params["since_id"] = since
    found: list[HeardPost] = []
    newest = since
    for _ in range(MAX_PAGES):
        answer = await connector.api.get(SEARCH_ROUTE, params=params, reserve=LISTEN_RESERVE)
        data = xp.page(answer.body, "recent search")
        posts = xp.items(data.get("data"), xp.POST, "post")
        users, media = xp.includes(data)
        now = connector.clock.now()
        connector.ledger.read("post_read", [p.obj["id"] for p in posts], now)
        connector.ledger.read("user_read", list(users), now)
        for item in posts:
            pid = str(item.obj["id"])
            if newest is None or (len(pid), pid) > (len(newest), newest):
                newest = pid
            if str(item.obj.get("author_id") or "") == connector.own_id or _mentions(item.obj, connector.username):
                continue
            message = connector._post(item, users, media)
            extra = {k: v for k, v in message.extra.items() if k != "summoned"}
            message = replace(message, extra={**extra, "summoned": False})
            dm = extra.get("receives_your_dm")
            found.append(HeardPost(message, matches(message.text, terms) or "search", url=str(extra.get("url") or ""),
                                   reply=Reply.REFUSED, receives_dm=dm if isinstance(dm, bool) else None))
        raw_meta = data.get("meta")
        meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
        token = meta.get("next_token")
        if not since or not isinstance(token, str) or not token:
            break
        params = {**params, "pagination_token": token[:200]}
    new_state = {"q": digest, "since": newest, "credits": connector.ledger.state()}
    return ListenResult(found, json.dumps(new_state, separators=(",", ":")))


def _mentions(post: dict[str, Any], username: str) -> bool:
    entities = post.get("entities")
    mentions = entities.get("mentions") if isinstance(entities, dict) else None
    return bool(username) and isinstance(mentions, list) and any(
        isinstance(m, dict) and str(m.get("username") or "").lower() == username.lower() for m in mentions)


async def like(connector: XConnector, post_id: str) -> None:
    """POST /2/users/:id/likes (needs the like.write scope); liking a post twice is harmless on X."""
    from agentconsole.domain.errors import PermanentError
    from connectors.x.api import Forbidden

    if not shape.valid(post_id, xp.ID):
        raise PermanentError(f"{post_id[:40]!r} is not an X post id")
    await connector._ready()
    try:
        answer = await connector.api.call("POST", f"/2/users/{connector.own_id}/likes", route="/2/users/:id/likes",
                                          json={"tweet_id": post_id}, send=True)
    except Forbidden as exc:
        raise PermanentError(f"{exc}: re-authorise the account (`agentconsole account add x`) so the app may "
                             "like posts (scope like.write)") from exc
    connector.ledger.write("like", connector.clock.now())
    data = (xp.decode(answer.body, "like") or {}).get("data")
    if not (isinstance(data, dict) and data.get("liked") is True):
        raise PermanentError("X did not confirm the like")
