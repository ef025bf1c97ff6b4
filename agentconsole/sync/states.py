"""What the sync engine tells its listeners: each account's connector state, and what changed."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class SyncStatus(StrEnum):
    """Where an account's connector is (a str: the banner and the tests compare it to plain names)."""

    STARTING = "starting"
    SYNCING = "syncing"
    OK = "ok"
    ERROR = "error"
    RETRYING = "retrying"
    AUTH = "auth"
    DOWN = "down"  # its task crashed and waits to restart
    STANDBY = "standby"  # another process syncs this account
    CREDITS = "credits"  # the platform's prepaid credits ran out (X): the business must top up


class EventKind(StrEnum):
    INGESTED = "ingested"
    SENT = "sent"
    STATE = "state"
    OUTBOX = "outbox"
    HEARD = "heard"  # listening stored new heard posts (or its state changed): no conversation moved
    CHANGED = "changed"  # this console's own verb (the Session's): a reply, done, assign, a note ...


@dataclass(frozen=True, slots=True)
class ConnectorState:
    """One account's connection as the banner shows it: its status, its message, its retry and last sync."""
    account_id: int
    account_name: str
    status: SyncStatus | str
    message: str = ""
    retry_at: float | None = None
    last_sync_at: float | None = None


@dataclass(frozen=True, slots=True)
class EngineEvent:
    """What changed: *conversation_ids* (none: nothing a list shows, or, for CHANGED, everything), and
    whether a row's place in a view (*order*) or the views' counts (*counts*) may have moved with it."""

    kind: EventKind | str
    account_id: int | None
    conversation_ids: tuple[int, ...] = ()
    order: bool = True
    counts: bool = True
