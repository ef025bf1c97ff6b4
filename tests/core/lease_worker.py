"""A console's sync engine run as its own process by the lease test: it polls one account only while it
holds the account's lease, and writes every fetch it makes to a shared log (who, which page).

    python -m tests.core.lease_worker LOCATION NAME FETCH_LOG
"""

from __future__ import annotations

import asyncio
import os
import sys

from agentconsole.domain.clock import SystemClock
from agentconsole.domain.models import Channel, Capabilities, FetchResult, InboundMessage, Kind, Person
from agentconsole.storage.store import Store
from agentconsole.sync.engine import Engine
from agentconsole.team.console import console_id
from agentconsole.team.leases import Leases

PAGES, PER_PAGE = 60, 40


class LoggedPlatform:
    """Serves page *cursor* of a fixed history and appends each fetch to the log (fsynced)."""

    channel = Channel.MASTODON
    poll_interval = 0.05
    capabilities = Capabilities()

    def __init__(self, name: str, log: str) -> None:
        self.name, self.log = name, log

    async def fetch(self, cursor: str | None) -> FetchResult:
        page = int(cursor or 0)
        with open(self.log, "a") as f:
            f.write(f"{self.name} {page}\n")
            f.flush()
            os.fsync(f.fileno())
        if page >= PAGES:
            return FetchResult([], cursor)
        messages = [InboundMessage(f"p{page}-{i}", f"t{(page * PER_PAGE + i) % 97}", Kind.PUBLIC,
                                   Person(f"u{i}", f"user{i}"), f"page {page} message {i}", 1_000_000.0 + page)
                    for i in range(PER_PAGE)]
        await asyncio.sleep(0.02)  # the platform takes a moment
        return FetchResult(messages, str(page + 1), more=page + 1 < PAGES)

    async def send(self, request):  # type: ignore[no-untyped-def]
        raise AssertionError("nothing is sent in this test")

    async def find_sent(self, request):  # type: ignore[no-untyped-def]
        return None

    async def check(self) -> str:
        return "logged"

    async def close(self) -> None:
        pass


async def main(location: str, name: str, log: str) -> None:
    store = Store(location, SystemClock())
    account = store.ensure_account("leased", "mastodon", "logged")
    engine = Engine(store, {account: LoggedPlatform(name, log)}, clock=SystemClock(),
                    leases=Leases(store, console_id(), name))
    task = asyncio.create_task(engine.run())
    print("started", flush=True)
    while store.cursor(account) != str(PAGES):
        await asyncio.sleep(0.05)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    store.close()
    print("done", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
