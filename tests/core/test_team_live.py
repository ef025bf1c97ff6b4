"""The team across hosts: leases judged by their heartbeat under skewed clocks, the change feed's
wake-up and catch-up, two consoles' watchers seeing each other, and the workspace server going away
and coming back (a TCP proxy the test stops, or pg_terminate_backend on the test's own database)."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from agentconsole.config import Config
from agentconsole.domain.clock import FrozenClock
from agentconsole.domain.models import InboundMessage, Kind, Person
from agentconsole.session.session import Session
from agentconsole.storage.store import Store
from agentconsole.team import leases
from agentconsole.team.changes import ChangeFeed
from agentconsole.team.presence import Activity, Presence

from tests.core import pg_team

T0 = 1_764_000_000.0


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request, tmp_path):
    if request.param == "sqlite":
        yield tmp_path / "live.db"
        return
    with pg_team.database() as name:
        yield pg_team.url(name)


@pytest.fixture
def pg(request):
    """A PostgreSQL test database's name."""
    with pg_team.database() as name:
        yield name


def _seed(store: Store) -> tuple[int, int, int]:
    alice, bob = store.ensure_agent("Alice Ng", "AN"), store.ensure_agent("Bob Li", "BL")
    x = store.ensure_account("shop-x", "x", "scripted", handle="shop")
    msg = InboundMessage("m1", "t1", Kind.PUBLIC, Person("u1", "dana_k", "Dana Kim"), "where is it", T0)
    dana = store.ingest(x, [msg], set_cursor=False).conversation_ids[0]
    return alice, bob, dana


def _until(condition, seconds: float = 20.0) -> None:
    """Wait for *condition* however busy the machine is (the assertion that follows says what failed)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end and not condition():
        time.sleep(0.01)


# ---------------------------------------------------------------- leases across hosts

def test_another_hosts_lease_is_taken_only_once_its_heartbeat_stood_still(location):
    """The taker's clock runs 40 s ahead: by its clock the lease expired long ago, yet the holder
    still beats, so nothing is taken until the beats stop for a whole TTL on the taker's clock."""
    holder_clock, taker_clock = FrozenClock(T0), FrozenClock(T0 + 40)
    here, there = Store(location, holder_clock), Store(location, taker_clock)
    try:
        holder = leases.Leases(here, "laptop-a:4242:aa:11111111", "Alice's console")
        taker = leases.Leases(there, "laptop-b:4242:bb:22222222", "Bob's console")
        assert holder.acquire("account:1").owner == holder.owner
        assert taker.acquire("account:1").owner == holder.owner
        for _ in range(6):  # 30 s of beats every 5 s: never taken, though "expired" by the taker's clock
            holder_clock.advance(leases.RENEW_SECONDS)
            taker_clock.advance(leases.RENEW_SECONDS)
            assert holder.acquire("account:1").owner == holder.owner
            assert taker.acquire("account:1").label == "Alice's console"
        # The same pid on another machine is no proof of anything: laptop-a's 4242 is not ours.
        assert leases.Leases(there, "laptop-a:4242:cc:33333333").acquire("account:1").owner == holder.owner
        taker_clock.advance(leases.TTL_SECONDS - 1)  # Alice's console stops beating
        assert taker.acquire("account:1").owner == holder.owner
        taker_clock.advance(1)
        assert taker.acquire("account:1").owner == taker.owner
        # The old holder finds out on its next beat and stands by.
        holder_clock.advance(leases.RENEW_SECONDS)
        assert holder.acquire("account:1").label == "Bob's console"
        assert there.conn.execute("SELECT count(*) FROM audit WHERE action = 'lease_taken'").fetchone()[0] == 1
    finally:
        here.close()
        there.close()


