"""Storage measures against their floors in the same run: search, the metrics figures and ingest."""

from __future__ import annotations

import os
import random
import shutil
import time
from pathlib import Path

from benchmarks.build_db import ACCOUNTS, stream
from benchmarks.ratios import PAIRS, interleave

# What people type: whole words, every keystroke of a common word as it is typed (the first one is the
# slowest prefix there is), a rare word, names, non-Latin text, phrases in quotes and not, and the first
# digit of an order number (a prefix of thousands of indexed words, which FTS5 merges itself).
QUERIES = ["order", "refund", "arrived", "never arrived", "invoice 4", "4", "1", "dana", "李娜", "x", "zzzz",
           "thanks for", "tracking link", "sunday", "parcel", "photo box", "WINTER1",
           "o", "or", "ord", "orde", "t", "th", "tha", "p", "pa", "my order n",
           '"never arrived"', '"thanks for the quick"', '"order never"']
_FLOOR_SQL = ("SELECT m.id, m.conversation_id, c.channel, m.author_name,"
              " snippet(messages_fts, 0, '', '', '…', 12), m.sent_at"
              " FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid"
              " JOIN conversations c ON c.id = m.conversation_id"
              " WHERE messages_fts MATCH ? ORDER BY messages_fts.rowid DESC LIMIT 50")


def _ms(fn) -> float:
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) * 1000


