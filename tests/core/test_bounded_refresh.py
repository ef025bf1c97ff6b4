"""A targeted refresh finds the rows it moves through their sort keys: a follow-up on an old answered
conversation far down the list is placed without a search of the whole list."""

from __future__ import annotations

import pytest

from agentconsole.config import Config
from agentconsole.domain.models import InboundMessage, Kind, Person, Status
from agentconsole.response.rule import Order
from agentconsole.session import idlist, listing
from agentconsole.session.session import Session

pytestmark = pytest.mark.both_backends

N = 2_500  # far more rows than the window searched around each guess (512 either side)


def _workspace(store, clock):
    account = store.ensure_account("shop-x", "x", "demo")
    session = Session(store, clock=clock, config=Config(), agent_id=store.ensure_agent("Alice Ng"))
    store.ingest(account, [InboundMessage(f"m{n}", f"t{n}", Kind.PUBLIC, Person(f"u{n}", f"@u{n}", f"User {n}"),
                                          f"message {n}", clock.now() - 3600 - 60 * n) for n in range(1, N + 1)])
    ids = dict(store.conn.execute("SELECT thread_key, id FROM conversations"))
    for n in range(1, N + 1, 2):  # half answered (done), the rest waiting
        store.set_status(ids[f"t{n}"], Status.DONE, None)
    return session, account, ids


def _counting(monkeypatch):
    """Counts the block-by-block searches and the rows probed for their keys."""
    seen = {"blocks": 0, "probes": 0}
    find, bisect = idlist._find, listing._bisect

    def found(raw, needle):
        seen["blocks"] += 1
        return find(raw, needle)

    def probed(ids, key, sort_keys, hint=0):
        def counted(wanted):
            seen["probes"] += len(wanted)
            return sort_keys(wanted)
        return bisect(ids, key, counted, hint)

    monkeypatch.setattr(idlist, "_find", found)
    monkeypatch.setattr(listing, "_bisect", probed)
    return seen


def test_a_follow_up_on_an_old_answered_conversation_is_found_by_its_key(store, clock, monkeypatch):
    session, account, ids = _workspace(store, clock)
    shown = session.conversation_ids("all", Order.URGENCY)
    old = ids[f"t{N - 1}"]  # answered, near the end of the list
    assert shown.find(old) > len(shown) - 10
    store.ingest(account, [InboundMessage("again", f"t{N - 1}", Kind.PUBLIC, Person(f"u{N - 1}", "@u", "U"),
                                          "still waiting", clock.now() - 5)])
    seen = _counting(monkeypatch)
    again = session.refreshed_list("all", Order.URGENCY, None, shown, 30, [old])
    assert seen["blocks"] == 0  # no block was searched: the row was found where its earlier key put it
    assert seen["probes"] < 200  # a few searches of about 2 log2(N) rows each, not a pass over N
    assert list(again) == list(session.conversation_ids("all", Order.URGENCY))


def test_rows_entering_the_front_and_a_reassigned_row_are_found_without_a_scan(store, clock, monkeypatch):
    session, account, ids = _workspace(store, clock)
    agent = session.agent_id
    shown = session.conversation_ids("all", Order.URGENCY)
    before = list(shown)
    first = shown[0]
    store.set_status(first, Status.DONE, agent)  # leaves the front: the row below it comes up
    middle = shown[len(shown) // 3]
    store.set_assignee(middle, agent, agent, expected=None)  # far below the front, its key unchanged
    seen = _counting(monkeypatch)
    again = session.refreshed_list("all", Order.URGENCY, None, shown, 30, [first, middle])
    assert seen["blocks"] == 0
    assert list(again) == list(session.conversation_ids("all", Order.URGENCY))
    assert list(shown) == before  # the list on screen is left as it was


@pytest.mark.sqlite_only
def test_the_rows_probed_for_their_keys_are_read_from_memory(store, clock):
    session, account, ids = _workspace(store, clock)
    shown = session.conversation_ids("all", Order.URGENCY)
    session.view_counts()  # as the console does at start: every conversation read once
    old = ids[f"t{N - 1}"]
    store.ingest(account, [InboundMessage("again", f"t{N - 1}", Kind.PUBLIC, Person(f"u{N - 1}", "@u", "U"),
                                          "still waiting", clock.now() - 5)])
    store.set_status(ids[f"t{N - 3}"], Status.OPEN, None)  # reopened: its last activity is as it was
    statements: list[str] = []
    store.conn.set_trace_callback(statements.append)
    again = session.refreshed_list("all", Order.URGENCY, None, shown, 30, [old, ids[f"t{N - 3}"]])
    store.conn.set_trace_callback(None)
    # The changed rows' own reads (where they are now, where they were), never one read per row probed.
    per_row = [s for s in statements if "last_message_at FROM conversations WHERE id IN" in s]
    assert len(per_row) <= 3, per_row
    assert list(again) == list(session.conversation_ids("all", Order.URGENCY))
