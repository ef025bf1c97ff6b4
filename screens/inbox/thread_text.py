"""How the pane shows a long message: its preview, the parts it is paged in, and the labels around it."""

from __future__ import annotations

from datetime import timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agentconsole.domain.models import Channel
from agentconsole.replies.lengths import counted

PREVIEW_LINES = 40  # a long message shows this many lines until expanded
PREVIEW_CHARS = 4000
# Expanding shows a long message one part at a time (x moves on): laying out a 1 MiB text in one widget
# took seconds of the UI thread; a part of this size lays out in a few milliseconds.
PART_LINES = 200
PART_CHARS = 16_000


def zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return timezone.utc


def channel_label(channel: str) -> str:
    try:
        return Channel(channel).label
    except ValueError:
        return channel


@lru_cache(maxsize=16)  # the same long text is paged through key after key; its str hash is cached
def parts(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the parts an expanded long message is shown in, at line ends if it can."""
    spans = []
    start = 0
    while start < len(text):
        end = min(len(text), start + PART_CHARS)
        cut = start
        for _ in range(PART_LINES):
            cut = text.find("\n", cut, end)
            if cut < 0:
                break
            cut += 1
        else:
            end = cut
        spans.append((start, end))
        start = end
    return spans or [(0, 0)]


def page(text: str, part: int) -> tuple[str, str]:
    """Part *part* of an expanded message and a line saying where it is ("" for a short message)."""
    if len(text) <= PART_CHARS and text.count("\n", 0, PART_CHARS) < PART_LINES:
        return text, ""
    spans = parts(text)
    part = min(part, len(spans) - 1)
    start, end = spans[part]
    first = text.count("\n", 0, start) + 1
    last = first + text.count("\n", start, end - 1 if text.endswith("\n", start, end) else end)
    where = f"part {part + 1} of {len(spans)} (lines {first:,}–{last:,})"
    if part + 1 < len(spans):
        return text[start:end], where + ": press x for the next part"
    return text[start:end], where + ": press x to fold"


def clip(text: str, expanded: bool) -> tuple[str, str]:
    """The part of a message shown before expanding, and what is hidden ("" when nothing is)."""
    if expanded or (len(text) <= PREVIEW_CHARS and text.count("\n", 0, PREVIEW_CHARS + 1) < PREVIEW_LINES):
        return text, ""
    head = text[:PREVIEW_CHARS]
    lines = head.split("\n")
    if len(lines) > PREVIEW_LINES:
        head = "\n".join(lines[:PREVIEW_LINES])
    hidden_lines = text.count("\n") - head.count("\n")
    if hidden_lines:
        return head, f"{hidden_lines} more line{'s' if hidden_lines != 1 else ''}"
    return head, counted(len(text) - len(head), "more characters")
