"""How long one console's commit takes to reach another console's change feed: a writer process adds
a note to one conversation after another, a reader process waits on its feed as the team watcher does
and stamps when each conversation's note shows (CLOCK_MONOTONIC is one clock for every process).

    python -m tests.core.team_latency LOCATION [COUNT]      # prints one JSON line: median, p95, max (ms)
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from agentconsole.domain.clock import SystemClock
from agentconsole.domain.models import InboundMessage, Kind, Person
from agentconsole.session.team_watch import POLL_SECONDS
from agentconsole.storage.store import Store
from agentconsole.team.changes import ChangeFeed

ROOT = Path(__file__).resolve().parents[2]


def seed(location: str, count: int) -> tuple[int, list[int]]:
    store = Store(location, SystemClock())
    agent = store.ensure_agent("Bob Li", "BL")
    account = store.ensure_account("lat", "x", "scripted")
    now = time.time()
    messages = [InboundMessage(f"lat-{i}", f"lat-t{i}", Kind.PUBLIC, Person(f"u{i}", f"user{i}"), "hi", now)
                for i in range(count)]
    ids = list(store.ingest(account, messages, set_cursor=False).conversation_ids)
    store.close()
    return agent, ids


def read(location: str, count: int) -> None:
    """The reader: 'ready', then one line per conversation whose note it saw: id and monotonic time."""
    feed = ChangeFeed(location, SystemClock())
    print("ready", flush=True)
    seen: set[int] = set()
    end = time.monotonic() + 120
    while len(seen) < count and time.monotonic() < end:
        changes = feed.wait(POLL_SECONDS)
        if changes is None:
            continue
        at = time.monotonic()
        for cid in sorted(changes.ids("note") - seen):
            seen.add(cid)
            print(cid, at, flush=True)
    feed.close()


def measure(location: str, count: int = 200, gap: float = 0.05) -> dict[str, float]:
    agent, ids = seed(location, count)
    reader = subprocess.Popen([sys.executable, "-m", "tests.core.team_latency", "read", location, str(count)],
                              cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert reader.stdout is not None
    assert reader.stdout.readline().strip() == "ready"
    store = Store(location, SystemClock())
    committed: dict[int, float] = {}
    for cid in ids:
        store.add_note(cid, agent, "on it")
        committed[cid] = time.monotonic()  # the commit has returned
        time.sleep(gap)
    out, _ = reader.communicate(timeout=180)
    store.close()
    seen = {int(a): float(b) for a, b in (line.split() for line in out.splitlines() if line.strip())}
    lags = sorted((seen[cid] - committed[cid]) * 1000 for cid in ids if cid in seen)
    return {"count": count, "seen": len(lags),
            "median_ms": round(statistics.median(lags), 2) if lags else -1.0,
            "p95_ms": round(lags[int(len(lags) * 0.95) - 1], 2) if lags else -1.0,
            "max_ms": round(lags[-1], 2) if lags else -1.0}


if __name__ == "__main__":
    if sys.argv[1] == "read":
        read(sys.argv[2], int(sys.argv[3]))
    else:
        print(json.dumps(measure(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 200)))
