"""The response rule: one judgement per row that the list order, the over-count and the crossings share."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentconsole.domain.clock import FrozenClock
from agentconsole.domain.models import Channel, InboundMessage, Kind, Person
from agentconsole.domain.rows import ConversationRow
from agentconsole.response import waits
from agentconsole.response.hours import BusinessHours, HoursConfig
from agentconsole.response.rule import ANSWERED_MARK, ResponseRule, Wait, WaitState, counted, state_for
from agentconsole.response.sla import Targets
from agentconsole.storage.store import Store

NOW = datetime(2026, 11, 23, 10, 30, tzinfo=ZoneInfo("Europe/Berlin")).timestamp()  # a Monday
MINUTE = 60
CHANNELS = (Channel.X, Channel.MASTODON, Channel.EMAIL)
KINDS = {Channel.X: (Kind.PUBLIC, Kind.DM), Channel.MASTODON: (Kind.PUBLIC, Kind.DM),
         Channel.EMAIL: (Kind.EMAIL,)}


def row(**changes: object) -> ConversationRow:
    base: dict[str, object] = dict(
        id=1, account_id=1, account_name="x", channel="x", kind="public", subject="", status="open",
        needs_reply=True, waiting_since=NOW - 50 * MINUTE, last_message_at=NOW, last_preview="",
        last_direction="in", message_count=1, contact_id=None, contact_name="", handle="", assignee_id=None,
        assignee_name="", linked_id=None, escalated=False, first_customer_at=None, first_response_at=None,
        resolved_at=None, is_demo=False)
    base.update(changes)
    return ConversationRow(**base)  # type: ignore[arg-type]


def test_states_marks_and_urgency():
    assert [state_for(w, 3600) for w in (0, 2699, 2700, 3599, 3600)] == [
        WaitState.WITHIN, WaitState.WITHIN, WaitState.NEAR, WaitState.NEAR, WaitState.OVER]
    assert [s.mark for s in WaitState] == [" ", "!", "▲"]
    assert Wait(1800, 3600, WaitState.WITHIN).urgency == 0.5
    assert Wait(7200, 3600, WaitState.OVER).urgency == 2.0  # twice the target
    assert Wait(30, 0, WaitState.OVER).urgency == float("inf")


def test_a_row_is_judged_by_its_own_account():
    rule = ResponseRule(Targets(by_account={"vip": {"public": 40 * MINUTE}}))
    assert rule.wait_of(row(), NOW) == Wait(50 * MINUTE, 3600, WaitState.NEAR)
    assert rule.wait_of(row(account_id=2, account_name="vip"), NOW).state == WaitState.OVER
    assert rule.wait_of(row(needs_reply=False), NOW) is None
    drawn = rule.row_wait(row(), NOW)
    assert (drawn.mark, drawn.text, drawn.state) == ("!", "50m", WaitState.NEAR)
    assert rule.row_wait(row(needs_reply=False), NOW).mark == ANSWERED_MARK
    done = rule.row_wait(row(status="done"), NOW)
    assert (done.text, done.state, done.done) == ("done", None, True)


def test_business_hours_count_only_open_time():
    office = BusinessHours(timezone="Europe/Berlin")
    rule = ResponseRule(hours=HoursConfig(by_account={"x": office}))
    friday_4pm = datetime(2026, 11, 20, 16, tzinfo=ZoneInfo("Europe/Berlin")).timestamp()
    wait = rule.wait_of(row(waiting_since=friday_4pm), NOW)
    assert wait.waited == counted(friday_4pm, NOW, office) == 2.5 * 3600  # Fri 16-17, Mon 9-10:30
    assert wait.state == WaitState.OVER


# ------------------------------------------------------------------------------ one rule, every view

hours_st = st.one_of(st.none(), st.builds(
    lambda days, start, length: BusinessHours(days=frozenset(days), open=time(start),
                                              close=time((start + length) % 24), timezone="Europe/Berlin"),
    st.sets(st.integers(0, 6), min_size=1), st.integers(0, 16), st.integers(1, 8)))
account_st = st.tuples(st.sampled_from(CHANNELS), hours_st,
                       st.fixed_dictionaries({}, optional={"public": st.integers(1, 600),
                                                           "dm": st.integers(1, 600),
                                                           "email": st.integers(1, 3000)}))
conversation_st = st.tuples(st.integers(0, 3), st.integers(0, 1), st.integers(0, 7 * 24 * 60),
                            st.booleans())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(accounts=st.lists(account_st, min_size=1, max_size=4),
       conversations=st.lists(conversation_st, min_size=1, max_size=25),
       step=st.integers(1, 48 * 60))
def test_list_order_over_count_states_and_crossings_agree(tmp_path_factory, accounts, conversations, step):
    """For any targets and hours: the list's order is the rows sorted by the rule's wait, the wait
    line's over-count is the rows the rule calls over, and the crossings are the rows that turned over."""
    store = Store(tmp_path_factory.mktemp("rule") / "t.db", FrozenClock(NOW))
    try:
        by_account: dict[str, dict[str, float]] = {}
        hours_by: dict[str, BusinessHours] = {}
        ids = []
        for n, (channel, hours, minutes) in enumerate(accounts):
            name = f"a{n}"
            ids.append((store.ensure_account(name, channel, "demo"), channel))
            by_account[name] = {kind: m * MINUTE for kind, m in minutes.items()}
            if hours is not None:
                hours_by[name] = hours
        for n, (which, kind_index, minutes_ago, answered) in enumerate(conversations):
            account_id, channel = ids[which % len(ids)]
            kinds = KINDS[channel]
            kind = kinds[kind_index % len(kinds)]
            at = NOW - minutes_ago * MINUTE - n  # distinct whole seconds: exact float arithmetic
            who = Person(f"p{n}", f"@p{n}", f"P{n}")
            store.ingest(account_id, [InboundMessage(f"m{n}", f"t{n}", kind, who, "hello", at)])
            if answered:
                store.conn.execute("UPDATE conversations SET needs_reply = 0 WHERE thread_key = ?", (f"t{n}",))
        rule = ResponseRule(Targets(by_account=by_account), HoursConfig(by_account=hours_by), store.accounts())
        rows = store.conversations_by_ids(store.conversation_ids("all")).values()
        judged = {r.id: rule.wait_of(r, NOW) for r in rows}
        waiting = {i: w for i, w in judged.items() if w is not None}
        for r in rows:  # the list's cheap per-row path draws the same state and mark
            drawn, wait = rule.row_wait(r, NOW), judged[r.id]
            assert drawn.state == (None if wait is None else wait.state)
            assert drawn.mark == (ANSWERED_MARK if wait is None else wait.mark)

        order = list(store.conversation_ids("waiting", waiting_key=rule.order_key(NOW)))
        since = {r.id: r.waiting_since for r in rows}
        assert order == sorted(waiting, key=lambda i: (-waiting[i].waited, since[i], i))

        summary = waits.summarize(store, rule, NOW)
        assert summary.waiting == len(waiting)
        assert summary.over == sum(w.state == WaitState.OVER for w in waiting.values())
        if waiting:
            # the wait line ticks the oldest wait as its account counts it
            assert summary.oldest_since is not None
            assert counted(summary.oldest_since, NOW, summary.oldest_hours) == max(w.waited for w in waiting.values())

        later = NOW + step * MINUTE
        turned = {r.id for r in rows if r.id in waiting and waiting[r.id].state != WaitState.OVER
                  and rule.wait_of(r, later).state == WaitState.OVER}
        assert set(waits.crossed(store, rule, NOW, later, limit=100)) == turned
        if summary.next_change is not None:
            assert summary.next_change > NOW
            assert waits.summarize(store, rule, summary.next_change).over > summary.over
    finally:
        store.close()
