"""Counts kept by difference and the id list's front spliced in place agree with reading everything again."""

from __future__ import annotations

from array import array

import pytest

from agentconsole.domain.models import InboundMessage, Kind, Person, Status
from agentconsole.session.counts import ViewCounts
from agentconsole.session.listing import splice_front

pytestmark = pytest.mark.both_backends


def ingest(store, account, n, clock, kind=Kind.PUBLIC):
    store.ingest(account, [InboundMessage(f"m{n}", f"t{n}", kind, Person(f"u{n}", f"@u{n}", f"User {n}"),
                                          f"message {n}", clock.now() - 60 * n)])
    return store.conn.execute("SELECT id FROM conversations WHERE thread_key = ?", (f"t{n}",)).fetchone()[0]


def test_counts_by_difference_match_a_full_count(store, clock):
    account = store.ensure_account("shop-x", "x", "demo")
    agent = store.ensure_agent("Alice Ng")
    ids = [ingest(store, account, n, clock, Kind.DM if n % 3 == 0 else Kind.PUBLIC) for n in range(1, 8)]
    counts = ViewCounts(store, agent)
    assert counts.recount() == store.view_counts(agent)
    store.set_status(ids[0], Status.DONE, agent)
    store.set_assignee(ids[1], agent, agent, expected=None)
    new = ingest(store, account, 20, clock)
    assert counts.changed([ids[0], ids[1], new]) == store.view_counts(agent)
    assert counts.changed([ids[0], new]) == store.view_counts(agent)  # told twice: nothing moves twice
    assert counts.changed([9999]) == store.view_counts(agent)  # never there: nothing moves


def test_a_first_change_counts_everything(store, clock):
    account = store.ensure_account("shop-x", "x", "demo")
    ingest(store, account, 1, clock)
    assert ViewCounts(store, None).changed([1]) == store.view_counts(None)


def q(*ids: int) -> array:
    return array("q", ids)


@pytest.mark.parametrize("old, front, replaced, changed, in_view, expected", [
    # A new conversation comes first: the old front's last row moves down one place, nothing is lost.
    (q(1, 2, 3, 4, 5), q(9, 1, 2), 3, {9}, {9}, q(9, 1, 2, 3, 4, 5)),
    # A row from far down moves into the front: it is taken out of the rest.
    (q(1, 2, 3, 4, 5), q(5, 1, 2), 3, {5}, {5}, q(5, 1, 2, 3, 4)),
    # A row of the front leaves the view (done while in Waiting): it goes.
    (q(1, 2, 3, 4, 5), q(2, 3, 4), 3, {1}, set(), q(2, 3, 4, 5)),
    # A row of the front moves further down than the front reaches: it stays just below it.
    (q(1, 2, 3, 4, 5), q(2, 3, 4), 3, {1}, {1}, q(2, 3, 4, 1, 5)),
    # A changed row beyond the front keeps its place; a new one beyond it comes last.
    (q(1, 2, 3, 4, 5), q(1, 2, 3), 3, {5, 8}, {5, 8}, q(1, 2, 3, 4, 5, 8)),
    # A changed row beyond the front that left the view goes.
    (q(1, 2, 3, 4, 5), q(1, 2, 3), 3, {4}, set(), q(1, 2, 3, 5)),
])
def test_splicing_the_front(old, front, replaced, changed, in_view, expected):
    assert splice_front(old, front, replaced, changed, in_view) == expected


def test_a_match_across_two_ids_is_not_an_id():
    # Little-endian, 0x100 then 0 is 00 01 00 00 00 00 00 00 00 ...: the bytes of id 1 appear one byte in.
    assert splice_front(q(0x100, 0), q(), 0, {1}, set()) == q(0x100, 0)


@pytest.mark.parametrize("view", ["all", "waiting", "public", "done"])
def test_a_refreshed_list_is_the_list_read_again(store, clock, view):
    from agentconsole.config import Config
    from agentconsole.response.rule import Order
    from agentconsole.session.session import Session

    account = store.ensure_account("shop-x", "x", "demo")
    mail = store.ensure_account("shop-mail", "email", "demo")
    session = Session(store, clock=clock, config=Config(), agent_id=store.ensure_agent("Alice Ng"))
    ids = [ingest(store, account if n % 2 else mail, n, clock, Kind.PUBLIC if n % 2 else Kind.EMAIL)
           for n in range(1, 40)]
    for cid in ids[::5]:
        store.set_status(cid, Status.DONE, None)
    shown = session.conversation_ids(view, Order.URGENCY)
    # Customers write: a new conversation, one done reopened by a new message, one answered elsewhere.
    new = ingest(store, account, 200, clock)
    store.ingest(account, [InboundMessage("again", "t1", Kind.PUBLIC, Person("u1", "@u1", "User 1"), "hello?",
                                          clock.now() - 5)])
    store.set_status(ids[7], Status.DONE, None)
    changed = [new, ids[0], ids[7]]
    full = list(session.conversation_ids(view, Order.URGENCY))
    for front in (0, 3, 10):
        again = session.refreshed_list(view, Order.URGENCY, None, shown, front, changed)
        assert list(again) == full, front
    for limit in range(1, 25):  # the front read from each account's and kind's head of the waiting index
        assert list(session.conversation_ids(view, Order.URGENCY, limit)) == full[:limit]


