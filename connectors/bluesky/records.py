"""Bluesky's JSON read safely: the shapes the connector reads, AT URIs, times, and one bad item spoiling only itself."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agentconsole.domain.normalise import valid_str
from connectors import shape
from connectors.http import MAX_BYTES, Answer, MalformedResponse

# at://<did or handle>/<collection nsid>/<record key>
_AT_URI = re.compile(r"^at://(did:[a-z]+:[A-Za-z0-9._:%-]{1,2000}|[A-Za-z0-9.-]{1,253})/([A-Za-z0-9.-]{1,317})/"
                     r"([A-Za-z0-9._:~-]{1,512})$")
_CID = re.compile(r"^[A-Za-z0-9]{8,200}$")
INVALID_UTF8_NOTE = "invalid UTF-8 in what the server sent, shown as \ufffd"
POST = "app.bsky.feed.post"
WANTED_REASONS = ("mention", "reply", "quote")


@dataclass(frozen=True)
class AtUri(shape.Spec):
    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, str) or not _AT_URI.match(value):
            raise shape.ShapeError(f"{path}: {str(value)[:60]!r} is not an at:// URI")


@dataclass(frozen=True)
class Cid(shape.Spec):
    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, str) or not _CID.match(value):
            raise shape.ShapeError(f"{path}: {str(value)[:60]!r} is not a CID")


@dataclass(frozen=True)
class Did(shape.Spec):
    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, str) or not re.match(r"^did:[a-z]+:[A-Za-z0-9._:%-]{1,2000}$", value):
            raise shape.ShapeError(f"{path}: {str(value)[:60]!r} is not a DID")


STRONG_REF = shape.Obj({"uri": AtUri(), "cid": Cid()})
PROFILE = shape.Obj({"did": Did()}, {"handle": shape.Str(300), "displayName": shape.Str(2000),
                                     "description": shape.Str(20_000)})
# A text longer than the store shows is kept, cut with a note and its raw payload whole (normalise), not
# dropped as unreadable: only the answer's size cap bounds it.
POST_RECORD = shape.Obj({"text": shape.Str(MAX_BYTES)}, {
    "createdAt": shape.Anything(), "reply": shape.Obj({"root": STRONG_REF, "parent": STRONG_REF}),
    "facets": shape.ListOf(shape.Anything(), 1000), "langs": shape.ListOf(shape.Str(40), 10)})
NOTIFICATION = shape.Obj({"uri": AtUri(), "cid": Cid(), "author": PROFILE, "reason": shape.Str(100),
                          "record": shape.Obj({}), "indexedAt": shape.Str(100)},
                         {"reasonSubject": shape.Str(3000)})
RECORD_VIEW = shape.Obj({"uri": AtUri(), "cid": Cid(), "value": shape.Obj({})})
CREATED = shape.Obj({"uri": AtUri(), "cid": Cid()})


def parse_at_uri(uri: str) -> tuple[str, str, str]:
    """(repo, collection, record key) of an AT URI; ValueError when it is not one."""
    match = _AT_URI.match(uri or "")
    if not match:
        raise ValueError(f"not an at:// URI: {str(uri)[:80]!r}")
    return match.group(1), match.group(2), match.group(3)


def parse_time(value: Any) -> float | None:
    """An atproto datetime (ISO 8601 with an offset) as epoch seconds; None when unreadable."""
    if not isinstance(value, str) or not value or len(value) > 64:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except (ValueError, OverflowError, OSError):
        return None


def iso(at: float) -> str:
    """An epoch time as the datetime atproto records carry (UTC, milliseconds, Z)."""
    from datetime import timezone

    return datetime.fromtimestamp(at, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def thread_root(record: dict[str, Any], own_uri: str) -> str:
    """The thread a post belongs to: its reply root's URI, or itself when it starts a thread."""
    reply = record.get("reply")
    if isinstance(reply, dict) and shape.valid(reply.get("root"), STRONG_REF):
        return str(reply["root"]["uri"])
    return own_uri


def reply_parent(record: dict[str, Any]) -> str | None:
    reply = record.get("reply")
    if isinstance(reply, dict) and shape.valid(reply.get("parent"), STRONG_REF):
        return str(reply["parent"]["uri"])
    return None


# An item of a page: the decoded object (text made valid), its raw JSON, notes on what was not decodable.
Item = tuple[dict[str, Any], str, list[str]]


def page(answer: Answer, key: str, what: str, max_items: int = 1000) -> tuple[list[Item], Any]:
    """The items under *key* of a JSON object answer, each on its own; returns (items, the whole body).

    The body is decoded with surrogateescape, so invalid UTF-8 inside one item neither fails the page
    nor the other items: that item's strings show U+FFFD and its note says why."""
    try:
        body = json.loads(answer.body.decode("utf-8", "surrogateescape"))
    except ValueError as exc:
        raise MalformedResponse(f"Bluesky sent a non-JSON answer on {what}") from exc
    if not isinstance(body, dict) or not isinstance(body.get(key), list):
        raise MalformedResponse(f"Bluesky sent an unexpected answer on {what}: no list of {key}")
    found = body[key]
    if len(found) > max_items:
        raise MalformedResponse(f"Bluesky sent {len(found)} {key} on {what}, more than a page holds")
    items: list[Item] = []
    for item in found:
        if not isinstance(item, dict):
            items.append(({}, json.dumps(item)[:1000], ["not an object"]))
            continue
        raw = json.dumps(item, ensure_ascii=True)  # escapes keep undecodable bytes visible in the raw copy
        fixed, bad = _valid(item)
        items.append((fixed, raw, [INVALID_UTF8_NOTE] if bad else []))
    return items, body


def _valid(value: Any) -> tuple[Any, bool]:
    """*value* with every string made valid Unicode (escaped bytes and lone surrogates to U+FFFD)."""
    if isinstance(value, str):
        fixed = valid_str(value)
        return fixed, fixed is not value
    if isinstance(value, list):
        pairs = [_valid(v) for v in value]
        return [v for v, _ in pairs], any(b for _, b in pairs)
    if isinstance(value, dict):
        out, bad = {}, False
        for k, v in value.items():
            key, bad_key = _valid(k)
            out[key], bad_value = _valid(v)
            bad = bad or bad_key or bad_value
        return out, bad
    return value, False