def test_two_consoles_that_both_see_a_stopped_heartbeat_never_both_take_it(location, clock):
    a, b, c = Store(location, clock), Store(location, clock), Store(location, clock)
    try:
        leases.Leases(a, "gone:1:aa:11111111").acquire("account:7")
        first, second = leases.Leases(b, "h2:2:bb:22222222"), leases.Leases(c, "h3:3:cc:33333333")
        assert first.acquire("account:7").owner == second.acquire("account:7").owner == "gone:1:aa:11111111"
        clock.advance(leases.TTL_SECONDS)
        results: dict[str, str] = {}
        barrier = threading.Barrier(2)

        def take(name: str, lease: leases.Leases) -> None:
            barrier.wait()
            results[name] = lease.acquire("account:7").owner

        threads = [threading.Thread(target=take, args=pair) for pair in (("first", first), ("second", second))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert results["first"] == results["second"] in (first.owner, second.owner)
        assert a.conn.execute("SELECT count(*) FROM audit WHERE action = 'lease_taken'").fetchone()[0] == 1
    finally:
        for s in (a, b, c):
            s.close()


# ---------------------------------------------------------------- the change feed on PostgreSQL

def test_a_change_that_commits_after_a_newer_one_is_still_read(pg, clock):
    """PostgreSQL numbers changes before they commit: seq 2 can be visible while seq 1 is not yet."""
    import psycopg

    store = Store(pg_team.url(pg), clock)
    feed = ChangeFeed(store.path, clock)
    slow = psycopg.connect(pg_team.url(pg), password=pg_team.PASSWORD)
    fast = psycopg.connect(pg_team.url(pg), password=pg_team.PASSWORD, autocommit=True)
    try:
        slow.execute("INSERT INTO changes(conversation_id, what) VALUES (101, 'note')")  # open, uncommitted
        fast.execute("INSERT INTO changes(conversation_id, what) VALUES (102, 'note')")
        assert feed.wait(5.0).conversation_ids == {102}
        slow.commit()
        changes = feed.wait(5.0)
        assert changes is not None and changes.conversation_ids == {101} and not changes.everything
        assert feed.poll() is None
    finally:
        slow.close()
        fast.close()
        feed.close()
        store.close()


def test_a_terminated_listener_reconnects_and_catches_up_without_a_reload(pg, clock):
    store = Store(pg_team.url(pg), clock)
    alice, bob, dana = _seed(store)
    feed = ChangeFeed(store.path, clock)
    try:
        assert pg_team.terminate(pg, "agentconsole listen") == 1
        store.add_note(dana, bob, "while the listener was gone")
        _until(lambda: feed.wait(0.05) is not None or not feed.link.up)
        assert not feed.link.up and "UNREACHABLE" in feed.link.describe(clock.now())
        got: list = []
        _until(lambda: got.append(feed.wait(0.1)) or (feed.link.up and any(got)))
        assert feed.link.up
        changes = [c for c in got if c is not None]
        assert changes and not any(c.everything for c in changes)
        assert {i for c in changes for i in c.ids("note")} == {dana}
    finally:
        feed.close()
        store.close()


# ---------------------------------------------------------------- two consoles' watchers

class Watched:
    """A console's team watcher running in its thread, with what it was told."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.changes: list = []
        self.people: list = []
        self.stop = False
        session.open_change_feed()
        self.thread = threading.Thread(target=session.watch_team, daemon=True,
                                       args=(lambda: self.stop, self.changes.append, self.people.append))
        self.thread.start()

    def ids(self, kind: str) -> set[int]:
        return {i for c in list(self.changes) for i in c.ids(kind)}

    def close(self) -> None:
        self.stop = True
        self.thread.join(30)


def test_two_consoles_see_each_others_notes_and_presence_and_ride_out_a_server_outage(pg, clock):
    """Alice's console reaches the server through a proxy; the proxy goes away for a while."""
    proxy = pg_team.Proxy()
    proxy.start()
    direct = Store(pg_team.url(pg), clock)
    alice, bob, dana = _seed(direct)
    alice_store = Store(pg_team.url(pg, proxy.port), clock)
    watched = Watched(Session(alice_store, clock=clock, config=Config(), agent_id=alice))
    try:
        Presence(direct, "bob-console", bob).beat(dana, Activity.COMPOSING)
        _until(lambda: any(dana in p for p in watched.people))
        assert watched.people[-1][dana][0].describe() == "Bob is replying"
        direct.add_note(dana, bob, "first")
        _until(lambda: dana in watched.ids("note"))
        assert dana in watched.ids("note")

        proxy.stop()  # the server is away for Alice
        _until(lambda: not watched.session.workspace_link.up)
        link = watched.session.workspace_link
        assert not link.up and link.describe(clock.now()).startswith("WORKSPACE SERVER UNREACHABLE")
        told = len(watched.changes)
        direct.add_note(dana, bob, "written while Alice's console could not see the server")
        direct.assign(dana, bob, bob)
        time.sleep(1.0)  # an outage of a while; the watcher keeps trying meanwhile
        assert len(watched.changes) == told and not watched.session.workspace_link.up

        proxy.start()
        _until(lambda: watched.session.workspace_link.up and dana in watched.ids("order"))
        assert watched.session.workspace_link.up
        after = watched.changes[told:]
        assert not any(c.everything for c in after)  # caught up from where it was, not reloaded
        assert {i for c in after for i in c.ids("note")} == {dana}
    finally:
        watched.close()
        alice_store.close()
        direct.close()
        proxy.stop()


async def _after_outage(call, tries: int = 100):
    """*call()* until it goes through: the first calls after an outage may meet connections it broke."""
    for _ in range(tries):
        try:
            return await call()
        except Exception as exc:
            if "connection" not in str(exc).lower() and "server" not in str(exc).lower():
                raise
            await asyncio.sleep(0.1)
    raise AssertionError("the engine never got through after the outage")


def _engine_through(proxy, pg, clock, connector):
    from agentconsole.sync.engine import Engine

    store = Store(pg_team.url(pg, proxy.port), clock)
    account = store.accounts()[0].id
    engine = Engine(store, {account: connector}, clock=clock,
                    leases=leases.Leases(store, "h:1:e:11111111", "Alice's console"))
    assert engine.take_leases() == {}
    return store, account, engine


async def test_an_ingest_during_an_outage_stores_nothing_and_stores_once_when_the_server_is_back(pg, clock):
    from tests.core.fakes import ScriptedConnector

    proxy = pg_team.Proxy()
    proxy.start()
    direct = Store(pg_team.url(pg), clock)
    _seed(direct)
    sam = Person("u2", "sam_o", "Sam Ortiz")
    pages = [[InboundMessage(f"out-{i}", f"t-out-{i}", Kind.PUBLIC, sam, f"hello {i}", T0 + i) for i in range(3)]]
    connector = ScriptedConnector(clock, pages)
    store, account, engine = _engine_through(proxy, pg, clock, connector)
    try:
        assert store.conn.execute("SELECT count(*) FROM messages").fetchone()[0] == 1  # a connection now
        proxy.stop()
        with pytest.raises(Exception) as caught:  # fetched, but the batch cannot be committed: nothing kept
            await engine.sync_once(account)
        assert "connection" in str(caught.value).lower() or "server" in str(caught.value).lower()
        assert direct.conn.execute("SELECT count(*) FROM messages").fetchone()[0] == 1
        proxy.start()
        assert await _after_outage(lambda: engine.sync_once(account)) == 3
        assert await engine.sync_once(account) == 0
        assert direct.conn.execute("SELECT count(*), count(DISTINCT external_id) FROM messages").fetchone() == (4, 4)
    finally:
        await asyncio.get_running_loop().shutdown_default_executor()
        store.close()
        direct.close()
        proxy.stop()


async def test_sends_wait_out_a_server_outage_and_go_once_when_it_is_back(pg, clock):
    """While the server is away nothing is sent (no send without its outbox row committed on the
    server); once back, the queued reply goes out once."""
    from agentconsole.replies.outbox import Outbox

    from tests.core.fakes import ScriptedConnector

    proxy = pg_team.Proxy()
    proxy.start()
    direct = Store(pg_team.url(pg), clock)
    alice, bob, dana = _seed(direct)
    connector = ScriptedConnector(clock)
    store, account, engine = _engine_through(proxy, pg, clock, connector)
    try:
        item = Outbox(direct).enqueue_reply(dana, "on its way", agent_id=alice)
        proxy.stop()
        try:  # the dispatcher tries while the server is away: it cannot claim the item, nothing leaves
            await engine.dispatch_once()
        except Exception as exc:
            assert "connection" in str(exc).lower() or "server" in str(exc).lower(), exc
        assert connector.sent == [] and Outbox(direct).item(item).state == "pending"
        proxy.start()
        assert await _after_outage(engine.dispatch_once) == 1
        assert len(connector.sent) == 1 and Outbox(direct).item(item).state == "sent"
        assert await engine.dispatch_once() == 0 and len(connector.sent) == 1
    finally:
        await asyncio.get_running_loop().shutdown_default_executor()
        store.close()
        direct.close()
        proxy.stop()


@pytest.mark.slow
def test_another_process_sees_every_commit(location):
    """Two processes, as two hosts' consoles: each of 60 notes reaches the other's feed (the probe also
    measures how soon: `python -m tests.core.team_latency LOCATION`)."""
    from tests.core.team_latency import measure

    figures = measure(str(location), 60, gap=0.01)
    assert figures["seen"] == 60, figures


def test_a_host_whose_clock_is_off_the_servers_is_told_so(pg, monkeypatch, caplog):
    """Presence expires by each host's clock: a host 30 s ahead of the server would see it wrongly."""
    import logging

    from agentconsole.storage import team_listen

    real = time.time
    monkeypatch.setattr(team_listen.time, "time", lambda: real() + 30)
    with caplog.at_level(logging.WARNING, logger="agentconsole.storage.team_listen"):
        signal = team_listen.PostgresSignal(pg_team.url(pg), password=pg_team.PASSWORD)
    try:
        assert -31 < signal.clock_skew < -29
        assert "30.0 s ahead of the workspace server's" in caplog.text
    finally:
        signal.close()
    monkeypatch.setattr(team_listen.time, "time", real)
    signal = team_listen.PostgresSignal(pg_team.url(pg), password=pg_team.PASSWORD)
    try:
        assert abs(signal.clock_skew) < 1.0  # one host, one clock
    finally:
        signal.close()
