"""The sync engine and the outbox: batches with cursors, error states, and never sending twice."""

from __future__ import annotations

import asyncio

import pytest

from agentconsole.sync.engine import Engine, backoff_delay
from agentconsole.domain.errors import AuthError, PermanentError, RateLimited, TemporaryError
from agentconsole.domain.models import Capabilities, Direction, InboundMessage, Kind, Person
from agentconsole.replies.outbox import Outbox

from tests.core.fakes import ScriptedConnector

DANA = Person("u1", "dana_k", "Dana Kim")


def page(start, n, at):
    return [InboundMessage(f"m{i}", f"t{i % 3}", Kind.PUBLIC, DANA, f"message {i}", at + i)
            for i in range(start, start + n)]


@pytest.fixture
def account(store):
    return store.ensure_account("shop-m", "mastodon", "scripted", handle="shop")


async def test_sync_once_follows_pages_and_commits_cursor(store, account, clock):
    conn = ScriptedConnector(clock, [page(0, 5, clock.now()), page(5, 5, clock.now())])
    engine = Engine(store, {account: conn}, clock=clock)
    assert await engine.sync_once(account) == 10
    assert store.cursor(account) == "2"
    assert await engine.sync_once(account) == 0


async def test_one_failing_connector_does_not_stop_the_others(store, account, clock):
    other = store.ensure_account("shop-x", "x", "scripted")
    bad = ScriptedConnector(clock, fail_fetch=[AuthError("token revoked")] * 50)
    good = ScriptedConnector(clock, [page(0, 3, clock.now())])
    events = []
    engine = Engine(store, {account: bad, other: good}, clock=clock, on_change=events.append)
    task = asyncio.create_task(engine.run())
    for _ in range(200):
        await asyncio.sleep(0.01)
        if engine.states()[other].status == "ok" and engine.states()[account].status == "auth":
            break
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    states = engine.states()
    assert states[account].status == "auth" and "token revoked" in states[account].message
    assert states[other].status == "ok"
    assert store.conn.execute("SELECT count(*) FROM messages").fetchone()[0] == 3
    assert any(e.kind == "ingested" and e.account_id == other for e in events)


@pytest.mark.parametrize("error, status", [(RateLimited("slow down", 30), "retrying"),
                                           (TemporaryError("timeout"), "retrying"),
                                           (PermanentError("gone"), "error")])
async def test_errors_show_as_states_with_retry_time(store, account, clock, error, status):
    conn = ScriptedConnector(clock, fail_fetch=[error])
    engine = Engine(store, {account: conn}, clock=clock)
    task = asyncio.create_task(engine.run())
    for _ in range(300):  # until the first fetch has failed, however busy the machine is
        await asyncio.sleep(0.01)
        if engine.states()[account].status not in ("starting", "syncing"):
            break
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    state = engine.states()[account]
    assert state.status == status and state.retry_at is not None
    if isinstance(error, RateLimited):
        assert state.retry_at == clock.now() + 30


def test_backoff_grows_with_jitter_and_is_capped():
    import random
    rng = random.Random(1)
    delays = [backoff_delay(n, rng) for n in range(1, 12)]
    assert 1 <= delays[0] <= 3 and delays[3] > delays[0]
    assert max(delays) <= 300 * 1.5


def _conversation(store, account, clock):
    store.ingest(account, [InboundMessage("m1", "t1", Kind.PUBLIC, DANA, "help", clock.now() - 60)])
    return store.conversation_ids()[0]


async def test_reply_is_persisted_then_sent_then_stored_in_thread(store, account, clock):
    cid = _conversation(store, account, clock)
    agent = store.ensure_agent("Alice Ng")
    outbox = Outbox(store)
    item = outbox.enqueue_reply(cid, "On it, Dana!", agent_id=agent, resolve=True)
    assert [p.state for p in outbox.pending(cid)] == ["pending"]
    conn = ScriptedConnector(clock)
    engine = Engine(store, {account: conn}, clock=clock)
    assert await engine.dispatch_once() == 1
    assert conn.sent[0].in_reply_to == "m1" and conn.sent[0].recipient.handle == "dana_k"
    assert outbox.pending(cid) == [] and outbox.item(item).state == "sent"
    conv = store.conversation(cid)
    assert not conv.needs_reply and conv.status == "done" and conv.first_response_at == clock.now()
    out = [m for m in store.messages(cid) if m.direction == Direction.OUT]
    assert out[0].text == "On it, Dana!" and out[0].agent_id == agent and out[0].source == "personal"
    assert await engine.dispatch_once() == 0  # nothing is sent twice


async def test_temporary_send_failure_retries_later_permanent_fails(store, account, clock):
    cid = _conversation(store, account, clock)
    outbox = Outbox(store)
    a = outbox.enqueue_reply(cid, "one", agent_id=None)
    b = outbox.enqueue_reply(cid, "two", agent_id=None)
    conn = ScriptedConnector(clock, fail_send=[TemporaryError("503"), PermanentError("post deleted")])
    engine = Engine(store, {account: conn}, clock=clock)
    assert await engine.dispatch_once() == 0
    assert outbox.item(a).state == "pending" and outbox.item(b).state == "failed"
    assert await engine.dispatch_once() == 0  # not due yet
    clock.advance(400)
    assert await engine.dispatch_once() == 1
    assert outbox.item(a).state == "sent" and "post deleted" in outbox.item(b).last_error


