"""Mastodon listening: hashtag timelines (GET /api/v1/timelines/tag/:hashtag) and status search
(GET /api/v2/search?type=statuses), each term paged forward from its own newest id."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from agentconsole.channels.contract import HeardPost, ListenResult, ListenTerms, Reply
from agentconsole.domain.models import Direction, InboundMessage, Kind
from agentconsole.domain.sanitize import findings, one_line
from agentconsole.listening.terms import matches
from connectors import shape
from connectors.http import MalformedResponse
from connectors.mastodon.client import STATUS
from connectors.mastodon.html import status_text
from connectors.mastodon.payload import decode_json, page, parse_time_safely, readable

if TYPE_CHECKING:
    from connectors.mastodon.connector import MastodonConnector

FIRST_PAGE = 20  # a term's first round: its newest posts only
PAGE = 40  # the most either endpoint returns at once
LISTEN_RESERVE = 20  # listening leaves this many requests of the 5-minute window to the inbox and replies
SEARCH = shape.Obj({}, {"statuses": shape.ListOf(shape.Anything(), max_items=1000)})


def _id_key(value: str) -> tuple[int, str]:
    return (len(value), value)


async def listen(connector: MastodonConnector, terms: ListenTerms, cursor: str | None) -> ListenResult:
    state = _load(cursor)
    await connector._ready()
    found: dict[str, HeardPost] = {}
    positions: dict[str, str] = {}
    for tag in terms.hashtags:
        key = "#" + tag.casefold()
        path = f"/api/v1/timelines/tag/{quote(tag, safe='')}"
        items = await _tag_page(connector, path, state.get(key))
        positions[key] = _take(connector, items, "#" + tag, terms, found) or state.get(key, "")
    for word in terms.keywords:
        key = "q:" + word.casefold()
        items = await _search_page(connector, word, state.get(key))
        positions[key] = _take(connector, items, word, terms, found) or state.get(key, "")
    return ListenResult(sorted(found.values(), key=lambda p: p.message.sent_at),
                        json.dumps({k: v for k, v in positions.items() if v}, separators=(",", ":")))


def _params(since: str | None) -> list[tuple[str, str]]:
    return [("limit", str(PAGE)), ("min_id", since)] if since else [("limit", str(FIRST_PAGE))]


async def _tag_page(connector: MastodonConnector, path: str, since: str | None) -> list[tuple[dict[str, Any], bytes, list[str]]]:
    answer = await connector.api.request("GET", path, params=_params(since), reserve=LISTEN_RESERVE)
    return readable(page(answer.body, path), STATUS, "status")


async def _search_page(connector: MastodonConnector, word: str,
                       since: str | None) -> list[tuple[dict[str, Any], bytes, list[str]]]:
    path = "/api/v2/search"
    params = [("q", word), ("type", "statuses"), ("resolve", "false"), *_params(since)]
    answer = await connector.api.request("GET", path, params=params, reserve=LISTEN_RESERVE)
    body, bad = decode_json(answer.body, path)
    if not shape.valid(body, SEARCH):
        raise MalformedResponse(f"Mastodon sent an unexpected answer on {path}")
    statuses = body.get("statuses") or []
    items = [(s, json.dumps(s, ensure_ascii=False).encode(), ["invalid text in what the server sent"] if bad else [])
             for s in statuses if isinstance(s, dict)]
    return readable(items, STATUS, "status") if items else []


def _take(connector: MastodonConnector, items: list[tuple[dict[str, Any], bytes, list[str]]], term: str,
          terms: ListenTerms, found: dict[str, HeardPost]) -> str | None:
    """The posts of one page worth hearing into *found*; returns the page's newest id (the term's cursor)."""
    newest: str | None = None
    for status, raw, notes in items:
        sid = str(status["id"])
        if newest is None or _id_key(sid) > _id_key(newest):
            newest = sid
        account = status.get("account") or {}
        if str(account.get("id")) == connector.own_id or connector._mentions_us(status) or status.get("reblog"):
            continue  # our own, addressed to us (the inbox has it), or a boost of another post
        if (status.get("visibility") or "public") not in ("public", "unlisted") or sid in found:
            continue
        message = _message(connector, status, raw, notes)
        matched = matches(message.text, terms) or term
        found[sid] = HeardPost(message, matched, url=one_line(str(status.get("url") or ""), 2000), reply=Reply.REPLY)
    return newest


def _message(connector: MastodonConnector, status: dict[str, Any], raw: bytes, notes: list[str]) -> InboundMessage:
    sid = str(status["id"])
    account = status.get("account") or {}
    notes = list(notes) + findings(f"{status.get('spoiler_text') or ''}{status.get('content') or ''}")
    created = parse_time_safely(status.get("created_at"))
    if created is None:
        created = connector.clock.now()
        notes.append("no readable creation time; time of fetch used")
    extra: dict[str, Any] = {"visibility": status.get("visibility") or "public", "acct": str(account.get("acct") or "")}
    if status.get("url"):
        extra["url"] = str(status["url"])
    parent = status.get("in_reply_to_id")
    return InboundMessage(external_id=sid, thread_key=sid, kind=Kind.PUBLIC, author=connector.person(account),
                          text=status_text(status, connector.local_host), sent_at=created, direction=Direction.IN,
                          in_reply_to=str(parent) if parent else None, raw=raw, parse_note="; ".join(notes),
                          extra=extra)


def _load(cursor: str | None) -> dict[str, str]:
    try:
        state = json.loads(cursor) if cursor else {}
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in state.items() if isinstance(v, str) and 0 < len(v) <= 100} \
        if isinstance(state, dict) else {}
