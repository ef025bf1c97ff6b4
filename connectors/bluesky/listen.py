"""Bluesky listening: app.bsky.feed.searchPosts (an AppView method the PDS proxies) per keyword and
hashtag, newest first, each term resumed from the newest indexedAt it read."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from agentconsole.channels.contract import HeardPost, ListenResult, ListenTerms, Reply
from agentconsole.domain.models import InboundMessage, Kind
from agentconsole.domain.sanitize import clean, findings
from agentconsole.listening.terms import matches
from connectors import shape
from connectors.bluesky.records import (POST, POST_RECORD, PROFILE, AtUri, Cid, iso, page, parse_at_uri, parse_time,
                                        reply_parent, thread_root)

if TYPE_CHECKING:
    from connectors.bluesky.connector import BlueskyConnector

FIRST_PAGE = 25  # a term's first round: its newest posts only (the lexicon's default page)
PAGE = 100  # the lexicon's maximum
SEEN = 50  # uris at the newest indexedAt kept per term, so an inclusive "since" brings none twice
POST_VIEW = shape.Obj({"uri": AtUri(), "cid": Cid(), "author": PROFILE, "record": shape.Obj({}),
                       "indexedAt": shape.Str(100)})


def search_query(term: str, hashtag: bool) -> str:
    """The searchPosts q for one term: a hashtag as #tag, a keyword of several words as a phrase."""
    if hashtag:
        return "#" + term
    return json.dumps(term, ensure_ascii=False) if " " in term else term


async def listen(connector: BlueskyConnector, terms: ListenTerms, cursor: str | None) -> ListenResult:
    state = shape.cursor_state(cursor)
    own = (await connector.xrpc.signed_in()).did
    found: dict[str, HeardPost] = {}
    positions: dict[str, Any] = {}
    for term, hashtag in [(t, True) for t in terms.hashtags] + [(k, False) for k in terms.keywords]:
        key = ("#" if hashtag else "q:") + term.casefold()
        kept = state.get(key)
        mark: dict[str, Any] = kept if isinstance(kept, dict) else {}
        positions[key] = await _term(connector, terms, search_query(term, hashtag), ("#" + term) if hashtag else term,
                                     mark, own, found)
    return ListenResult(sorted(found.values(), key=lambda p: p.message.sent_at),
                        json.dumps({k: v for k, v in positions.items() if v}, separators=(",", ":")))


async def _term(connector: BlueskyConnector, terms: ListenTerms, q: str, label: str, mark: dict[str, Any], own: str,
                found: dict[str, HeardPost]) -> dict[str, Any]:
    high = mark.get("at") if isinstance(mark.get("at"), (int, float)) else None
    seen = {str(u) for u in mark.get("seen") or [] if isinstance(u, str)}
    params = [("q", q), ("sort", "latest"), ("limit", str(PAGE if high is not None else FIRST_PAGE))]
    if high is not None:
        params.append(("since", iso(high)))
    answer = await connector.xrpc.answer("GET", "app.bsky.feed.searchPosts", params=params)
    items, _ = page(answer, "posts", "searchPosts", max_items=PAGE * 2)
    good = [i for i in items if shape.valid(i[0], POST_VIEW) and parse_time(i[0]["indexedAt"]) is not None]
    if items and not good:
        from connectors.http import MalformedResponse

        raise MalformedResponse(f"Bluesky sent {len(items)} posts and none could be read")
    newest, newest_seen = high, set(seen)
    for view, raw, notes in good:
        at = parse_time(view["indexedAt"])
        assert at is not None
        uri = str(view["uri"])
        if high is not None and (at < high or (at == high and uri in seen)):
            continue
        if newest is None or at > newest:
            newest, newest_seen = at, {uri}
        elif at == newest:
            newest_seen.add(uri)
        post = _heard(connector, view, raw, notes, own, terms, label)
        if post is not None:
            found.setdefault(uri, post)
    return {"at": newest, "seen": sorted(newest_seen)[-SEEN:]} if newest is not None else {}


def _mentions(record: dict[str, Any], own: str) -> bool:
    for facet in record.get("facets") or []:
        for feature in (facet.get("features") or []) if isinstance(facet, dict) else []:
            if isinstance(feature, dict) and feature.get("did") == own:
                return True
    return False


def _heard(connector: BlueskyConnector, view: dict[str, Any], raw: str, notes: list[str], own: str,
           terms: ListenTerms, label: str) -> HeardPost | None:
    from connectors.bluesky.connector import _person, sent_time

    record = view["record"]
    if record.get("$type", POST) != POST or not shape.valid(record, POST_RECORD):
        return None
    if view["author"]["did"] == own or _mentions(record, own):
        return None  # our own post, or one that mentions us (the notifications bring it)
    uri = str(view["uri"])
    author = _person(view["author"])
    text = clean(record["text"])
    notes = notes + findings(record["text"])
    sent_at = sent_time(record, view["indexedAt"], connector.clock.now, notes)
    extra: dict[str, Any] = {"cid": view["cid"], "reason": "heard", "handle": author.handle.lstrip("@")}
    try:
        _, _, rkey = parse_at_uri(uri)
        extra["url"] = f"https://bsky.app/profile/{view['author']['did']}/post/{rkey}"
    except ValueError:
        pass
    message = InboundMessage(external_id=uri, thread_key=thread_root(record, uri), kind=Kind.PUBLIC, author=author,
                             text=text, sent_at=sent_at, in_reply_to=reply_parent(record), raw=raw,
                             parse_note="; ".join(notes), extra=extra)
    return HeardPost(message, matches(text, terms) or label, url=str(extra.get("url") or ""), reply=Reply.REPLY)
