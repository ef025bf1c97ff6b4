"""The outbound contract, run for every registered plug-in through the real engine and outbox: an accepted
send comes back with the platform's id, a send refused before its body left is resent safely, and every
send whose outcome is unknown ends in exactly one delivery or one decision put to the agent, never two
(deliveries are counted on the platform, see conftest.py)."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from agentconsole.domain.models import OutboundRequest
from agentconsole.replies.outbox import CLAIM_LEASE_SECONDS, Outbox
from agentconsole.storage.store import Store
from agentconsole.sync import sending
from agentconsole.sync.engine import Engine
from tests.connectors.contract.conftest import Harness, applicable

UNKNOWN = ("timeout", "drop", "lost", "slow")
SEND_DEADLINE = 4.0  # the engine's deadline for one send in these tests (120 s in the product)


class Crash(BaseException):
    """The process dies here: not an error any code may catch and carry on from."""


class Sending:
    """A workspace over one database file whose account is the harness's, sending through real engines."""

    def __init__(self, harness: Harness, path: Path) -> None:
        self.harness = harness
        self.path = path
        self.connectors: list = []
        self.open()
        row = harness.account()
        self.account = self.store.ensure_account(row.name, row.channel, row.connector, handle=row.handle,
                                                 display_name=row.display_name, settings=row.settings,
                                                 is_demo=row.is_demo)

    def open(self) -> None:
        self.store = Store(self.path, self.harness.clock)
        self.outbox = Outbox(self.store)

    def engine(self) -> Engine:
        connector = self.harness.sender()
        self.connectors.append(connector)
        return Engine(self.store, {self.account: connector}, clock=self.harness.clock)

    def queue(self) -> tuple[int, OutboundRequest]:
        request = self.harness.send_request(f"Your parcel left today, ref {uuid.uuid4().hex[:8]}")
        return self.outbox.enqueue(self.account, request, conversation_id=None, agent_id=None), request

    def restart(self) -> None:
        """A new process over the same database: the old store and outbox are gone."""
        self.store.close()
        self.open()

    async def settle(self, engine: Engine, item: int, rounds: int = 6) -> str:
        """Dispatch until the item is no longer due, letting each back-off pass on the clock."""
        for _ in range(rounds):
            await engine.dispatch_once()
            state, due = self.store.conn.execute(
                "SELECT state, next_attempt_at FROM outbox WHERE id = ?", (item,)).fetchone()
            if state != "pending":
                return state
            self.harness.clock.advance(max(0.0, due - self.harness.clock.now()) + 1.0)
        raise AssertionError(f"outbox item {item} did not settle: {self.outbox.item(item)}")

    async def close(self) -> None:
        for connector in self.connectors:
            await connector.close()
        self.store.close()


