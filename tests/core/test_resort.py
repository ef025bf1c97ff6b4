"""The minute's re-sort: time alone moves a wait past another only when the response rule says so (an
hours boundary, targets that differ, a wait crossing its mark); then the waiting rows are put in order
from memory, and a minute that moved nothing reads nothing."""

from __future__ import annotations

from datetime import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentconsole.config import Config
from agentconsole.domain.models import InboundMessage, Kind, Person
from agentconsole.response.hours import BusinessHours, HoursConfig
from agentconsole.response.rule import Order, ResponseRule
from agentconsole.response.sla import Targets
from agentconsole.session.session import Session

HOUR = 3600.0
UNTIL_FOUR = BusinessHours(days=frozenset(range(7)), open=time(9), close=time(16), timezone="UTC")


def _workspace(store, clock, hours: HoursConfig, targets: Targets | None = None):
    """At 15:00 UTC: an X mention waiting since 10:00 and one since 14:00, an email since 12:00."""
    clock.advance(6 * HOUR)  # T0 is 09:00
    x = store.ensure_account("shop-x", "x", "demo")
    mail = store.ensure_account("shop-mail", "email", "demo")
    config = Config(hours=hours, targets=targets or Targets())
    session = Session(store, clock=clock, config=config, agent_id=store.ensure_agent("Alice Ng"))
    for account, key, kind, ago in ((x, "x10", Kind.PUBLIC, 5), (mail, "mail12", Kind.EMAIL, 3),
                                    (x, "x14", Kind.PUBLIC, 1)):
        store.ingest(account, [InboundMessage(key, key, kind, Person(key, f"@{key}", key), "hello?",
                                              clock.now() - ago * HOUR)])
    ids = dict(store.conn.execute("SELECT thread_key, id FROM conversations"))
    return session, ids


def _reads(store, monkeypatch):
    """Every SQL statement the session runs, and every full read of a view's ids."""
    seen: dict[str, list[str]] = {"sql": [], "ids": []}
    store.conn.set_trace_callback(seen["sql"].append)
    read = store.conversation_ids

    def counted(*args, **kwargs):
        seen["ids"].append(args[0] if args else kwargs.get("view", "all"))
        return read(*args, **kwargs)

    monkeypatch.setattr(store, "conversation_ids", counted)
    return seen


def _about_conversations(sql: list[str]) -> list[str]:
    return [s for s in sql if "conversations" in s or "messages" in s]


@pytest.mark.sqlite_only
def test_the_order_changes_at_an_hours_boundary_without_a_full_read(store, clock, monkeypatch):
    session, ids = _workspace(store, clock, HoursConfig(by_account={"shop-x": UNTIL_FOUR}))
    shown = session.conversation_ids("all", Order.LONGEST)
    at = clock.now()
    assert list(shown[:3]) == [ids["x10"], ids["mail12"], ids["x14"]]  # 5 open hours, 3, 1
    session.wait_summary(Order.LONGEST)  # as the console does at start: the waiting set is read once
    seen = _reads(store, monkeypatch)
    clock.advance(59 * 60)  # 15:59: every account's hours count, so every wait grows alike
    same = session.resorted_list("all", Order.LONGEST, None, shown, at)
    assert same.ids is None and not same.full
    assert seen["ids"] == [] and _about_conversations(seen["sql"]) == []
    clock.advance(2.5 * HOUR + 60)  # 18:30: X closed at 16:00 with 6 hours; the email has 6.5 now
    moved = session.resorted_list("all", Order.LONGEST, None, shown, same.at)
    assert moved.ids is not None and not moved.full
    assert seen["ids"] == [] and _about_conversations(seen["sql"]) == []  # from the waiting set in memory
    assert list(moved.ids[:3]) == [ids["mail12"], ids["x10"], ids["x14"]]
    assert list(shown[:3]) == [ids["x10"], ids["mail12"], ids["x14"]]  # the list on screen is left as it was
    monkeypatch.undo()
    assert list(moved.ids) == list(session.conversation_ids("all", Order.LONGEST))


@pytest.mark.sqlite_only
def test_a_minute_with_no_boundary_reads_nothing(store, clock, monkeypatch):
    # Both accounts keep the same hours: every wait stops and starts together, so none ever passes another.
    session, ids = _workspace(store, clock, HoursConfig(default=UNTIL_FOUR))
    shown = session.conversation_ids("all", Order.LONGEST)
    at = clock.now()
    session.wait_summary(Order.LONGEST)  # as the console does at start: the waiting set is read once
    seen = _reads(store, monkeypatch)
    for _minute in range(5 * 60):  # 15:00 to 20:00, across the close at 16:00
        clock.advance(60)
        done = session.resorted_list("all", Order.LONGEST, None, shown, at)
        assert done.ids is None
        at = done.at
    assert seen["ids"] == [] and _about_conversations(seen["sql"]) == []
    monkeypatch.undo()
    assert list(shown) == list(session.conversation_ids("all", Order.LONGEST))