def search(db: Path, pairs: int = PAIRS) -> dict:
    """Each query's median against the floor: one exact FTS5 term, top 50 newest first, same columns."""
    from agentconsole.storage.store import Store

    store = Store(db)
    conn = store.conn
    floor = lambda: _ms(lambda: conn.execute(_FLOOR_SQL, ('"order"',)).fetchall())  # noqa: E731
    per_query = {}
    for query in QUERIES:
        per_query[query] = interleave(lambda q=query: _ms(lambda: store.search(q, 50)), floor, pairs)
    store.close()
    worst = max(per_query, key=lambda q: per_query[q]["median"])
    floors = sorted(r["floor"] for r in per_query.values())
    return {"search_max_ms": per_query[worst]["median"], "search_worst_query": worst,
            "search_floor_ms": floors[len(floors) // 2],
            "search_ratio": round(per_query[worst]["median"] / floors[len(floors) // 2], 1),
            "search_queries_ms": {q: r["median"] for q, r in per_query.items()}}


def metrics_figures(db: Path, pairs: int = PAIRS) -> dict:
    """The metrics SQL per period on a fresh connection, against one pass over the period's rows of the
    first-response index (what any exact figure must at least read)."""
    from agentconsole import metrics
    from agentconsole.domain.clock import SystemClock
    from agentconsole.storage.store import Store

    out = {}
    now = SystemClock().now()
    for spec in ("today", "7d", "30d"):
        per = metrics.period(spec, now)

        def ours(spec: str = spec) -> float:
            store = Store(db, SystemClock())
            try:
                return _ms(lambda: metrics.compute(store, spec, now))
            finally:
                store.close()

        def floor(per: metrics.Period = per) -> float:
            store = Store(db, SystemClock())
            try:
                return _ms(lambda: store.conn.execute(
                    "SELECT count(*), sum(first_response_at - first_customer_at) FROM conversations"
                    " INDEXED BY conv_first_response WHERE first_response_at >= ? AND first_response_at < ?",
                    (per.start, per.end)).fetchone())
            finally:
                store.close()

        out[f"metrics_{spec}_first_ms"] = ours()  # fills the day cache when the workspace has none
        r = interleave(ours, floor, pairs)
        out[f"metrics_{spec}_ms"], out[f"metrics_{spec}_floor_ms"] = r["median"], r["floor"]
    return out


class _Recorder:
    """A connection stand-in that records every statement and its parameters, in order."""

    def __init__(self, conn) -> None:
        self._conn = conn
        self.log: list[tuple[str, str, object]] = []

    def execute(self, sql, params=()):
        self.log.append(("one", sql, params))
        return self._conn.execute(sql, params)

    def executemany(self, sql, rows):
        rows = list(rows)
        self.log.append(("many", sql, rows))
        return self._conn.executemany(sql, rows)

    def __getattr__(self, name):
        return getattr(self._conn, name)


def _fresh_workspace(path: Path) -> tuple[float, list[int]]:
    """An empty workspace at *path* (its directory emptied of databases first) with the benchmark's
    accounts: now, whole seconds, by the system clock, and the accounts' ids."""
    from agentconsole.domain.clock import FrozenClock, SystemClock
    from agentconsole.storage.store import Store

    path.parent.mkdir(parents=True, exist_ok=True)
    for p in path.parent.glob("*.db*"):
        p.unlink()
    end = float(int(SystemClock().now()))
    store = Store(path, FrozenClock(end))
    ids = [store.ensure_account(name, channel, "demo", settings={"interval": 3600, "seed": 1})
           for name, channel in ACCOUNTS]
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    return end, ids


def ingest(work: Path, pairs: int = PAIRS, batches: int = 20, batch: int = 1000) -> dict:
    """Store.ingest of the same batches on a fresh workspace, against replaying the exact SQL it ran
    (same schema, indexes, triggers and statements; none of the Python around them)."""
    from agentconsole.domain.clock import FrozenClock
    from agentconsole.storage.store import Store

    base = work / "base.db"
    end, ids = _fresh_workspace(base)
    messages = []
    for account, message in stream(batches * batch // 10, random.Random(3), end - 30 * 86400, 29 * 86400):
        messages.append((ids[account], message))
        if len(messages) >= batches * batch:
            break
    chunks = [messages[i:i + batch] for i in range(0, len(messages), batch)]
    by_batch = []
    for chunk in chunks:
        groups: dict[int, list] = {}
        for account_id, message in chunk:
            groups.setdefault(account_id, []).append(message)
        by_batch.extend(groups.items())
    # Record the SQL once, on a copy.
    shutil.copy(base, work / "rec.db")
    store = Store(work / "rec.db", FrozenClock(end))
    recorder = _Recorder(store.conn)
    store._local.conn = recorder
    for n, (account_id, group) in enumerate(by_batch):
        store.ingest(account_id, group, str(n))
    store._local.conn = recorder._conn
    store.close()
    log = recorder.log

    def ours() -> float:
        target = work / "a.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        shutil.copy(base, target)
        s = Store(target, FrozenClock(end))
        t = time.perf_counter()
        for n, (account_id, group) in enumerate(by_batch):
            s.ingest(account_id, group, str(n))
        elapsed = time.perf_counter() - t
        s.close()
        return len(messages) / elapsed

    def floor() -> float:
        target = work / "b.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        shutil.copy(base, target)
        s = Store(target, FrozenClock(end))
        conn = s.conn
        t = time.perf_counter()
        for kind, sql, params in log:
            (conn.executemany if kind == "many" else conn.execute)(sql, params)
        elapsed = time.perf_counter() - t
        s.close()
        return len(messages) / elapsed

    r = interleave(ours, floor, pairs)
    return {"ingest_messages_per_second": round(r["median"]), "ingest_floor_messages_per_second": round(r["floor"]),
            "ingest_ratio": r["ratio"], "ingest_sample_messages": len(messages)}


def ingest_into(db: Path, work: Path, pairs: int = 3, messages: int = 20_000, batch: int = 1000) -> dict:
    """Sustained ingest where it happens: the same new traffic through Store.ingest into a copy of the
    built workspace (its indexes as big as the workspace) and into a fresh one, interleaved."""
    import dataclasses

    from agentconsole.domain.clock import FrozenClock
    from agentconsole.storage.store import Store

    fresh = work / "fresh.db"
    end, _ids = _fresh_workspace(fresh)
    traffic = []  # new conversations and their follow-ups, from the hour before *end*
    for account, message in stream(messages // 10, random.Random(11), end - 3600, 3000):
        traffic.append((account, dataclasses.replace(message, external_id="new-" + message.external_id,
                                                     thread_key="new-" + message.thread_key)))
        if len(traffic) >= messages:
            break

    def run(base: Path) -> float:
        target = work / "run.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        shutil.copy(base, target)
        # The copy's pages are written back first: left dirty, the first checkpoint's fsync waits for all
        # of them (~0.9 s for the 1.1 GB workspace), which is the copy's cost, not ingest's.
        with open(target, "rb+") as copied:
            os.fsync(copied.fileno())
        store = Store(target, FrozenClock(end))
        by_name = {name: i for i, name in store.conn.execute("SELECT id, name FROM accounts")}
        ids = [by_name[name] for name, _ in ACCOUNTS]
        batches: list[tuple[int, list]] = []
        for start in range(0, len(traffic), batch):
            groups: dict[int, list] = {}
            for account, message in traffic[start:start + batch]:
                groups.setdefault(ids[account], []).append(message)
            batches.extend(groups.items())
        t = time.perf_counter()
        for n, (account_id, group) in enumerate(batches):
            store.ingest(account_id, group, f"into-{n}")
        elapsed = time.perf_counter() - t
        store.close()
        return len(traffic) / elapsed

    r = interleave(lambda: run(db), lambda: run(fresh), pairs)
    return {"ingest_into_workspace_messages_per_second": round(r["median"]),
            "ingest_into_fresh_messages_per_second": round(r["floor"]), "ingest_into_ratio": r["ratio"],
            "ingest_into_sample_messages": len(traffic)}