# ---------------------------------------------------------------------------- what waits, kept in memory

def _workspace(store, clock):
    from agentconsole.config import Config
    from agentconsole.session.session import Session

    x = store.ensure_account("shop-x", "x", "demo")
    mail = store.ensure_account("shop-mail", "email", "demo")
    agent = store.ensure_agent("Alice Ng")
    session = Session(store, clock=clock, config=Config(), agent_id=agent)
    ids = [ingest(store, x if n % 3 else mail, n, clock, Kind.EMAIL if n % 3 == 0 else
                  (Kind.DM if n % 4 == 0 else Kind.PUBLIC)) for n in range(1, 60)]
    return session, x, agent, ids


def _heat(store, cid, heat):
    store.conn.execute("UPDATE conversation_triage SET heat = ? WHERE conversation_id = ?", (heat, cid))
    if not store.conn.execute("SELECT 1 FROM conversation_triage WHERE conversation_id = ?", (cid,)).fetchone():
        since = store.conn.execute("SELECT waiting_since FROM conversations WHERE id = ?", (cid,)).fetchone()[0]
        store.conn.execute("INSERT INTO conversation_triage(conversation_id, heat, peak, episode_messages,"
                           " episode_since) VALUES (?, ?, ?, 1, ?)", (cid, heat, heat, since))
    store.conn.commit()


def _agrees(session, store, clock):
    """The wait line, the most urgent and every view's front from memory match reading the store."""
    from agentconsole.domain.views import VIEWS
    from agentconsole.response import waits
    from agentconsole.response.rule import Order

    rule = session.response_rule()
    for order in Order:
        assert session.wait_summary(order) == waits.summarize(store, rule, clock.now(), order), order
        for view in VIEWS:
            full = list(session.conversation_ids(view.key, order))
            for limit in (1, 5, 30, 200):
                front, _ = session.view_front(view.key, order, limit, None, ())
                assert list(front) == full[:limit], (view.key, order, limit)
                assert list(session.first_ids(view.key, order, limit)) == full[:limit], (view.key, order, limit)
    top = session.conversation_ids("waiting", Order.URGENCY, 1)
    assert session.most_urgent() == (top[0] if top else None)


def test_what_waits_is_kept_by_difference_and_agrees_with_the_store(store, clock):
    session, x, agent, ids = _workspace(store, clock)
    _agrees(session, store, clock)  # the first read: everything that waits
    # Changes the session is told of: done, assigned, heated, answered, a new wait.
    store.set_status(ids[0], Status.DONE, agent)
    store.set_assignee(ids[1], agent, agent, expected=None)
    store.set_assignee(ids[4], agent, agent, expected=None)
    _heat(store, ids[2], 0.9)
    _heat(store, ids[3], 0.5)
    store.ingest(x, [InboundMessage("ours", "t2", Kind.PUBLIC, Person("shop", "@shop", "Shop"), "on it",
                                    clock.now() - 1, direction="out")])
    new = ingest(store, x, 300, clock)
    session.note_changed([ids[0], ids[1], ids[2], ids[3], ids[4], new, ids[5]])
    _agrees(session, store, clock)
    clock.advance(5 * 3600)  # time passes: ranks change with no new message
    _agrees(session, store, clock)
    # A set read whole at once holds what this one reached wait by wait, in the same order.
    from agentconsole.config import Config
    from agentconsole.session.session import Session

    fresh = Session(store, clock=clock, config=Config(), agent_id=agent)
    _agrees(fresh, store, clock)
    assert _runs(fresh) == _runs(session)


def _runs(session):
    return {key: (list(run.since), list(run.ids)) for key, run in session._waiting._runs.items() if run.ids}


def test_a_change_the_session_was_not_told_of_shows_after_a_full_count(store, clock):
    session, _x, agent, ids = _workspace(store, clock)
    _agrees(session, store, clock)
    store.set_status(ids[6], Status.DONE, agent)  # another process, and no change log entry
    session.view_counts()  # the full reload's count re-reads what waits too
    _agrees(session, store, clock)


