"""The storage backends every storage test runs against: SQLite, and PostgreSQL (see tests/pg.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from agentconsole.domain.clock import FrozenClock
from agentconsole.domain.models import Direction, InboundMessage, Kind, Person
from agentconsole.storage.canned import CannedStorage
from agentconsole.storage.metrics import MetricsStorage, OpenSeconds
from agentconsole.storage.shifts import ShiftStorage
from agentconsole.storage.store import Store
from tests import pg


@dataclass
class Backend:
    """One workspace on one backend: the store (accounts, conversations) and each area's storage."""

    name: str
    store: Store
    clock: FrozenClock
    integrity_error: type[Exception]  # what a write that breaks a unique key raises here

    def shifts(self) -> ShiftStorage:
        return self.store.shift_storage()

    def canned(self) -> CannedStorage:
        return self.store.canned_storage()

    def metrics(self, open_seconds: OpenSeconds | None = None) -> MetricsStorage:
        return self.store.metrics_storage(open_seconds)

    def message(self, account_id: int, thread: str, text: str, at: float, *, who: str = "dana",
                kind: Kind = Kind.PUBLIC, out: bool = False) -> int:
        """Store one message; returns its conversation's id."""
        person = Person(who, f"@{who}", who.title())
        msg = InboundMessage(f"{thread}-{at}-{text}", thread, kind, person, text, at,
                             Direction.OUT if out else Direction.IN)
        return self.store.ingest(account_id, [msg], set_cursor=False).conversation_ids[0]


BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def backend(request, tmp_path, clock) -> Iterator[Backend]:
    url = None
    if request.param == "sqlite":
        store = Store(tmp_path / "storage.db", clock)
    elif request.param == "postgresql":
        url = pg.fresh_database()
        store = Store(url, clock)
    else:  # pragma: no cover - a new backend adds its set-up here
        raise AssertionError(f"unknown backend {request.param}")
    # Both raise sqlite3's IntegrityError: the PostgreSQL adapter maps psycopg's to it (with it as the cause).
    yield Backend(request.param, store, clock, sqlite3.IntegrityError)
    store.close()
    if url is not None:
        pg.drop(url)
