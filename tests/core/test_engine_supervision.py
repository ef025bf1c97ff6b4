"""A crashed engine task is restarted with back-off, and every account it serves says so meanwhile."""

from __future__ import annotations

import asyncio

import pytest

from agentconsole.sync import engine as engine_module
from agentconsole.sync.engine import Engine
from tests.core.fakes import ScriptedConnector


@pytest.fixture
def account(store):
    return store.ensure_account("brand-masto", "mastodon", "mastodon")


async def wait_for(predicate, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        assert loop.time() < end, "timed out"
        await asyncio.sleep(0.01)


async def test_a_crashing_outbox_task_is_restarted_and_the_banner_state_says_so(store, account, clock,
                                                                                 monkeypatch):
    monkeypatch.setattr(engine_module, "backoff_delay", lambda failures, rng: 0.3)
    connector = ScriptedConnector(clock)
    engine = Engine(store, {account: connector}, clock=clock)
    calls = []
    real = engine.reconcile

    async def reconcile(*_accounts):
        calls.append(1)
        if len(calls) == 1:
            raise OSError(28, "No space left on device", "/data/agentconsole.db")
        await real()

    engine.reconcile = reconcile
    events = []
    engine.on_change = events.append
    task = asyncio.create_task(engine.run())
    try:
        await wait_for(lambda: engine.states()[account].status == "down")
        state = engine.states()[account]
        assert state.message == ("sending stopped (the disk is full (/data/agentconsole.db); free some "
                                 "space and try again)")
        assert state.retry_at == pytest.approx(clock.now() + 0.3)
        await wait_for(lambda: len(calls) == 2 and engine.states()[account].status != "down")
        assert any(e.kind == "state" and e.account_id == account for e in events)
        assert connector.fetches >= 1  # polling went on meanwhile
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_crashing_poll_task_is_restarted(store, account, clock, monkeypatch):
    monkeypatch.setattr(engine_module, "backoff_delay", lambda failures, rng: 0.2)
    engine = Engine(store, {account: ScriptedConnector(clock)}, clock=clock)
    crashes = []
    real = engine._poll_forever

    async def poll_forever(account_id, connector, wake):
        if not crashes:
            crashes.append(1)
            raise RuntimeError("listener bug")
        await real(account_id, connector, wake)

    engine._poll_forever = poll_forever
    task = asyncio.create_task(engine.run())
    try:
        await wait_for(lambda: engine.states()[account].status == "down")
        assert engine.states()[account].message == "syncing brand-masto stopped (RuntimeError: listener bug)"
        await wait_for(lambda: engine.states()[account].status == "ok")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
