"""Backend-neutral records of the storage areas (canned replies, shifts): what a storage returns, whatever its database."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple


class CannedFields(NamedTuple):
    """What the agent writes of a canned reply."""

    shortcut: str
    name: str
    body: str
    tags: tuple[str, ...]
    channels: tuple[str, ...]
    kinds: tuple[str, ...]


class CannedRecord(NamedTuple):
    """A stored canned reply with its usage figures."""

    id: int
    shortcut: str
    name: str
    body: str
    tags: tuple[str, ...]
    channels: tuple[str, ...]
    kinds: tuple[str, ...]
    usage_count: int
    last_used_at: float | None



class PostKind(StrEnum):
    """Which shift post: the hello when it starts, the goodbye when it ends."""

    HELLO = "hello"
    GOODBYE = "goodbye"


@dataclass(frozen=True, slots=True)
class PostStatus:
    """Where one hello or goodbye went: the outbox item's state, or why it was never queued."""

    account_id: int
    account_name: str
    channel: str
    kind: str  # a PostKind
    outbox_id: int | None
    state: str  # the outbox item's state (pending, sending, sent, failed, unsure, discarded), or skipped
    error: str


@dataclass(frozen=True, slots=True)
class ShiftRow:
    id: int
    agent_id: int
    agent_name: str
    initials: str
    timezone: str
    started_at: float
    planned_end: float | None
    ended_at: float | None
    next_agent: str
    next_start: float | None
    handoff_note: str
    acknowledged_by: str
    answered: int | None
    median_first_response: float | None
