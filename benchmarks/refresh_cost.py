"""What one ingested message costs the inbox on screen: the targeted refresh (its rows, the counts by
difference, the list's front, the wait line) against reading everything again, on a built workspace.

    uv run python benchmarks/build_db.py /tmp/w10k.db --conversations 10000
    uv run python benchmarks/refresh_cost.py /tmp/w10k.db /tmp/w300k.db

Prints JSON, one entry per workspace: median milliseconds of each part over the runs (the workspace
gets one new message per run, in a new conversation, as the demo's customers write)."""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from agentconsole.config import Config
from agentconsole.domain.clock import SystemClock
from agentconsole.domain.models import InboundMessage, Kind, Person
from agentconsole.response.rule import Order
from agentconsole.session.session import Session
from agentconsole.storage.store import Store

SCREEN_ROWS = 30  # the list's height in a 120x36 terminal
FRONT = 3 * SCREEN_ROWS + 1  # what ConversationList.front_size() reads at the top of the list


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, (time.perf_counter() - start) * 1000


def _in_order(ids, fresh) -> int:
    """How many rows already sit in order (the longest run of the fresh order kept): the rest would move."""
    import bisect

    where = {cid: i for i, cid in enumerate(fresh)}
    tails: list[int] = []
    for cid in ids:
        at = bisect.bisect_left(tails, where[cid])
        tails[at:at + 1] = [where[cid]]
    return len(tails)


def measure(path: Path, runs: int) -> dict:
    clock = SystemClock()
    store = Store(path, clock)
    session = Session(store, clock=clock, config=Config(), agent_id=store.ensure_agent("Bench"))
    account = store.accounts()[0].id
    conversations = store.conn.execute("SELECT count(*) FROM conversations").fetchone()[0]
    _, first_count = timed(session.view_counts)  # once at start: every conversation's views
    ids, _ = timed(session.conversation_ids, "all", Order.URGENCY)
    parts: dict[str, list[float]] = {k: [] for k in (
        "targeted_counts", "targeted_list", "targeted_rows", "wait_line", "full_counts", "full_ids")}
    for run in range(runs):
        report = store.ingest(account, [InboundMessage(
            f"bench-{time.time_ns()}", f"bench-{time.time_ns()}", Kind.PUBLIC,
            Person(f"b{run}", f"@bench{run}", f"Bench {run}"), "where is my order?", clock.now() - 600)])
        changed = tuple(report.conversation_ids)
        _, ms = timed(session.view_counts, changed)
        parts["targeted_counts"].append(ms)
        ids, ms = timed(session.refreshed_list, "all", Order.URGENCY, None, ids, FRONT, changed)
        parts["targeted_list"].append(ms)
        _, ms = timed(session.conversations_by_ids, ids[:FRONT])
        parts["targeted_rows"].append(ms)
        _, ms = timed(session.wait_summary, Order.URGENCY)
        parts["wait_line"].append(ms)
        # What every change cost before: nine counts and the whole id list read again.
        _, ms = timed(store.view_counts, session.agent_id)
        parts["full_counts"].append(ms)
        _, ms = timed(session.conversation_ids, "all", Order.URGENCY)
        parts["full_ids"].append(ms)
    # The spliced list holds every conversation once, with the front exact; rows beyond it keep the
    # place they had (waits of different targets change rank as time passes) until the next full read.
    fresh = session.conversation_ids("all", Order.URGENCY)
    assert sorted(ids) == sorted(fresh) and ids[:FRONT] == fresh[:FRONT], "the spliced list lost its way"
    displaced = len(fresh) - _in_order(ids, fresh)
    store.close()
    medians = {k: round(statistics.median(v), 2) for k, v in parts.items()}
    medians["targeted_total"] = round(sum(medians[k] for k in (
        "targeted_counts", "targeted_list", "targeted_rows", "wait_line")), 2)
    medians["full_total"] = round(medians["full_counts"] + medians["full_ids"] + medians["wait_line"]
                                  + medians["targeted_rows"], 2)
    return {"workspace": str(path), "conversations": conversations, "runs": runs,
            "first_count_ms": round(first_count, 1), "rows_not_yet_in_place": displaced, "median_ms": medians}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", type=Path, nargs="+")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    print(json.dumps([measure(path, args.runs) for path in args.paths], indent=2))


if __name__ == "__main__":
    main()
