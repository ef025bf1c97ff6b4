"""Mastodon's JSON read from the bytes the server sent: one bad status spoils only itself."""

from __future__ import annotations

import json
import logging
from typing import Any

from agentconsole.domain.normalise import valid_str

from connectors.mastodon.client import parse_time

from connectors import shape
from connectors.http import MalformedResponse

log = logging.getLogger(__name__)

# A page item: the decoded object, its exact bytes in the page, and notes on what could not be decoded.
Item = tuple[dict[str, Any], bytes, list[str]]
MAX_PAGE_ITEMS = 1000
INVALID_UTF8_NOTE = "invalid UTF-8 in what the server sent, shown as \ufffd"


def page_items(content: bytes, what: str) -> list[Item]:
    """The objects of a JSON array page, each with its own bytes; bad bytes spoil only their item.

    The page is decoded with surrogateescape so invalid UTF-8 inside one status neither fails the page
    nor changes the bytes kept as that status's raw payload.
    """
    text = content.decode("utf-8", "surrogateescape")
    decoder = json.JSONDecoder()
    index = _skip(text, 0)
    if not text.startswith("[", index):
        raise MalformedResponse(f"Mastodon sent an unexpected answer on {what}: expected a list")
    index = _skip(text, index + 1)
    items: list[Item] = []
    while index < len(text) and text[index] != "]":
        try:
            obj, end = decoder.raw_decode(text, index)
        except ValueError as exc:
            if items:  # keep what was readable; the rest comes again on the next poll
                log.warning("%s: unreadable JSON after item %d: %s", what, len(items), exc)
                break
            raise MalformedResponse(f"Mastodon sent a non-JSON answer on {what}") from exc
        chunk = text[index:end]
        if isinstance(obj, dict):
            fixed, bad = _valid(obj)
            items.append((fixed, chunk.encode("utf-8", "surrogateescape"), [INVALID_UTF8_NOTE] if bad else []))
        index = _skip(text, end)
        if text.startswith(",", index):
            index = _skip(text, index + 1)
    return items


def decode_json(content: bytes, what: str) -> tuple[Any, bool]:
    """One JSON document whatever its bytes: (object with invalid text replaced, whether any was)."""
    try:
        return _valid(json.loads(content.decode("utf-8", "surrogateescape")))
    except ValueError as exc:
        raise MalformedResponse(f"Mastodon sent a non-JSON answer on {what}") from exc


def _skip(text: str, index: int) -> int:
    while index < len(text) and text[index] in " \t\r\n":
        index += 1
    return index


def _valid(value: Any) -> tuple[Any, bool]:
    """*value* with every string made valid Unicode (escaped bytes and lone surrogates to U+FFFD)."""
    if isinstance(value, str):
        fixed = valid_str(value)
        return fixed, fixed is not value
    if isinstance(value, list):
        pairs = [_valid(v) for v in value]
        return [v for v, _ in pairs], any(b for _, b in pairs)
    if isinstance(value, dict):
        bad = False
        out = {}
        for k, v in value.items():
            key, bad_key = _valid(k)
            out[key], bad_value = _valid(v)
            bad = bad or bad_key or bad_value
        return out, bad
    return value, False


def parse_time_safely(value: Any) -> float | None:
    """parse_time that never raises: a date whose offset leaves the calendar (year 0) is unreadable."""
    try:
        return parse_time(value)
    except (OverflowError, OSError, ValueError, TypeError):
        return None


def page(content: bytes, what: str) -> list[Item]:
    """A page's items, each with the bytes the server sent for it (see connectors.mastodon.payload)."""
    items = page_items(content, what)
    if len(items) > MAX_PAGE_ITEMS:
        raise MalformedResponse(f"Mastodon sent {len(items)} items on {what}, more than a page holds")
    return items


def readable(page: list[Item], spec: shape.Spec, what: str) -> list[Item]:
    """The items of *page* that have the shape we read; the others are logged and left out. A page
    with items of which none is readable is a malformed answer, not an empty one."""
    good = [item for item in page if shape.valid(item[0], spec)]
    if len(good) < len(page):
        log.warning("Mastodon sent %d unreadable %s(s) of %d; they are skipped", len(page) - len(good),
                    what, len(page))
        if not good:
            raise MalformedResponse(f"Mastodon sent {len(page)} {what}s and none could be read")
    return good


def load_cursor(cursor: str | None) -> dict[str, Any]:
    if not cursor:
        return {}
    try:
        state = json.loads(cursor)
    except ValueError:
        # Cursors written by hand or by an older build: a bare notification id.
        return {"min_id": cursor}
    return state if isinstance(state, dict) else {}
