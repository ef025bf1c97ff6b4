"""How the pane shows its thread: the Text of messages, notes and sends, a long message's preview, the parts
it is paged in, and the labels around it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timezone, tzinfo
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rich.text import Text

from agentconsole.domain.models import Channel, Direction
from agentconsole.domain.records import DECIDABLE, OutboxState
from agentconsole.replies.lengths import counted
from agentconsole.replies.outbox import duration, sending_for

from screens.common.safe import safe_text

if TYPE_CHECKING:
    from screens.inbox.conversation_pane import PaneData

OUTBOX_LABELS = {  # what the pane says of a send still on its way or waiting for the agent's decision
    OutboxState.PENDING: "sending…",
    OutboxState.SENDING: "sending…",
    OutboxState.WAITING: "waiting for an earlier send",
    OutboxState.FAILED: "failed: needs your decision",
    OutboxState.UNSURE: "may have been sent: needs your decision",
    OutboxState.CANCELLED: "cancelled: needs your decision",
}
STUCK_AFTER = 10.0  # seconds before a send in flight shows how long it has been going

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


def thread_of(data: PaneData, stamp: Callable[[float], str], expanded: bool, part: int) -> Text:
    """The pane's thread as one Text: each message with its time, direction and author, then the internal
    notes, then the sends still on their way; long messages clipped (or, *expanded*, their *part*)."""
    c = data.conversation
    text = Text(end="")
    for m in data.messages:
        incoming = m.direction == Direction.IN
        text.append(f"{stamp(m.sent_at)} ", "dim")
        text.append("◀ in  " if incoming else "▶ out ", "bold")
        who = m.author_name or m.author_handle or ("customer" if incoming else "us")
        text.append_text(safe_text(who, "bold" if incoming else "italic", single_line=True, limit=60))
        if m.source:
            text.append(f" ({m.source})", "dim")
        text.append("\n")
        if m.subject and c.channel == Channel.EMAIL:
            text.append_text(safe_text(f"Subject: {m.subject}", "dim", single_line=True, limit=300))
            text.append("\n")
        shown, hidden = clip(m.text, False)
        if expanded and hidden:
            shown, hidden = page(m.text, part)
            if hidden:  # said above the part too: the end of a long part is far below
                text.append(f"… {hidden}\n", "reverse")
        body = safe_text(shown)
        if not incoming:
            body.stylize("italic")
        text.append_text(body)
        if hidden and not expanded:
            text.append(f"\n… {hidden} hidden: press x to expand", "reverse")
        elif hidden:
            text.append(f"\n… {hidden}", "reverse")
        if m.edited_at:
            text.append("\n")
            text.append(f"✎ edited {stamp(m.edited_at)} (earlier text kept)", "dim")
        if m.parse_note:
            text.append("\n")
            text.append_text(safe_text(f"note: {m.parse_note}", "dim", single_line=True, limit=300))
        text.append("\n\n")
    for n in data.notes:
        text.append(f"{stamp(n.created_at)} ", "dim")
        text.append("■ internal note", "reverse")
        text.append(" by ")
        text.append_text(safe_text(n.agent_name or "an agent", single_line=True, limit=60))
        text.append("\n")
        text.append_text(safe_text(n.text))
        text.append("\n\n")
    for item in data.outbox:
        state = item.state
        text.append(f"{stamp(item.created_at)} ", "dim")
        label = OUTBOX_LABELS.get(state, state)
        stuck = sending_for(item, data.loaded_at) if data.loaded_at is not None else None
        if stuck is not None and stuck >= STUCK_AFTER:
            label = f"sending for {duration(stuck)} (no answer yet)"
        text.append(f"▶ {item.action} · {label}", "bold reverse")
        if item.last_error:
            text.append(" ")
            text.append_text(safe_text(item.last_error, single_line=True, limit=200))
        if state in DECIDABLE:
            text.append("\n(decide in the command palette, ctrl+p: resend, mark as sent or discard)",
                        "dim")
        text.append("\n")
        text.append_text(safe_text(clip(item.text, expanded)[0]))
        text.append("\n\n")
    text.rstrip()
    return text