async def _interrupted_item(store, account, clock):
    """An item claimed by a process that died mid-send (its owner pid no longer exists)."""
    cid = _conversation(store, account, clock)
    outbox = Outbox(store)
    item = outbox.enqueue_reply(cid, "sorry about that", agent_id=None)
    outbox.claim_due()
    store.conn.execute("UPDATE outbox SET owner = 'nohost-gone:999999999' WHERE id = ?", (item,))
    clock.advance(700)  # past the claim lease
    return outbox, item


async def test_interrupted_send_with_idempotent_platform_is_resent_with_same_key(store, account, clock):
    outbox, item = await _interrupted_item(store, account, clock)
    conn = ScriptedConnector(clock)
    engine = Engine(store, {account: conn}, clock=clock)
    await engine.reconcile()
    await engine.dispatch_once()
    assert outbox.item(item).state == "sent"
    assert conn.sent[0].idempotency_key == outbox.item(item).request.idempotency_key


async def test_interrupted_send_found_on_platform_is_not_resent(store, account, clock):
    outbox, item = await _interrupted_item(store, account, clock)
    conn = ScriptedConnector(clock, capabilities=Capabilities(can_find_sent=True))
    key = outbox.item(item).request.idempotency_key
    from agentconsole.domain.models import SendResult
    conn.delivered[key] = SendResult("already-there", clock.now(), "t1")
    engine = Engine(store, {account: conn}, clock=clock)
    await engine.reconcile()
    await engine.dispatch_once()
    assert conn.sent == [] and outbox.item(item).state == "sent"


async def test_interrupted_send_on_platform_that_cannot_tell_asks_the_agent(store, account, clock):
    outbox, item = await _interrupted_item(store, account, clock)
    conn = ScriptedConnector(clock, capabilities=Capabilities())
    engine = Engine(store, {account: conn}, clock=clock)
    await engine.reconcile()
    await engine.dispatch_once()
    assert conn.sent == [] and outbox.item(item).state == "unsure"
    outbox.decide(item, "resend", agent_id=None)
    await engine.dispatch_once()
    assert len(conn.sent) == 1 and outbox.item(item).state == "sent"


async def test_ambiguous_send_error_is_not_blindly_retried(store, account, clock):
    cid = _conversation(store, account, clock)
    outbox = Outbox(store)
    item = outbox.enqueue_reply(cid, "x", agent_id=None)
    conn = ScriptedConnector(clock, capabilities=Capabilities(), fail_send=[ConnectionResetError("reset")])
    engine = Engine(store, {account: conn}, clock=clock)
    await engine.dispatch_once()
    assert outbox.item(item).state == "unsure" and len(conn.sent) == 1


async def test_live_claim_of_another_process_is_left_alone(store, account, clock):
    cid = _conversation(store, account, clock)
    outbox = Outbox(store)
    outbox.enqueue_reply(cid, "x", agent_id=None)
    outbox.claim_due()  # claimed by this (live) process
    assert outbox.interrupted() == []


async def test_idempotent_resend_only_while_the_platform_remembers_the_key(store, account, clock):
    outbox, item = await _interrupted_item(store, account, clock)
    clock.advance(3600)  # the item is now older than the platform's key window
    conn = ScriptedConnector(clock, capabilities=Capabilities(idempotent_send=True, idempotency_window=3600))
    engine = Engine(store, {account: conn}, clock=clock)
    await engine.reconcile()
    await engine.dispatch_once()
    assert conn.sent == [] and outbox.item(item).state == "unsure"


async def test_lookup_comes_before_idempotent_resend(store, account, clock):
    outbox, item = await _interrupted_item(store, account, clock)
    conn = ScriptedConnector(clock, capabilities=Capabilities(idempotent_send=True, can_find_sent=True))
    from agentconsole.domain.models import SendResult
    conn.delivered[outbox.item(item).request.idempotency_key] = SendResult("there", clock.now(), "t1")
    engine = Engine(store, {account: conn}, clock=clock)
    await engine.reconcile()
    assert conn.sent == [] and outbox.item(item).state == "sent"


async def test_push_from_a_connector_wakes_the_poll_early(store, account, clock):
    pushed = asyncio.Event()  # set by the test once the platform has something new

    class Pushing(ScriptedConnector):
        poll_interval = 3600.0  # without the push, the second page would wait an hour

        async def watch(self, wake):
            await pushed.wait()
            wake()
            await asyncio.sleep(3600)

    def stored() -> int:
        return store.conn.execute("SELECT count(*) FROM messages").fetchone()[0]

    conn = Pushing(clock, [page(0, 2, clock.now())])
    engine = Engine(store, {account: conn}, clock=clock)
    task = asyncio.create_task(engine.run())
    try:
        for _ in range(3000):  # the first poll stored (waiting for the state, never for a time)
            await asyncio.sleep(0.01)
            if stored() == 2:
                break
        conn.pages.append(page(2, 3, clock.now()))
        pushed.set()
        for _ in range(3000):  # the push wakes the poll long before its hour
            await asyncio.sleep(0.01)
            if stored() == 5:
                break
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert conn.fetches >= 2
    assert stored() == 5
