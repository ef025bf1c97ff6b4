"""What one ingested message, and one of the agent's own actions, costs the inbox on screen: the targeted
refresh (the changed rows, the counts by difference, the list's front and the changed rows placed,
the wait line) against reading everything again, on a built workspace.

    uv run python benchmarks/build_db.py /tmp/w10k.db --conversations 10000
    uv run python benchmarks/refresh_cost.py /tmp/w10k.db /tmp/w300k.db

Prints JSON, one entry per workspace: the median milliseconds of each part over the runs, as wall
time and as this thread's CPU time (steadier on a shared machine). Each ingest run adds one message in
a new conversation, as the demo's customers write; each action run marks a waiting conversation of the
list's first screens done, or assigns it, and undoes that on the next run; each follow-up run adds a
message to an old answered conversation near the end of the list (the workspace changes). Then the
minute's re-sort: by urgency (waits of different targets pass each other, so the waiting rows are put
in order again from memory), by the longest wait without business hours (nothing moves, nothing is
read), against reading the whole list again; the re-sorted list must equal that full read.

A built workspace's backlog grows with it (192 customers wait at 10k conversations, 5,866 at 300k), and
placing a waiting row costs the log of the backlog. `--backlog N` first resolves all but N of the
waiting conversations (the same N whatever the size), so the workspace's size is measured apart from
how many customers wait."""

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
from agentconsole.storage import views
from agentconsole.storage.store import Store

SCREEN_ROWS = 30  # the list's height in a 120x36 terminal
FRONT = 3 * SCREEN_ROWS + 1  # what ConversationList.front_size() reads at the top of the list


class Parts:
    """Wall and CPU milliseconds per named part, over the runs."""

    def __init__(self) -> None:
        self.wall: dict[str, list[float]] = {}
        self.cpu: dict[str, list[float]] = {}

    def timed(self, name, fn, *args, **kwargs):
        wall, cpu = time.perf_counter(), time.thread_time()
        result = fn(*args, **kwargs)
        self.wall.setdefault(name, []).append((time.perf_counter() - wall) * 1000)
        self.cpu.setdefault(name, []).append((time.thread_time() - cpu) * 1000)
        return result

    def medians(self, totals: dict[str, tuple[str, ...]]) -> dict[str, dict[str, float]]:
        out = {}
        for label, source in (("wall_ms", self.wall), ("cpu_ms", self.cpu)):
            m = {k: round(statistics.median(v), 2) for k, v in source.items()}
            for total, names in totals.items():
                m[total] = round(sum(m[n] for n in names if n in m), 2)
            out[label] = m
        return out


def _in_order(ids, fresh) -> int:
    """How many rows already sit in order (the longest run of the fresh order kept): the rest would move."""
    import bisect

    where = {cid: i for i, cid in enumerate(fresh)}
    tails: list[int] = []
    for cid in ids:
        at = bisect.bisect_left(tails, where[cid])
        tails[at:at + 1] = [where[cid]]
    return len(tails)


def targeted(parts: Parts, prefix: str, session: Session, ids, changed: tuple[int, ...]):
    """What the inbox does for one change event (screens/inbox/loading.py refresh_changed)."""
    parts.timed(f"{prefix}counts", session.view_counts, changed)
    ids = parts.timed(f"{prefix}list", session.refreshed_list, "all", Order.URGENCY, None, ids, FRONT, changed)
    window = set(ids[:FRONT])  # the list reads again only the changed rows in its window
    parts.timed(f"{prefix}rows", session.conversations_by_ids, [c for c in changed if c in window])
    parts.timed(f"{prefix}wait_line", session.wait_summary, Order.URGENCY)
    return ids


def full(parts: Parts, session: Session, store: Store) -> None:
    """What every change cost before the targeted refresh: nine counts, the whole id list, the window's rows."""
    parts.timed("full_counts", store.view_counts, session.agent_id)
    ids = parts.timed("full_ids", session.conversation_ids, "all", Order.URGENCY)
    parts.timed("full_rows", session.conversations_by_ids, ids[:FRONT])
    parts.timed("full_wait_line", session.wait_summary, Order.URGENCY)


def keep_backlog(store: Store, backlog: int) -> int:
    """Resolves every waiting conversation but *backlog* of them (spread over the workspace, the same
    ones on every run), as if the team had answered them; returns how many wait now."""
    waiting = views.WAITING_SQL  # the store's own test of "waits", so the two never disagree
    with store.conn:
        store.conn.execute(
            f"UPDATE conversations SET status = 'done', needs_reply = 0, waiting_since = NULL,"
            f" resolved_at = last_message_at WHERE {waiting} AND id NOT IN"
            f" (SELECT id FROM conversations WHERE {waiting} ORDER BY (id * 2654435761) % 4294967296 LIMIT ?)",
            (backlog,))
    return store.conn.execute(f"SELECT count(*) FROM conversations WHERE {waiting}").fetchone()[0]


