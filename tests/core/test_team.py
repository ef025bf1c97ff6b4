"""A team on one workspace: presence, compare-and-set claims, the collision guard, leases and the
change feed, with two consoles' stores on one workspace and one injected clock, on SQLite (one
database file) and on PostgreSQL (one server database)."""

from __future__ import annotations

import asyncio
import json

import pytest

from agentconsole.domain.models import Capabilities, Direction, InboundMessage, Kind, Person
from agentconsole.replies.outbox import Outbox
from agentconsole.shifts.service import Shifts
from agentconsole.storage.store import Store
from agentconsole.sync.engine import Engine
from agentconsole.team import collision, leases, presence
from agentconsole.team.changes import ChangeFeed, prune
from agentconsole.team.collision import Collided, What
from agentconsole.team.presence import Activity, Presence

from tests.core import pg_team
from tests.core.fakes import ScriptedConnector

DANA = Person("u1", "dana_k", "Dana Kim")
SAM = Person("u2", "sam_o", "Sam Ortiz")


class Team:
    """Alice's and Bob's consoles: two stores on one workspace, one clock."""

    def __init__(self, path, clock):
        self.clock = clock
        self.a = Store(path, clock)
        self.b = Store(path, clock)
        self.alice = self.a.ensure_agent("Alice Ng", "AN")
        self.bob = self.a.ensure_agent("Bob Li", "BL")
        self.x = self.a.ensure_account("shop-x", "x", "scripted", handle="shop")
        self.dana = self.inbound(DANA, "where is my parcel", "t1")
        self.sam = self.inbound(SAM, "open on sunday?", "t2")

    def inbound(self, person, text, thread):
        msg = InboundMessage(f"{thread}-{text}", thread, Kind.PUBLIC, person, text, self.clock.now())
        return self.a.ingest(self.x, [msg], set_cursor=False).conversation_ids[0]

    def close(self):
        self.a.close()
        self.b.close()




@pytest.fixture(params=["sqlite", "postgresql"])
def location(request, tmp_path):
    """Where the workspace is: an SQLite file, or a fresh database on the PostgreSQL test server."""
    if request.param == "sqlite":
        yield tmp_path / "team.db"
        return
    with pg_team.database() as name:
        yield pg_team.url(name)


@pytest.fixture
def team(location, clock):
    t = Team(location, clock)
    yield t
    t.close()


def _look(feed):
    """The feed's news once another console committed (PostgreSQL's notification takes a moment)."""
    return feed.wait(5.0)


# ---------------------------------------------------------------- presence

def test_presence_shows_others_never_oneself_and_expires_on_its_own(team, clock):
    bob = Presence(team.b, "bob-console", team.bob)
    alice = Presence(team.a, "alice-console", team.alice)
    alice.beat(team.dana, Activity.VIEWING)
    bob.beat(team.dana, Activity.COMPOSING)
    seen_by_alice = alice.others()
    assert [(p.name, p.activity) for p in seen_by_alice[team.dana]] == [("Bob Li", Activity.COMPOSING)]
    assert seen_by_alice[team.dana][0].describe() == "Bob is replying"
    assert seen_by_alice[team.dana][0].initials == "BL"
    assert [p.name for p in bob.others()[team.dana]] == ["Alice Ng"]
    # Alice on a second console is still Alice: never shown to herself.
    Presence(team.b, "alice-laptop", team.alice).beat(team.sam, Activity.COMPOSING)
    assert team.sam not in alice.others()
    # Bob's console dies: no leave(), no more beats; after the TTL he is gone for everyone.
    clock.advance(presence.TTL_SECONDS - 0.5)
    alice.beat(team.dana)
    assert team.dana in alice.others()
    clock.advance(1.0)
    assert team.dana not in alice.others()
    assert presence.sweep(team.a) == 2  # Bob's and the laptop's rows; Alice's own is still fresh


def test_presence_since_stays_while_beating_and_moves_when_the_activity_changes(team, clock):
    bob = Presence(team.b, "bob-console", team.bob)
    bob.beat(team.dana, Activity.COMPOSING)
    started = clock.now()
    clock.advance(2)
    bob.beat(team.dana, Activity.COMPOSING)
    assert presence.others(team.a, team.alice)[team.dana][0].since == started
    bob.beat(team.sam)
    assert presence.others(team.a, team.alice)[team.sam][0].since == clock.now()
    bob.leave()
    assert presence.others(team.a, team.alice) == {}


# ---------------------------------------------------------------- compare-and-set assignment

