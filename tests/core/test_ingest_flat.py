"""Ingest's work does not grow with the workspace: a quiet poll (no message, a new cursor) and a batch of
one message cost the same number of SQLite steps beside 300 and beside 6,000 stored messages."""

from __future__ import annotations

import pytest

from agentconsole.domain.models import Direction, InboundMessage, Kind, Person
from agentconsole.storage.store import Store
from tests.conftest import T0

CUSTOMERS = [Person(f"u{i}", f"@c{i}", f"Customer {i}") for i in range(50)]
BRAND = Person("brand", "@brand", "Brand")


def _workspace(path, clock, messages: int) -> tuple[Store, int]:
    store = Store(path, clock)
    account = store.ensure_account("x-main", "x", "demo")
    batch = []
    for n in range(messages):
        who, direction = (BRAND, Direction.OUT) if n % 4 == 3 else (CUSTOMERS[n % 50], Direction.IN)
        batch.append(InboundMessage(f"old-{n}", f"thread-{n // 4}", Kind.PUBLIC, who, f"message {n} about an order",
                                    T0 - 80_000 + n, direction))
        if len(batch) == 1000:
            store.ingest(account, batch, f"c{n}")
            batch = []
    if batch:
        store.ingest(account, batch, "filled")
    return store, account


def _steps(store: Store, account: int, batch: list[InboundMessage]) -> int:
    """SQLite virtual-machine steps (in hundreds) taken by ingesting *batch* on this thread's connection."""
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    store.conn.set_progress_handler(count, 100)
    try:
        store.ingest(account, batch, "next")
    finally:
        store.conn.set_progress_handler(None, 100)
    return steps


@pytest.mark.parametrize("new", [0, 1], ids=["quiet poll", "one message"])
def test_a_batch_costs_the_same_beside_a_small_and_a_big_workspace(tmp_path, clock, new):
    costs = []
    for size in (300, 6_000):
        store, account = _workspace(tmp_path / f"w{size}.db", clock, size)
        fresh = [InboundMessage("fresh", "thread-new", Kind.PUBLIC, CUSTOMERS[0], "where is my parcel??", T0 - 5)]
        costs.append(_steps(store, account, fresh[:new]))
        if new:
            assert store.conn.execute("SELECT count(*) FROM message_scores s JOIN messages m ON m.id = s.message_id"
                                      " WHERE m.external_id = 'fresh'").fetchone()[0] == 1  # still scored
        store.close()
    small, big = costs
    # Before, every batch walked the index of all inbound messages twice: 20x the steps at 6,000.
    assert big <= small * 1.5 + 20, costs