def measure(path: Path, runs: int, backlog: int | None = None) -> dict:
    clock = SystemClock()
    store = Store(path, clock)
    if backlog is not None:
        keep_backlog(store, backlog)
    agent = store.ensure_agent("Bench")
    session = Session(store, clock=clock, config=Config(), agent_id=agent)
    account = store.accounts()[0].id
    conversations = store.conn.execute("SELECT count(*) FROM conversations").fetchone()[0]
    start = time.perf_counter()
    session.view_counts()  # once at start: every conversation's views, and what waits
    session.wait_summary(Order.URGENCY)
    first_count = (time.perf_counter() - start) * 1000
    waiting = session._waiting.count("all")  # what the console's waiting set holds after its first count
    ids = session.conversation_ids("all", Order.URGENCY)
    parts = Parts()
    undo: list[tuple[str, int]] = []
    for run in range(runs):
        report = store.ingest(account, [InboundMessage(
            f"bench-{time.time_ns()}", f"bench-{time.time_ns()}", Kind.PUBLIC,
            Person(f"b{run}", f"@bench{run}", f"Bench {run}"), "where is my order?", clock.now() - 600)])
        ids = targeted(parts, "ingest_", session, ids, tuple(report.conversation_ids))
        # One of the agent's own actions on a waiting row of the first screens, undone on the next run.
        if undo:
            verb, cid = undo.pop()
            if verb == "done":
                parts.timed("action_verb", session.toggle_done, cid, "done")
            else:
                parts.timed("action_verb", session.assign, cid, None, agent)
        else:
            cid = next(c for c in ids[:FRONT] if session._waiting.entry(c) is not None)
            verb = "done" if run % 4 == 0 else "assign"
            if verb == "done":
                parts.timed("action_verb", session.toggle_done, cid, "open")
            else:
                parts.timed("action_verb", session.assign, cid, agent, None)
            undo.append((verb, cid))
        ids = targeted(parts, "action_", session, ids, (cid,))
        # A customer writes again in an old answered conversation near the end of the list.
        at = len(ids) - 1 - 3 * run
        while session._waiting.entry(ids[at]) is not None:
            at -= 1
        old = ids[at]
        account_id, thread, kind = store.conn.execute(
            "SELECT account_id, thread_key, kind FROM conversations WHERE id = ?", (old,)).fetchone()
        store.ingest(account_id, [InboundMessage(
            f"bench-{time.time_ns()}", thread, Kind(kind), Person(f"f{run}", f"@again{run}", f"Again {run}"),
            "any news?", clock.now() - 300)])
        ids = targeted(parts, "followup_", session, ids, (old,))
        full(parts, session, store)
    # The spliced list holds every conversation once, with the front exact; rows beyond it keep the
    # place they had (waits of different targets change rank as time passes) until the minute's re-sort.
    fresh = session.conversation_ids("all", Order.URGENCY)
    assert sorted(ids) == sorted(fresh) and ids[:FRONT] == fresh[:FRONT], "the spliced list lost its way"
    displaced = len(fresh) - _in_order(ids, fresh)
    # The minute's re-sort (screens/inbox/loading.py resort): by urgency, targets that differ (an hour on
    # X, a day for email) move waits past each other, so the waiting rows are put in order again from
    # memory; by the longest wait with no business hours time moves nothing and nothing is read.
    for _run in range(runs):
        at = clock.now() - 60
        done = parts.timed("resort_urgency", session.resorted_list, "all", Order.URGENCY, None, ids, at)
        still = parts.timed("resort_longest", session.resorted_list, "all", Order.LONGEST, None, ids, at)
        assert done.ids is not None and not done.full and still.ids is None
        parts.timed("resort_full_read", session.conversation_ids, "all", Order.URGENCY)
    done = session.resorted_list("all", Order.URGENCY, None, ids, clock.now() - 60)
    ids = done.ids or ids  # compared with a full read by the keys of the same moment (time moves them)
    exact = store.conversation_ids("all", agent, None, session.response_rule().order_key(done.at, Order.URGENCY))
    assert list(ids) == list(exact), "the re-sort is not exact"
    store.close()
    totals = {"ingest_total": ("ingest_counts", "ingest_list", "ingest_rows", "ingest_wait_line"),
              "action_total": ("action_counts", "action_list", "action_rows", "action_wait_line"),
              "followup_total": ("followup_counts", "followup_list", "followup_rows", "followup_wait_line"),
              "full_total": ("full_counts", "full_ids", "full_rows", "full_wait_line")}
    return {"workspace": str(path), "conversations": conversations, "waiting_at_start": waiting, "runs": runs,
            "first_count_ms": round(first_count, 1), "rows_not_yet_in_place": displaced, **parts.medians(totals)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", type=Path, nargs="+")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--backlog", type=int, default=None,
                        help="resolve all but this many waiting conversations first (changes the workspace)")
    args = parser.parse_args()
    print(json.dumps([measure(path, args.runs, args.backlog) for path in args.paths], indent=2))


if __name__ == "__main__":
    main()
