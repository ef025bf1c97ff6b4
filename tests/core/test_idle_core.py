"""What the core does while nothing happens: the change signal looks twice a second, and the
engine prunes the change log once a minute, not after every lease renewal."""

from __future__ import annotations

import asyncio

from agentconsole.storage.store import Store
from agentconsole.storage.team_listen import SqliteSignal
from agentconsole.sync.engine import PRUNE_SECONDS, Engine
from agentconsole.team import leases

from tests.core.fakes import ScriptedConnector


def counted_signal(tmp_path, clock) -> tuple[SqliteSignal, list[int]]:
    """A change signal on a fresh workspace, and a list that grows by one at each of its looks."""
    Store(tmp_path / "w.db", clock).close()
    signal = SqliteSignal(tmp_path / "w.db")
    looks: list[int] = []
    now = signal._now

    def counted() -> int:
        looks.append(1)
        return now()

    signal._now = counted  # type: ignore[method-assign]
    return signal, looks


def test_the_change_signal_looks_twice_a_second_while_nothing_commits(tmp_path, clock):
    signal, looks = counted_signal(tmp_path, clock)
    try:
        assert signal.wait(1.0) is None
    finally:
        signal.close()
    assert 2 <= len(looks) <= 4, looks  # each look wakes a thread: it was 21 a second, then 5


def test_a_nudge_ends_the_change_signals_wait_at_once(tmp_path, clock):
    """The watcher writes this console's new place at once instead of after the half-second look."""
    import threading

    signal, looks = counted_signal(tmp_path, clock)
    try:
        threading.Timer(0.05, signal.nudge).start()
        assert signal.wait(30.0) is None
        assert len(looks) == 1, looks  # it ended on the nudge, not after 60 looks
        assert not signal._nudged.is_set()  # used once: the next wait waits again
    finally:
        signal.close()


async def test_the_engine_prunes_the_change_log_once_a_minute_however_often_it_renews(tmp_path, clock,
                                                                                      monkeypatch):
    monkeypatch.setattr(leases, "RENEW_SECONDS", 0.01)  # a renewal every 10 ms instead of every 5 s
    store = Store(tmp_path / "w.db", clock)
    account = store.ensure_account("shop-x", "x", "scripted")
    engine = Engine(store, {account: ScriptedConnector(clock)}, clock=clock,
                    leases=leases.Leases(store, "h:1:a", "Alice's console"))
    pruned: list[float] = []
    renewals = 0
    acquire = engine.leases.acquire

    def renewed(name: str) -> leases.Holder:
        nonlocal renewals
        renewals += 1
        return acquire(name)

    engine.leases.acquire = renewed  # type: ignore[method-assign]
    engine._prune_changes = lambda: pruned.append(clock.now())  # type: ignore[method-assign]
    task = asyncio.create_task(engine.run())
    try:
        for _ in range(500):
            if renewals >= 20:
                break
            await asyncio.sleep(0.01)
        assert renewals >= 20 and len(pruned) == 1, (renewals, pruned)
        clock.advance(PRUNE_SECONDS)
        for _ in range(500):
            if len(pruned) == 2:
                break
            await asyncio.sleep(0.01)
        seen = renewals
        while renewals < seen + 10:
            await asyncio.sleep(0.01)
        assert len(pruned) == 2, pruned
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await asyncio.get_running_loop().shutdown_default_executor()
        store.close()