def test_assignment_is_compare_and_set_and_audited(team):
    done, now = team.a.set_assignee(team.dana, team.alice, team.alice, expected=None)
    assert (done, now) == (True, team.alice)
    # Bob saw it unassigned a moment ago: his claim fails and names the one who has it.
    done, now = team.b.set_assignee(team.dana, team.bob, team.bob, expected=None)
    assert (done, now) == (False, team.alice)
    assert team.b.conversation(team.dana).assignee_name == "Alice Ng"
    # Knowing it is Alice's, he takes it over on purpose.
    assert team.b.set_assignee(team.dana, team.bob, team.bob, expected=team.alice) == (True, team.bob)
    assert team.a.set_assignee(team.dana, None, team.bob, expected=team.bob) == (True, None)
    actions = [(r[0], r[1], json.loads(r[2])) for r in team.a.conn.execute(
        "SELECT agent_id, action, detail FROM audit WHERE conversation_id = ? AND action IN"
        " ('assigned', 'took_over', 'unassigned') ORDER BY id", (team.dana,))]
    assert actions == [(team.alice, "assigned", {"to": team.alice, "from": None}),
                       (team.bob, "took_over", {"to": team.bob, "from": team.alice}),
                       (team.bob, "unassigned", {"to": None, "from": team.bob})]


def test_a_shift_end_hands_on_to_the_next_agent_only_once_they_are_on_shift(team):
    shifts = Shifts(team.a, {})
    shifts.start(team.alice, planned_end=None, hello={})
    team.a.assign(team.dana, team.alice, team.alice)
    result = shifts.end(team.alice, goodbye={}, next_agent="Bob Li", assignments="next")
    assert (result.reassigned, result.held) == (1, 1)
    assert team.a.conversation(team.dana).assignee_id is None  # Bob is off shift: nobody gets it yet
    started = Shifts(team.b, {}).start(team.bob, planned_end=None, hello={}, acknowledge=[result.shift.id])
    assert started.handed_on == 1
    assert team.a.conversation(team.dana).assignee_name == "Bob Li"


def test_a_shift_end_hands_on_at_once_to_an_agent_on_shift(team):
    Shifts(team.b, {}).start(team.bob, planned_end=None, hello={})
    shifts = Shifts(team.a, {})
    shifts.start(team.alice, planned_end=None, hello={})
    team.a.assign(team.dana, team.alice, team.alice)
    result = shifts.end(team.alice, goodbye={}, next_agent="Bob Li", assignments="next")
    assert (result.reassigned, result.held) == (1, 0)
    assert team.a.conversation(team.dana).assignee_name == "Bob Li"


# ---------------------------------------------------------------- the collision guard

def test_the_guard_is_clear_when_nobody_else_is_there(team, clock):
    opened = clock.now()
    clock.advance(5)
    item = collision.reply(team.a, team.dana, "On its way!", agent_id=team.alice, opened_at=opened)
    assert Outbox(team.a).item(item).state == "pending"


def test_another_agents_queued_answer_stops_the_send(team, clock):
    opened = clock.now()
    collision.reply(team.b, team.dana, "Bob here: it ships today", agent_id=team.bob, opened_at=opened)
    clock.advance(20)
    with pytest.raises(Collided) as caught:
        collision.reply(team.a, team.dana, "Alice here", agent_id=team.alice, opened_at=opened)
    (c,) = caught.value.collisions
    assert (c.what, c.who) == (What.QUEUED, "Bob Li")
    assert c.describe(clock.now()) == "Bob Li's reply is on its way (queued 20 s ago): Bob here: it ships today"
    assert len(Outbox(team.a).pending(team.dana)) == 1  # Alice's answer was not queued


async def test_an_answer_sent_after_the_composer_opened_stops_the_send(team, clock):
    opened = clock.now()
    connector = ScriptedConnector(clock)
    collision.reply(team.b, team.dana, "Bob here: it ships today", agent_id=team.bob, opened_at=opened)
    clock.advance(5)
    await Engine(team.b, {team.x: connector}, clock=clock).dispatch_once()
    clock.advance(15)
    (c,) = collision.check(team.a, team.dana, agent_id=team.alice, opened_at=opened)
    assert (c.what, c.who) == (What.ANSWERED, "Bob Li")
    assert c.describe(clock.now()) == "Bob Li replied 15 s ago: Bob here: it ships today"
    # Opened after Bob's answer reached the thread: Alice saw it; nothing stops her.
    assert collision.check(team.a, team.dana, agent_id=team.alice, opened_at=clock.now()) == ()


