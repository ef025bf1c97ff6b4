"""The refresh benchmark on a small built workspace: its targeted lists agree with full reads, and
--backlog leaves exactly that many customers waiting, so sizes can be compared at one backlog."""

from __future__ import annotations

from benchmarks.build_db import build
from benchmarks.refresh_cost import keep_backlog, measure
from agentconsole.storage.store import Store


def test_the_backlog_is_trimmed_to_the_same_waiting_conversations(tmp_path):
    build(tmp_path / "w.db", 600, 200)
    store = Store(tmp_path / "w.db")
    waiting = "SELECT id FROM conversations WHERE status = 'open' AND needs_reply = 1 ORDER BY id"
    before = [r[0] for r in store.conn.execute(waiting)]
    assert len(before) > 8
    assert keep_backlog(store, 8) == 8
    kept = [r[0] for r in store.conn.execute(waiting)]
    assert set(kept) < set(before)
    assert keep_backlog(store, 8) == 8 and [r[0] for r in store.conn.execute(waiting)] == kept  # the same ones
    store.close()


def test_the_benchmark_runs_and_its_spliced_lists_equal_full_reads(tmp_path):
    build(tmp_path / "w.db", 600, 200)
    result = measure(tmp_path / "w.db", 3, backlog=5)  # measure asserts the lists against full reads
    assert result["waiting_at_start"] == 5 and result["conversations"] == 600
    assert result["cpu_ms"]["ingest_total"] > 0 and result["rows_not_yet_in_place"] >= 0
