"""The X account in the engine: "X credits exhausted" is its own state (not an error), in the banner's
words, and a send is refused with the same words instead of retried."""

from __future__ import annotations

import asyncio

import pytest

from agentconsole.domain.models import OutboundRequest, Person
from agentconsole.replies.outbox import Outbox
from agentconsole.storage.store import Store
from agentconsole.sync.engine import Engine
from screens.inbox.header import connector_status
from tests.connectors.contract.harness_x import XHarness
from tests.connectors.x_fake import DANA, PARENT_ID


@pytest.fixture
async def harness(tmp_path, monkeypatch):
    made = XHarness(tmp_path, monkeypatch)
    await made.start()
    yield made
    await made.stop()


async def test_credits_exhausted_is_a_state_of_its_own(harness, tmp_path) -> None:
    store = Store(tmp_path / "x.db", harness.clock)
    row = harness.account()
    account = store.ensure_account(row.name, row.channel, row.connector, handle=row.handle, settings=row.settings)
    harness.x.credits = False
    connector = harness.build()
    engine = Engine(store, {account: connector}, clock=harness.clock)
    task = asyncio.create_task(engine.run())
    try:
        for _ in range(300):
            await asyncio.sleep(0.01)
            if engine.states()[account].status == "credits":
                break
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    state = engine.states()[account]
    assert state.status == "credits"
    assert connector_status(state, harness.clock.now()).startswith("X credits exhausted: top up")
    outbox = Outbox(store)
    item = outbox.enqueue(account, OutboundRequest("k", "reply", "hello", in_reply_to=PARENT_ID,
                                                   recipient=Person(DANA["id"], "@dana_k")),
                          conversation_id=None, agent_id=None)
    await connector.close()
    connector = harness.build()  # the stopped engine closed the first one
    await Engine(store, {account: connector}, clock=harness.clock).dispatch_once()
    sent = outbox.item(item)
    try:
        assert sent.state == "failed" and "X credits exhausted" in sent.last_error, sent.last_error
        assert harness.x.posts == []
    finally:
        await connector.close()
        store.close()


async def test_the_banner_shows_what_the_account_spent_today(harness, tmp_path) -> None:
    store = Store(tmp_path / "x.db", harness.clock)
    row = harness.account()
    account = store.ensure_account(row.name, row.channel, row.connector, handle=row.handle, settings=row.settings)
    harness.x.add_mentions(2)
    connector = harness.build()
    engine = Engine(store, {account: connector}, clock=harness.clock)
    task = asyncio.create_task(engine.run())
    try:
        for _ in range(300):
            await asyncio.sleep(0.01)
            if engine.states()[account].status == "ok":
                break
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        store.close()
    # two owned post reads and one user read (the author), each once
    assert connector_status(engine.states()[account], harness.clock.now()) == "ok · $0.012 spent today (UTC)"
