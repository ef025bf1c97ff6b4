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
