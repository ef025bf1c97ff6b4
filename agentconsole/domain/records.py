"""Backend-neutral records of the storage areas (canned replies, shifts, the outbox): what a storage returns,
whatever its database."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple

from agentconsole.domain.models import OutboundRequest, SendAction, SendResult


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



class OutboxState(StrEnum):
    """Where an outbox item is (a str: stored as these words, and compared to them)."""

    WAITING = "waiting"  # queued behind an earlier item (a public "we've sent you a DM" waits for the DM)
    PENDING = "pending"  # due at next_attempt_at
    SENDING = "sending"  # claimed by a process (its owner) that is sending it now
    SENT = "sent"  # the platform accepted it
    FAILED = "failed"  # refused: the agent decides
    UNSURE = "unsure"  # may have been sent: the agent decides
    CANCELLED = "cancelled"  # the item it waited on failed: the agent decides
    DISCARDED = "discarded"  # the agent dropped it


SETTLED = (OutboxState.SENT, OutboxState.DISCARDED)  # nothing more will happen to these
DECIDABLE = (OutboxState.UNSURE, OutboxState.FAILED, OutboxState.CANCELLED)  # the agent's call


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One outbound item as stored."""

    id: int
    conversation_id: int | None
    account_id: int
    action: SendAction
    text: str
    state: OutboxState
    attempts: int
    last_error: str
    created_at: float
    request: OutboundRequest
    phase: str = ""  # a SendPhase value: how far the current (or last) attempt got
    attempt_at: float | None = None  # when the current attempt began (a stuck send shows how long)
    first_attempt_at: float | None = None  # when the first attempt began (lookups search from here)
    accepted: SendResult | None = field(default=None, compare=False)  # accepted; after-work due
    agent_id: int | None = None
    source: str | None = None  # personal, canned, away, ...: what wrote it
    resolve_after: bool = False  # the conversation is done once this is sent
    message_id: int | None = None  # the stored message, once sent
    owner: str = ""  # host:pid of the process that claimed it
    updated_at: float = 0.0


class PostKind(StrEnum):
    """Which shift post: the hello when it starts, the goodbye when it ends."""

    HELLO = "hello"
    GOODBYE = "goodbye"


class PostState(StrEnum):
    """Where a shift post is: its outbox item's state (the same words as OutboxState), or skipped."""

    WAITING = "waiting"
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNSURE = "unsure"
    CANCELLED = "cancelled"
    DISCARDED = "discarded"
    SKIPPED = "skipped"  # never queued: the account cannot post, or its hello is off


@dataclass(frozen=True, slots=True)
class PostStatus:
    """Where one hello or goodbye went: the outbox item's state, or why it was never queued."""

    account_id: int
    account_name: str
    channel: str
    kind: PostKind
    outbox_id: int | None
    state: PostState
    error: str

    def __post_init__(self) -> None:
        # Storage hands over the stored words; the record holds them as the enums they are.
        object.__setattr__(self, "kind", PostKind(self.kind))
        object.__setattr__(self, "state", PostState(self.state))


class ShiftRow(NamedTuple):
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
