"""The automatic part of the hand-off note: the open and waiting conversations, one a line."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dataclasses import dataclass

from agentconsole.domain.models import Channel, Kind
from agentconsole.domain.sanitize import one_line
from agentconsole.response.sla import format_wait

if TYPE_CHECKING:
    from agentconsole.storage.shifts import ShiftStorage
    from agentconsole.storage.store import Store

HANDOFF_LIMIT = 50


@dataclass(frozen=True, slots=True)
class WorkItem:
    """One open conversation as the hand-off note lists it."""

    conversation_id: int
    customer: str
    channel: str
    kind: str
    waiting_since: float | None
    last_note: str
    assignee: str


def open_work(store: Store, limit: int = HANDOFF_LIMIT, storage: ShiftStorage | None = None
              ) -> tuple[list[WorkItem], int, int]:
    """Open conversations, the waiting ones (longest first) before the rest; with how many are open
    and how many wait in all."""
    storage = storage if storage is not None else store.shift_storage()
    waiting = storage.waiting_ids(limit)
    rest = storage.answered_open_ids(max(0, limit - len(waiting)))
    rows = store.conversations_by_ids(waiting + rest)
    items = []
    for cid in waiting + rest:
        c = rows[cid]
        note = storage.last_note(cid)
        customer = c.contact_name or (("@" + c.handle) if c.handle and c.channel != Channel.EMAIL
                                      else c.handle) or "unknown customer"
        items.append(WorkItem(cid, one_line(customer, 60), c.channel, c.kind,
                              c.waiting_since if c.needs_reply else None,
                              one_line(note, 80) if note else "", c.assignee_name))
    return items, storage.open_count(), store.waiting_summary()[0]


def draft_note(store: Store, limit: int = HANDOFF_LIMIT, storage: ShiftStorage | None = None) -> str:
    """Every open conversation (up to *limit*): customer, channel, waiting time, assignee, last note."""
    items, total_open, total_waiting = open_work(store, limit, storage)
    now = store.clock.now()
    if not items:
        return "No open conversations."
    lines = [f"Open work: {total_open} open, {total_waiting} waiting."]
    for item in items:
        where = Channel(item.channel).label
        if item.kind != Kind.EMAIL:
            where += " DM" if item.kind == Kind.DM else f" {item.kind}"
        parts = [f"#{item.conversation_id} {item.customer}", where,
                 f"waiting {format_wait(now - item.waiting_since)}" if item.waiting_since is not None
                 else "answered",
                 f"assigned to {item.assignee}" if item.assignee else "unassigned"]
        if item.last_note:
            parts.append(f"note: {item.last_note}")
        lines.append("- " + " · ".join(parts))
    if total_open > len(items):
        lines.append(f"… and {total_open - len(items)} more open")
    return "\n".join(lines)
