"""A sync loop run as a separate process by the crash test: it resumes from the stored cursor."""

from __future__ import annotations

import sys

from agentconsole.domain.clock import FrozenClock
from agentconsole.domain.models import Direction, InboundMessage, Kind, Person

from agentconsole.storage.store import Store

BATCHES, PER_BATCH = 400, 50


def batch(index: int) -> list[InboundMessage]:
    """Deterministic batch *index*; it overlaps the previous one, as re-fetches do."""
    out = []
    for i in range(index * PER_BATCH - 5, (index + 1) * PER_BATCH):
        if i < 0:
            continue
        person = Person(f"u{i % 97}", f"user{i % 97}", f"User {i % 97}")
        out.append(InboundMessage(f"m{i}", f"t{i % 500}", Kind.PUBLIC, person, f"message number {i}",
                                  1_000_000.0 + i, direction=Direction.OUT if i % 4 == 3 else Direction.IN))
    return out


def main(path: str) -> None:
    store = Store(path, FrozenClock())
    account = store.ensure_account("crash", "x", "scripted")
    while True:
        cursor = store.cursor(account)
        index = int(cursor) if cursor else 0
        if index >= BATCHES:
            break
        store.ingest(account, batch(index), str(index + 1))
        print(index, flush=True)
    print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
