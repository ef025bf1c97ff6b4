"""The processes of the team soak: a sync loop over the demo accounts, and scripted agents that
answer waiting customers as fast as they can, all on one database file (loopback only: the demo
connector simulates the platforms in-process).

    python -m tests.core.team_soak sync DB SECONDS
    python -m tests.core.team_soak agent DB NAME SECONDS SEED [--no-guard]

An agent prints one JSON line at the end: what it sent, how often the guard stopped it, and how many
"database is locked" errors it met.
"""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import sys
import time

from agentconsole.domain.clock import SystemClock
from agentconsole.replies.outbox import Outbox
from agentconsole.storage.store import Store
from agentconsole.sync.engine import Engine
from agentconsole.team import collision, leases, presence
from agentconsole.team.console import console_id

DEMO_INTERVAL = 0.4  # a new customer message every ~0.4 s per demo account


def setup(db: str) -> None:
    """A demo workspace whose simulated customers write often."""
    from connectors.demo.connector import DEMO_ACCOUNTS

    store = Store(db, SystemClock())
    for name, channel, handle, display in DEMO_ACCOUNTS:
        store.ensure_account(name, channel, "demo", handle=handle, display_name=display, is_demo=True,
                             settings={"interval": DEMO_INTERVAL})
    store.close()


def run_sync(db: str, seconds: float) -> None:
    import connectors

    clock = SystemClock()
    store = Store(db, clock)
    built = {a.id: connectors.build(a, clock) for a in store.accounts()}
    engine = Engine(store, built, clock=clock, leases=leases.Leases(store, console_id(), "soak sync"))

    async def main() -> None:
        task = asyncio.create_task(engine.run())
        await asyncio.sleep(seconds)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())
    store.close()


def waiting(store: Store, limit: int = 4) -> list[int]:
    """The longest-waiting conversations: every agent goes for the same few, as a busy team does."""
    return [r[0] for r in store.conn.execute(
        "SELECT id FROM conversations WHERE status = 'open' AND needs_reply = 1 AND kind != 'email'"
        " ORDER BY waiting_since LIMIT ?", (limit,))]


def run_agent(db: str, name: str, seconds: float, seed: int, guard: bool) -> None:
    clock = SystemClock()
    store = Store(db, clock)
    agent = store.ensure_agent(name)
    me = presence.Presence(store, console_id(), agent)
    rng = random.Random(seed)
    sent = stopped = locked = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            ids = waiting(store)
            if not ids:
                time.sleep(0.05)
                continue
            conversation = rng.choice(ids)
            opened = clock.now()
            if guard:
                me.beat(conversation, presence.Activity.COMPOSING)
            time.sleep(rng.uniform(0.05, 0.4))  # typing
            text = f"Hello, {name} here: we are on it."
            try:
                if guard:
                    collision.reply(store, conversation, text, agent_id=agent, opened_at=opened)
                else:
                    Outbox(store).enqueue_reply(conversation, text, agent_id=agent)
                sent += 1
            except collision.Collided:
                stopped += 1  # the scripted agent discards its draft, as the dialog allows
            if guard:
                me.beat(conversation, presence.Activity.VIEWING)
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc):
                raise
            locked += 1
    me.leave()
    store.close()
    print(json.dumps({"agent": name, "sent": sent, "stopped": stopped, "locked": locked}), flush=True)


if __name__ == "__main__":
    command, db = sys.argv[1], sys.argv[2]
    if command == "setup":
        setup(db)
    elif command == "sync":
        run_sync(db, float(sys.argv[3]))
    else:
        run_agent(db, sys.argv[3], float(sys.argv[4]), int(sys.argv[5]), "--no-guard" not in sys.argv)