@pytest.mark.sqlite_only
def test_by_urgency_only_a_wait_crossing_its_mark_re_sorts_when_targets_agree(store, clock):
    # One target for every kind, no hours: shares grow alike, only the near and over marks move a wait.
    same = Targets(by_kind={"public": HOUR, "dm": HOUR, "email": HOUR})
    session, ids = _workspace(store, clock, HoursConfig(), same)
    x = store.ensure_account("shop-x", "x", "demo")
    store.ingest(x, [InboundMessage("dm", "dm", Kind.DM, Person("d", "@d", "D"), "hi", clock.now() - 20 * 60)])
    clock.advance(5 * 60)  # 15:05: the DM has used 25 of its 60 minutes; everything else is over
    shown = session.conversation_ids("all", Order.URGENCY)
    at = clock.now()
    clock.advance(60)
    assert session.resorted_list("all", Order.URGENCY, None, shown, at).ids is None
    clock.advance(24 * 60)  # 15:30: the DM went near its target at 15:25
    moved = session.resorted_list("all", Order.URGENCY, None, shown, at)
    assert moved.ids is not None and not moved.full
    assert list(moved.ids) == list(session.conversation_ids("all", Order.URGENCY))


def test_keeps_order_follows_the_paces_of_the_groups():
    from agentconsole.domain.rows import AccountRow

    accounts = [AccountRow(1, "shop-x", "x", "demo", "@x", "X", {}, False),
                AccountRow(2, "shop-mail", "email", "demo", "a@b", "Mail", {}, False)]
    rule = ResponseRule(Targets(), HoursConfig(by_account={"shop-x": UNTIL_FOUR}), accounts)
    three = 1_764_082_800.0  # 2025-11-25 15:00 UTC
    both = {(1, "public"), (2, "email")}
    assert rule.keeps_order(Order.LONGEST, three, three + 59 * 60, both)  # both count every second
    assert not rule.keeps_order(Order.LONGEST, three, three + 2 * HOUR, both)  # X closes at 16:00
    assert rule.keeps_order(Order.LONGEST, three, three + 2 * HOUR, {(1, "public"), (1, "dm")})
    # By urgency an hour's target and a day's gain on each other at different paces.
    assert not rule.keeps_order(Order.URGENCY, three, three + 60, both)
    assert rule.keeps_order(Order.URGENCY, three, three + 60, {(1, "public"), (1, "dm")})


_HOURS = [None, UNTIL_FOUR, BusinessHours(timezone="Europe/Berlin"),  # Mon–Fri 09–17 Berlin
          BusinessHours(days=frozenset({0, 2, 4}), open=time(8), close=time(12), timezone="America/New_York")]
_TARGETS = [30 * 60.0, HOUR, 24 * HOUR]


@settings(max_examples=300, deadline=None)
@given(accounts=st.lists(st.tuples(st.sampled_from(range(len(_HOURS))), st.sampled_from(_TARGETS),
                                   st.sampled_from(_TARGETS)), min_size=1, max_size=3),
       waits=st.lists(st.tuples(st.integers(0, 2), st.sampled_from(["public", "dm"]), st.integers(0, 7 * 24 * 60),
                                st.sampled_from([0.0, 0.5, 0.8])), min_size=2, max_size=12),
       start=st.integers(0, 7 * 24 * 60), minutes=st.integers(1, 3 * 24 * 60),
       order=st.sampled_from(list(Order)))
def test_when_the_rule_says_the_order_holds_it_holds(accounts, waits, start, minutes, order):
    """For any hours and targets: if keeps_order holds over [t0, t1] and (by urgency) no wait changed
    tier, the waits sort at t1 exactly as at t0."""
    from agentconsole.domain.rows import AccountRow
    from agentconsole.response.rule import urgency_rank

    rows = [AccountRow(i + 1, f"a{i}", "x", "demo", "", "", {}, False) for i in range(len(accounts))]
    hours = HoursConfig(by_account={f"a{i}": _HOURS[h] for i, (h, _p, _d) in enumerate(accounts)
                                    if _HOURS[h] is not None})
    targets = Targets(by_account={f"a{i}": {"public": p, "dm": d} for i, (_h, p, d) in enumerate(accounts)})
    rule = ResponseRule(targets, hours, rows)
    base = 1_764_000_000.0 - 1_764_000_000.0 % 3600  # on the hour
    t0 = base + 7 * 24 * HOUR + start * 60.0
    t1 = t0 + minutes * 60.0
    entries = [(n, base + since * 60.0, 1 + account % len(accounts), kind, heat)
               for n, (account, kind, since, heat) in enumerate(waits)]

    def ranked(now: float) -> list[int]:
        key = rule.order_key(now, order)
        return [n for n, since, a, k, heat in sorted(
            entries, key=lambda e: ((key(e[1], e[2], e[3], e[4]) if key else e[1]), e[1], e[0]))]

    def tier(since: float, account: int, kind: str, now: float) -> int:
        wait = rule.get(account, kind)
        assert wait is not None
        return urgency_rank(wait.waited(since, now) / wait.target)[0]

    groups = {(a, k) for _n, _s, a, k, _h in entries}
    if not rule.keeps_order(order, t0, t1, groups):
        return
    if order is Order.URGENCY and any(tier(s, a, k, t0) != tier(s, a, k, t1) for _n, s, a, k, _h in entries):
        return
    assert ranked(t0) == ranked(t1)