def test_an_answer_from_the_platforms_own_app_stops_the_send(team, clock):
    opened = clock.now()
    clock.advance(30)
    us = Person("shop", "shop", "Shop")
    team.b.ingest(team.x, [InboundMessage("app-1", "t1", Kind.PUBLIC, us, "answered from my phone",
                                          clock.now() - 10, Direction.OUT)], set_cursor=False)
    (c,) = collision.check(team.a, team.dana, agent_id=team.alice, opened_at=opened)
    assert c.what == What.ANSWERED and c.who == ""
    assert c.describe(clock.now()) == "Someone on the platform's own app replied 10 s ago: answered from my phone"


def test_another_agent_composing_stops_the_send_until_they_stop(team, clock):
    opened = clock.now()
    Presence(team.b, "bob-console", team.bob).beat(team.dana, Activity.COMPOSING)
    clock.advance(3)
    with pytest.raises(Collided) as caught:
        collision.reply(team.a, team.dana, "Alice here", agent_id=team.alice, opened_at=opened)
    assert caught.value.collisions[0].describe(clock.now()) == "Bob Li is writing a reply right now (started 3 s ago)"
    # Merely viewing is no collision; nor is a composer on another conversation.
    Presence(team.b, "bob-console", team.bob).beat(team.dana, Activity.VIEWING)
    assert collision.check(team.a, team.dana, agent_id=team.alice, opened_at=opened) == ()


def test_send_anyway_goes_out_and_is_audited(team, clock):
    opened = clock.now()
    collision.reply(team.b, team.dana, "Bob here", agent_id=team.bob, opened_at=opened)
    item = collision.reply(team.a, team.dana, "Alice here too", agent_id=team.alice, opened_at=opened,
                           send_anyway=True)
    assert Outbox(team.a).item(item).state == "pending"
    agent, detail = team.a.conn.execute("SELECT agent_id, detail FROM audit WHERE action = 'sent_anyway'").fetchone()
    assert agent == team.alice
    assert json.loads(detail)["over"][0]["who"] == "Bob Li"


async def test_ones_own_answer_on_its_way_stops_a_second_but_a_sent_one_seen_before_does_not(team, clock):
    opened = clock.now()
    collision.reply(team.a, team.dana, "first part", agent_id=team.alice, opened_at=opened)
    clock.advance(2)
    (c,) = collision.check(team.a, team.dana, agent_id=team.alice, opened_at=opened)
    assert c.mine and c.describe(clock.now()) == "Your reply is on its way (queued 2 s ago): first part"
    await Engine(team.a, {team.x: ScriptedConnector(clock)}, clock=clock).dispatch_once()
    clock.advance(1)
    assert collision.check(team.a, team.dana, agent_id=team.alice, opened_at=clock.now()) == ()


def test_escalation_checks_the_guard_too(team, clock):
    from agentconsole.replies import escalation

    caps = Capabilities(direct_message=True)
    opened = clock.now()
    collision.reply(team.b, team.dana, "Bob here", agent_id=team.bob, opened_at=opened)
    with pytest.raises(Collided):
        escalation.escalate(team.a, team.dana, dm_text="Hi Dana", public_text="DM sent", agent_id=team.alice,
                            capabilities=caps, opened_at=opened)
    assert team.a.conn.execute("SELECT count(*) FROM escalations").fetchone()[0] == 0
    plan = escalation.crisis(team.a, [team.dana, team.sam], status_text="We know", agent_id=team.alice,
                             dm_texts={team.dana: "Hi Dana", team.sam: "Hi Sam"}, capabilities={team.x: caps},
                             opened_at=opened)
    assert [cid for cid, _ in plan.skipped] == [team.dana]
    assert "Bob Li's reply is on its way" in plan.skipped[0][1]
    assert [e.public_conversation_id for e in plan.escalations] == [team.sam]


# ---------------------------------------------------------------- one engine per account

async def test_only_the_lease_holder_polls_and_sends(team, clock):
    conn_a, conn_b = ScriptedConnector(clock), ScriptedConnector(clock)
    engine_a = Engine(team.a, {team.x: conn_a}, clock=clock, leases=leases.Leases(team.a, "h:1:a", "Alice's console"))
    engine_b = Engine(team.b, {team.x: conn_b}, clock=clock, leases=leases.Leases(team.b, "h:1:b", "Bob's console"))
    assert engine_a.take_leases() == {}
    elsewhere = engine_b.take_leases()
    assert elsewhere[team.x].label == "Alice's console"
    Outbox(team.a).enqueue_reply(team.dana, "hello", agent_id=team.alice)
    assert await engine_b.dispatch_once() == 0  # Bob's engine holds nothing: it sends nothing
    assert await engine_a.dispatch_once() == 1
    assert len(conn_a.sent) == 1 and conn_b.sent == []
    # Alice's console stops renewing: after the lease runs out Bob's engine takes over.
    clock.advance(leases.TTL_SECONDS + 1)
    assert engine_b.take_leases() == {}
    assert leases.holder(team.a, leases.account_lease(team.x)).owner == "h:1:b"


