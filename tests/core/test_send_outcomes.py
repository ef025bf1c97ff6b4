"""Send outcomes as types: not sent is retried, an unknown outcome is judged (lookup, key window, agent) at
every retry, phases survive a crash, and one hung account never holds up another."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from agentconsole.channels import phases
from agentconsole.domain.errors import NotSent, OutcomeUnknown, TemporaryError
from agentconsole.domain.models import Capabilities, InboundMessage, Kind, Person, SendResult
from agentconsole.replies.outbox import Outbox, describe_state
from agentconsole.storage import db
from agentconsole.storage.store import Store
from agentconsole.sync.engine import Engine

from tests.core.fakes import ScriptedConnector

DANA = Person("u1", "dana_k", "Dana Kim")
PLAIN = Capabilities()  # no idempotency key, no lookup: like X, Facebook, Bluesky
WINDOW = Capabilities(idempotent_send=True, idempotency_window=3600)


@pytest.fixture
def account(store):
    return store.ensure_account("shop", "mastodon", "scripted", handle="shop")


def queue(store, account, clock, text="sorry about that"):
    store.ingest(account, [InboundMessage(f"m-{text}", f"t-{text}", Kind.PUBLIC, DANA, "help", clock.now() - 60)])
    cid = store.conn.execute("SELECT id FROM conversations WHERE thread_key = ?", (f"t-{text}",)).fetchone()[0]
    return Outbox(store), Outbox(store).enqueue_reply(cid, text, agent_id=None)


async def test_not_sent_is_retried_but_a_bare_temporary_error_is_not_trusted(store, account, clock):
    outbox, item = queue(store, account, clock)
    conn = ScriptedConnector(clock, capabilities=PLAIN, fail_send=[NotSent("connection refused")])
    engine = Engine(store, {account: conn}, clock=clock)
    await engine.dispatch_once()
    assert outbox.item(item).state == "pending" and "connection refused" in outbox.item(item).last_error
    clock.advance(10)
    assert await engine.dispatch_once() == 1 and len(conn.sent) == 2

    _, other = queue(store, account, clock, "second")
    conn.fail_send = [TemporaryError("timed out")]  # from send(), only NotSent vouches nothing left
    await engine.dispatch_once()
    assert outbox.item(other).state == "unsure" and len(conn.sent) == 3
    assert "may have been sent" in outbox.item(other).last_error


async def test_the_key_window_is_checked_again_at_every_retry(store, account, clock):
    outbox, item = queue(store, account, clock)
    conn = ScriptedConnector(clock, capabilities=WINDOW, fail_send=[OutcomeUnknown("no answer")])
    engine = Engine(store, {account: conn}, clock=clock)
    await engine.dispatch_once()
    row = outbox.item(item)
    assert row.state == "pending" and row.phase == "unknown" and "same idempotency key" in row.last_error
    clock.advance(3700)  # a closed laptop: the retry comes after the platform forgot the key
    await engine.dispatch_once()
    row = outbox.item(item)
    assert len(conn.sent) == 1 and row.state == "unsure" and "forgets the idempotency key" in row.last_error


async def test_a_resend_inside_the_window_keeps_the_doubt_until_it_succeeds(store, account, clock):
    outbox, item = queue(store, account, clock)
    conn = ScriptedConnector(clock, capabilities=WINDOW,
                             fail_send=[OutcomeUnknown("no answer"), NotSent("refused")])
    engine = Engine(store, {account: conn}, clock=clock)
    await engine.dispatch_once()
    clock.advance(10)
    await engine.dispatch_once()  # the resend never left: the first attempt is still in doubt
    assert outbox.item(item).phase == "unknown"
    clock.advance(3700)
    await engine.dispatch_once()
    assert outbox.item(item).state == "unsure" and len(conn.sent) == 2


@pytest.mark.parametrize("authoritative, state, sends", [(True, "sent", 2), (False, "unsure", 1)])
async def test_not_found_allows_a_resend_only_when_the_lookup_is_authoritative(
        store, account, clock, authoritative, state, sends):
    outbox, item = queue(store, account, clock)
    caps = Capabilities(can_find_sent=True, find_sent_authoritative=authoritative)
    conn = ScriptedConnector(clock, capabilities=caps, fail_send=[OutcomeUnknown("dropped after the body")])
    engine = Engine(store, {account: conn}, clock=clock)
    await engine.dispatch_once()
    clock.advance(400)
    await engine.dispatch_once()
    assert outbox.item(item).state == state and len(conn.sent) == sends


async def test_the_lookup_sees_the_time_of_the_first_attempt(store, account, clock):
    outbox, item = queue(store, account, clock)
    first = clock.now()
    conn = ScriptedConnector(clock, capabilities=Capabilities(can_find_sent=True, find_sent_authoritative=True),
                             fail_send=[OutcomeUnknown("x"), OutcomeUnknown("y")])
    asked = []
    found = conn.find_sent

    async def spy(request):
        asked.append(request.extra["first_attempt_at"])
        return await found(request)

    conn.find_sent = spy
    engine = Engine(store, {account: conn}, clock=clock)
    for _ in range(3):
        await engine.dispatch_once()
        clock.advance(400)
    assert asked and all(first - 120 < at <= first for at in asked)


class Phased(ScriptedConnector):
    """Reports phases like the email connector; `stop_at` makes it 'crash' (raise) at a boundary."""

    def __init__(self, clock, stop_at=""):
        super().__init__(clock, capabilities=Capabilities(reports_send_phases=True, can_find_sent=True))
        self.stop_at = stop_at
        self.completed = []

    async def send(self, request):
        if self.stop_at == "before":
            raise asyncio.CancelledError  # killed before anything left
        await phases.transmitting()
        if self.stop_at == "transmitting":
            raise asyncio.CancelledError
        result = SendResult(f"id-{request.idempotency_key[:6]}", self.clock.now(), request.thread_key)
        self.sent.append(request)
        await phases.accepted(result)
        if self.stop_at == "accepted":
            raise asyncio.CancelledError
        return result

    async def find_sent(self, request):
        return None  # like Postfix: nothing is filed by the server

    async def complete_send(self, request, result):
        self.completed.append(result.external_id)


@pytest.mark.parametrize("stop_at, phase, state", [("before", "", "sent"), ("transmitting", "transmitting", "unsure"),
                                                   ("accepted", "accepted", "sent")])
async def test_after_a_crash_each_phase_leads_to_exactly_one_delivery_or_a_question(
        store, account, clock, stop_at, phase, state):
    outbox, item = queue(store, account, clock)
    dying = Phased(clock, stop_at)
    with pytest.raises(asyncio.CancelledError):
        await Engine(store, {account: dying}, clock=clock).dispatch_once()
    assert outbox.item(item).phase == phase
    store.conn.execute("UPDATE outbox SET owner = 'nohost-gone:999999999', updated_at = 0 WHERE id = ?", (item,))
    restarted = Phased(clock)
    engine = Engine(store, {account: restarted}, clock=clock)
    await engine.reconcile()
    await engine.dispatch_once()
    assert outbox.item(item).state == state
    assert len(dying.sent) + len(restarted.sent) == (0 if state == "unsure" else 1)
    assert restarted.completed == (["id-" + outbox.item(item).request.idempotency_key[:6]]
                                   if stop_at == "accepted" else [])
    assert outbox.item(item).phase == ("" if state == "sent" else phase)


async def test_a_hung_account_never_holds_up_another_and_shows_how_long(store, account, clock):
    other = store.ensure_account("mail", "email", "scripted")
    store.ingest(other, [InboundMessage("e1", "e1", Kind.EMAIL, DANA, "hi", clock.now() - 60)])
    outbox, stuck = queue(store, account, clock)
    fine = outbox.enqueue_reply(_conv(store, other), "ok", agent_id=None)
    release = asyncio.Event()

    class Hung(ScriptedConnector):
        async def send(self, request):
            await release.wait()
            return await super().send(request)

    good = ScriptedConnector(clock)
    engine = Engine(store, {account: Hung(clock), other: good}, clock=clock)
    task = asyncio.create_task(engine.run())
    for _ in range(250):  # each lane starts on its own: wait for both, the hung one may start second
        await asyncio.sleep(0.02)
        if outbox.item(fine).state == "sent" and outbox.item(stuck).state == "sending":
            break
    assert outbox.item(fine).state == "sent" and outbox.item(stuck).state == "sending"
    clock.advance(125)
    assert describe_state(outbox.item(stuck), clock.now()) == "sending for 2m 05s"
    release.set()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def _conv(store, account_id):
    return store.conn.execute("SELECT id FROM conversations WHERE account_id = ?", (account_id,)).fetchone()[0]


def test_an_older_database_migrates_and_its_in_flight_sends_are_in_doubt(tmp_path, clock):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    before = next(i for i, m in enumerate(db.MIGRATIONS) if "ADD COLUMN phase" in m)
    for script in db.MIGRATIONS[:before]:
        conn.executescript(script)
    conn.execute(f"PRAGMA user_version = {before}")
    conn.execute("INSERT INTO accounts(name, channel, connector, created_at) VALUES ('a', 'email', 'email', 0)")
    conn.execute("INSERT INTO outbox(idempotency_key, account_id, action, request, text, state, created_at,"
                 " updated_at) VALUES ('k', 1, 'reply', '{}', 'x', 'sending', 0, 0)")
    conn.commit()
    conn.close()
    store = Store(path, clock)
    assert store.conn.execute("SELECT phase FROM outbox").fetchone()[0] == "unknown"
    store.close()
