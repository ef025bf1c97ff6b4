"""How fast another process's change reaches a console at 100k conversations: the change feed's idle
poll, the latency from a commit in another process to the changed rows read back, and the id-list
reload an order change costs. Prints JSON.

    uv run python benchmarks/team_live.py DB [--conversations 100000]   (builds DB once if missing)
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agentconsole.domain.clock import SystemClock  # noqa: E402
from agentconsole.storage.store import Store  # noqa: E402
from agentconsole.team.changes import ChangeFeed  # noqa: E402

POLL_SECONDS = 0.2  # as the console's watcher
WRITES = 40


def writer(path: str) -> None:
    """Another process: every 0.25 s a note or a new customer message, carrying its commit time."""
    import random

    from agentconsole.domain.models import InboundMessage, Kind, Person

    store = Store(path, SystemClock())
    rng = random.Random(3)
    top = store.conn.execute("SELECT max(id) FROM conversations").fetchone()[0]
    agent = store.ensure_agent("Bench Writer")
    for i in range(WRITES):
        time.sleep(0.25)
        cid = rng.randint(1, top)
        if i % 2:
            store.add_note(cid, agent, repr(time.time()))
        else:
            row = store.conn.execute("SELECT account_id, thread_key FROM conversations WHERE id = ?", (cid,)).fetchone()
            store.ingest(row[0], [InboundMessage(f"bench-{i}-{time.time()}", row[1], Kind.PUBLIC,
                                                 Person("bench", "bench", "Bench"), repr(time.time()), time.time())],
                         set_cursor=False)
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path", type=Path)
    parser.add_argument("--conversations", type=int, default=100_000)
    args = parser.parse_args()
    if not args.path.exists():
        from benchmarks.build_db import build

        print(json.dumps(build(args.path, args.conversations, 1000)), file=sys.stderr)
    store = Store(args.path, SystemClock())
    feed = ChangeFeed(args.path)
    count = store.conn.execute("SELECT count(*) FROM conversations").fetchone()[0]
    t = time.perf_counter()
    for _ in range(10_000):
        feed.poll()
    idle_us = (time.perf_counter() - t) / 10_000 * 1e6
    t = time.perf_counter()
    ids = store.conversation_ids("all")
    id_list_ms = (time.perf_counter() - t) * 1000
    proc = subprocess.Popen([sys.executable, __file__, "--writer", str(args.path)], cwd=ROOT)
    latencies, reads = [], []
    deadline = time.monotonic() + WRITES * 0.25 + 10
    while len(latencies) < WRITES and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        changes = feed.poll()
        if changes is None:
            continue
        t = time.perf_counter()
        rows = store.conversations_by_ids(changes.conversation_ids)  # the targeted row refresh
        reads.append((time.perf_counter() - t) * 1000)
        now = time.time()
        for cid in changes.ids("note"):
            note = store.notes(cid)[-1]
            latencies.append(now - float(note.text))
        for cid in changes.ids("order"):
            if cid in rows:
                latencies.append(now - float(rows[cid].last_preview))
    proc.wait()
    print(json.dumps({
        "conversations": count, "id_list_len": len(ids),
        "idle_poll_us": round(idle_us, 1),
        "changes_seen": len(latencies),
        "commit_to_rows_read_ms": {"median": round(statistics.median(latencies) * 1000, 1),
                                   "max": round(max(latencies) * 1000, 1)},
        "changed_rows_read_ms_max": round(max(reads), 2),
        "full_id_list_reload_ms": round(id_list_ms, 1),
    }, indent=2))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--writer"]:
        writer(sys.argv[2])
    else:
        main()