async def test_a_running_engine_stands_by_and_says_who_syncs(team, clock):
    conn_a, conn_b = ScriptedConnector(clock), ScriptedConnector(clock)
    engine_a = Engine(team.a, {team.x: conn_a}, clock=clock, leases=leases.Leases(team.a, "h:1:a", "Alice's console"))
    engine_b = Engine(team.b, {team.x: conn_b}, clock=clock, leases=leases.Leases(team.b, "h:1:b", "Bob's console"))
    task_a = asyncio.create_task(engine_a.run())
    await _until(lambda: conn_a.fetches >= 1)
    task_b = asyncio.create_task(engine_b.run())
    await _until(lambda: engine_b.states()[team.x].status == "standby")
    try:
        assert conn_a.fetches >= 1 and conn_b.fetches == 0
        state = engine_b.states()[team.x]
        assert (state.status, state.message) == ("standby", "Alice's console")
    finally:
        for task in (task_a, task_b):
            task.cancel()
        await asyncio.gather(task_a, task_b, return_exceptions=True)
    assert leases.holder(team.a, leases.account_lease(team.x)) is None  # released on the way out


def test_a_dead_processes_lease_is_taken_at_once(team):
    import socket

    dead = f"{socket.gethostname()}:999999999:x"
    leases.Leases(team.a, dead).acquire("account:1")
    assert leases.Leases(team.b, "h:2:b").acquire("account:1").owner == "h:2:b"


# ---------------------------------------------------------------- the change feed

def test_the_feed_sees_another_stores_commits_and_names_what_changed(team, clock):
    feed = ChangeFeed(team.a.path, clock)
    try:
        assert feed.poll() is None  # nothing committed since it opened: no table read
        team.b.add_note(team.dana, team.bob, "called her")
        changes = _look(feed)
        assert changes.conversation_ids == {team.dana} and changes.what == {"note"}
        team.b.assign(team.sam, team.bob, team.bob)
        Presence(team.b, "bob-console", team.bob).beat(team.dana, Activity.COMPOSING)
        seen: dict[str, set[int]] = {"order": set(), "presence": set()}
        while not (seen["order"] and seen["presence"]):  # on PostgreSQL the two commits may wake it twice
            changes = _look(feed)
            for kind in seen:
                seen[kind] |= changes.ids(kind)
        assert seen == {"order": {team.sam}, "presence": {team.dana}}
        assert feed.poll() is None
        # A reader that fell further behind than the log keeps reloads everything instead.
        for i in range(5):
            team.b.add_note(team.sam, team.bob, f"note {i}")
        with team.b.transaction() as conn:
            prune(conn, keep=2)
        assert _look(feed).everything
    finally:
        feed.close()


async def test_one_demo_simulator_per_demo_workspace(location, clock):
    """Two consoles open the demo workspace: only the lease holder's demo connectors simulate traffic."""
    import connectors
    from agentconsole.cli import ensure_demo_accounts

    first, second = Store(location, clock), Store(location, clock)
    try:
        ensure_demo_accounts(first)
        fetched: dict[str, int] = {"first": 0, "second": 0}

        def counted(store, who):
            built = {}
            for account in store.accounts():
                connector = connectors.build(account, clock)
                fetch = connector.fetch

                async def counting(cursor, fetch=fetch):
                    fetched[who] += 1
                    return await fetch(cursor)

                connector.fetch = counting
                built[account.id] = connector
            return built

        engines = [Engine(store, counted(store, who), clock=clock, leases=leases.Leases(store, f"h:1:{who}", who))
                   for store, who in ((first, "first"), (second, "second"))]
        tasks = [asyncio.create_task(engines[0].run())]
        await _until(lambda: fetched["first"] >= len(first.accounts()))
        tasks.append(asyncio.create_task(engines[1].run()))
        await _until(lambda: {s.status for s in engines[1].states().values()} == {"standby"})
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        assert fetched["first"] >= len(first.accounts()) and fetched["second"] == 0
        assert {s.status for s in engines[1].states().values()} == {"standby"}
    finally:
        # A cancelled engine's ingest may still run in its worker thread: closing its connection under
        # it crashes SQLite (a segfault on a busy machine), so the workers finish first.
        await asyncio.get_running_loop().shutdown_default_executor()
        first.close()
        second.close()


async def _until(condition, seconds: float = 5.0) -> None:
    """Wait for *condition* however busy the machine is (the assertions that follow say what failed)."""
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
