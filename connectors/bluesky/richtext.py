"""Rich-text facets for what we send: @mentions and links found in plain text, as UTF-8 byte ranges."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
# A handle is a domain name: two labels at least, the last one not starting with a digit.
MENTION = re.compile(rf"(?:(?<=^)|(?<=[\s(\[]))@((?:{_LABEL}\.)+[A-Za-z](?:[A-Za-z0-9-]{{0,61}}[A-Za-z0-9])?)")
LINK = re.compile(r"(?:(?<=^)|(?<=[\s(\[]))(https?://[^\s<>\"]+)", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\""


@dataclass(frozen=True, slots=True)
class Span:
    start: int  # character offsets in the text
    end: int
    kind: str  # "mention" or "link"
    value: str  # the handle (without @) or the URL


def byte_offset(text: str, index: int) -> int:
    """The UTF-8 byte position of character *index*: facets count bytes, not characters."""
    return len(text[:index].encode("utf-8", "surrogatepass"))


def spans(text: str) -> list[Span]:
    """Every @handle and http(s) link in *text*, in order; trailing punctuation is not part of a link."""
    found = []
    for match in MENTION.finditer(text):
        handle = match.group(1).rstrip(".")
        found.append(Span(match.start(), match.start() + 1 + len(handle), "mention", handle))
    for match in LINK.finditer(text):
        url = match.group(1)
        while url and url[-1] in _TRAILING and not (url[-1] == ")" and url.count("(") >= url.count(")")):
            url = url[:-1]
        if "." in url.split("://", 1)[1]:
            found.append(Span(match.start(), match.start() + len(url), "link", url))
    found.sort(key=lambda s: s.start)
    kept: list[Span] = []
    for span in found:  # an e-mail-like @ inside a link belongs to the link
        if not kept or span.start >= kept[-1].end:
            kept.append(span)
    return kept


async def facets(text: str, resolve: Callable[[str], Awaitable[str | None]]) -> list[dict[str, Any]]:
    """The app.bsky.richtext.facet list for *text*; *resolve* turns a handle into a DID (None: a
    handle that does not exist stays plain text, as the Bluesky app leaves it)."""
    out = []
    for span in spans(text):
        if span.kind == "mention":
            did = await resolve(span.value.lower())
            if not did:
                continue
            feature = {"$type": "app.bsky.richtext.facet#mention", "did": did}
        else:
            feature = {"$type": "app.bsky.richtext.facet#link", "uri": span.value}
        out.append({"index": {"byteStart": byte_offset(text, span.start), "byteEnd": byte_offset(text, span.end)},
                    "features": [feature]})
    return out
