"""What the sync engine tells its listeners: each account's connector state, and what changed."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ConnectorState:
    account_id: int
    account_name: str
    # starting | syncing | ok | error | retrying | auth | down (its task crashed) | standby (another
    # process syncs it)
    status: str
    message: str = ""
    retry_at: float | None = None
    last_sync_at: float | None = None


@dataclass(frozen=True, slots=True)
class EngineEvent:
    kind: str  # ingested | sent | state | outbox
    account_id: int | None
    conversation_ids: tuple[int, ...] = ()