def test_engine_events_are_noted_before_any_listener_reads(store, clock):
    from agentconsole.config import Config
    from agentconsole.response.rule import Order
    from agentconsole.session.session import Session
    from agentconsole.sync.states import EngineEvent, EventKind

    class Engine:
        on_change = None

    x = store.ensure_account("shop-x", "x", "demo")
    first = ingest(store, x, 1, clock)
    session = Session(store, clock=clock, config=Config(), engine=Engine())  # type: ignore[arg-type]
    assert session.wait_summary(Order.URGENCY).waiting == 1
    seen = []
    session.subscribe(lambda event: seen.append(session.wait_summary(Order.URGENCY).waiting))
    new = ingest(store, x, 2, clock)
    session.engine.on_change(EngineEvent(EventKind.INGESTED, x, (new,)))
    assert seen == [2]
    store.set_status(first, Status.DONE, None)
    session.engine.on_change(EngineEvent(EventKind.SENT, x, (first,)))
    assert seen == [2, 1]


# ---------------------------------------------------------------------------- the verbs' change events

def test_each_verb_says_which_conversations_changed_and_whether_order_or_counts_moved(store, clock):
    from agentconsole.domain.models import Status as S
    from agentconsole.sync.states import EventKind

    session, _x, agent, ids = _workspace(store, clock)
    events = []
    session.subscribe(events.append)

    def last():
        event = events[-1]
        assert event.kind == EventKind.CHANGED
        return set(event.conversation_ids), event.order, event.counts

    session.toggle_done(ids[0], S.OPEN)
    assert last() == ({ids[0]}, True, True)
    session.toggle_done(ids[0], S.DONE)
    assert last() == ({ids[0]}, True, True)
    session.assign(ids[1], agent, None)
    assert last() == ({ids[1]}, True, True)
    session.add_note(ids[2], "called back")
    assert last() == ({ids[2]}, False, False)
    session.reply(ids[3], "Hi, we're on it.")
    assert last() == ({ids[3]}, False, False)
    if session.correct_heat(ids[4]) is not None:
        assert last() == ({ids[4]}, True, False)
    count = len(events)
    assert session.assign(ids[5], agent, 12345) == (False, None)  # refused: still told, the row may differ
    assert len(events) == count + 1 and last()[0] == {ids[5]}
    # What the session noted is what the next read sees, with no id list or count read in between.
    from agentconsole.response import waits
    from agentconsole.response.rule import Order

    assert session.wait_summary(Order.URGENCY) == waits.summarize(
        store, session.response_rule(), clock.now(), Order.URGENCY)


def test_done_with_an_escalated_dm_names_its_public_post_too(store, clock):
    from agentconsole.domain.models import Status as S

    session, x, agent, ids = _workspace(store, clock)
    public, dm = ids[1], ids[3]
    store.conn.execute("UPDATE conversations SET linked_id = ?, kind = 'dm' WHERE id = ?", (public, dm))
    store.conn.execute("UPDATE conversations SET escalated = 1 WHERE id = ?", (public,))
    store.conn.commit()
    events = []
    session.subscribe(events.append)
    session.toggle_done(dm, S.OPEN)
    assert set(events[-1].conversation_ids) == {dm, public}
    assert store.conversation(public).status == "done"


# ---------------------------------------------------------------------------- placing a row, finding an id

@pytest.mark.parametrize("seed", range(8))
def test_the_galloping_search_finds_the_binary_searchs_place_from_any_hint(seed):
    import bisect
    import random

    from agentconsole.session.listing import _bisect

    rng = random.Random(seed)
    keys = sorted(rng.choice([0.0, 1.0]) * 10 + rng.randrange(50) for _ in range(rng.randrange(0, 120)))
    ids = array("q", range(len(keys)))
    probes = []

    def sort_keys(wanted):
        probes.extend(wanted)
        return {i: (keys[i],) for i in wanted}

    for _ in range(30):
        key = float(rng.randrange(-2, 65))
        hint = rng.randrange(0, len(keys) + 2)
        assert _bisect(ids, (key,), sort_keys, hint) == bisect.bisect_right(keys, key), (key, hint)
    # From a hint at its place, a row is placed with a handful of probes.
    probes.clear()
    if keys:
        at = len(keys) // 2
        _bisect(ids, (keys[at],), sort_keys, bisect.bisect_right(keys, keys[at]))
        assert len(probes) <= 3


def test_find_id_looks_near_first_and_then_everywhere():
    from agentconsole.session.listing import find_id

    ids = array("q", range(0, 20_000, 2))
    assert find_id(ids, 10_000, near=5_000) == 5_000
    assert find_id(ids, 2, near=9_000) == 1  # far from where it was: found anyway
    assert find_id(ids, 3, near=1) is None
    assert find_id(array("q", [0x100, 0]), 1) is None