@pytest.fixture
async def sends(harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(sending, "SEND_DEADLINE", SEND_DEADLINE)
    await harness.open_sends()
    made = Sending(harness, tmp_path / "sending.db")
    try:
        yield made
    finally:
        await made.close()


async def one_delivery_or_one_decision(sends: Sending, item: int, request: OutboundRequest) -> tuple[str, int]:
    """The contract's promise for a send that may have arrived; returns (state, deliveries)."""
    row = sends.outbox.item(item)
    delivered = await sends.harness.delivered(request)
    assert len(delivered) <= 1, f"delivered {len(delivered)} times: {delivered}"
    assert row.state in ("sent", "unsure"), f"neither sent nor put to the agent: {row.state} {row.last_error}"
    if row.state == "sent":
        ext = sends.store.conn.execute("SELECT external_id FROM outbox WHERE id = ?", (item,)).fetchone()[0]
        assert delivered == [ext], "marked sent, but not with the one delivery the platform has"
    else:
        assert sends.outbox.needing_decision() == [row] and "resend, mark sent or discard" in row.last_error
    return row.state, len(delivered)


async def test_an_accepted_send_comes_back_with_the_platform_id(sends: Sending) -> None:
    item, request = sends.queue()
    assert await sends.engine().dispatch_once() == 1
    ext = sends.store.conn.execute("SELECT external_id FROM outbox WHERE id = ?", (item,)).fetchone()[0]
    assert sends.outbox.item(item).state == "sent"
    assert await sends.harness.delivered(request) == [ext]
    stored = sends.store.conn.execute("SELECT count(*) FROM messages WHERE external_id = ? AND direction = 'out'",
                                      (ext,)).fetchone()[0]
    assert stored == 1  # our message is in the thread under the platform's id


async def test_a_send_refused_before_its_body_left_is_resent_safely(harness: Harness, sends: Sending) -> None:
    applicable(harness, "send:refused")
    item, request = sends.queue()
    await harness.fault_send("refused")
    engine = sends.engine()
    assert await engine.dispatch_once() == 0
    row = sends.outbox.item(item)
    assert row.state == "pending" and row.phase != "unknown", row.last_error  # provably not sent: no doubt
    assert await harness.delivered(request) == []
    assert await sends.settle(engine, item) == "sent"
    await one_delivery_or_one_decision(sends, item, request)


@pytest.mark.parametrize("fault", UNKNOWN)
async def test_an_unknown_outcome_ends_in_one_delivery_or_one_decision(harness: Harness, sends: Sending,
                                                                       fault: str) -> None:
    applicable(harness, f"send:{fault}")
    item, request = sends.queue()
    await harness.fault_send(fault)
    engine = sends.engine()
    started = time.monotonic()
    await engine.dispatch_once()
    took = time.monotonic() - started
    assert took < SEND_DEADLINE + 2.0, f"a send held the outbox for {took:.1f} s"
    await sends.settle(engine, item)
    state, delivered = await one_delivery_or_one_decision(sends, item, request)
    print(f"{harness.name} {fault}: {state}, {delivered} delivered")
    harness.clock.advance(3600.0)  # later passes never send it again on their own
    await sends.engine().dispatch_once()
    assert len(await harness.delivered(request)) == delivered


@pytest.mark.parametrize("fault", UNKNOWN)
async def test_where_the_lookup_is_authoritative_no_doubt_is_left_to_the_agent(harness: Harness, sends: Sending,
                                                                              fault: str) -> None:
    applicable(harness, "send:authoritative")
    await harness.lookup_authoritative()
    row = harness.account()
    sends.store.ensure_account(row.name, row.channel, row.connector, handle=row.handle, settings=row.settings)
    item, request = sends.queue()
    await harness.fault_send(fault)
    assert await sends.settle(sends.engine(), item) == "sent"  # found; or proven absent and resent once
    state, delivered = await one_delivery_or_one_decision(sends, item, request)
    assert delivered == 1


async def test_a_crash_between_acceptance_and_our_commit_never_sends_twice(harness: Harness,
                                                                          sends: Sending) -> None:
    applicable(harness, "send:crash")
    item, request = sends.queue()
    engine = sends.engine()

    def crash(*args, **kwargs):
        raise Crash("killed after the platform accepted, before mark_sent committed")

    engine.outbox.mark_sent = crash  # type: ignore[method-assign]
    with pytest.raises(Crash):
        await engine.dispatch_once()
    assert len(await harness.delivered(request)) == 1  # the platform has it; we never recorded it
    del engine
    sends.restart()
    harness.clock.advance(CLAIM_LEASE_SECONDS + 1)  # the dead process's claim runs out
    fresh = sends.engine()
    await fresh.reconcile()
    if sends.outbox.item(item).state == "pending":  # judged safe to resend (the same key): do it
        await sends.settle(fresh, item)
    state, delivered = await one_delivery_or_one_decision(sends, item, request)
    assert delivered == 1
    print(f"{harness.name} crash after acceptance: {state}")


async def test_inside_the_key_window_a_resend_creates_nothing_new(harness: Harness, sends: Sending) -> None:
    applicable(harness, "send:window")
    item, request = sends.queue()
    await harness.fault_send("forgetful")  # posted, the answer lost, and the lookup fails for now
    engine = sends.engine()
    await engine.dispatch_once()
    row = sends.outbox.item(item)
    assert row.state == "pending" and "same idempotency key" in row.last_error
    assert len(await harness.delivered(request)) == 1
    assert await sends.settle(engine, item) == "sent"  # resent under the same key, inside the window
    await one_delivery_or_one_decision(sends, item, request)


@pytest.mark.parametrize("lookup", ["works", "fails"])
async def test_after_the_key_window_the_engine_looks_up_instead_of_resending(harness: Harness, sends: Sending,
                                                                             lookup: str) -> None:
    applicable(harness, "send:window")
    item, request = sends.queue()
    await harness.fault_send("forgetful")
    engine = sends.engine()
    await engine.dispatch_once()
    assert sends.outbox.item(item).state == "pending"
    window = engine.connectors[sends.account].capabilities.idempotency_window
    assert window is not None
    harness.clock.advance(window + 60)  # the platform has forgotten the key by the retry
    if lookup == "works":
        harness.lookups_back()
    state = await sends.settle(engine, item)
    assert state == ("sent" if lookup == "works" else "unsure")
    state, delivered = await one_delivery_or_one_decision(sends, item, request)
    assert delivered == 1
    if lookup == "fails":
        assert "forgets the idempotency key" in sends.outbox.item(item).last_error
