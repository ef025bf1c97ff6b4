"""Metrics: exact figures for a crafted week, periods, DST-safe busiest hours and the header figures."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agentconsole import metrics
from agentconsole.domain.clock import FrozenClock
from agentconsole.response.hours import BusinessHours, HoursConfig
from agentconsole.domain.models import Channel, Direction, InboundMessage, Kind, Person
from agentconsole.storage.store import Store

from tests.core.metrics_timeline import NOW, US, at, build

pytestmark = pytest.mark.both_backends

MIN = 60.0
H = 3600.0


@pytest.fixture
def timeline(tmp_path: Path):
    t = build(tmp_path / "m.db")
    yield t
    t.store.close()


def by_label(rows: tuple[metrics.Figures, ...]) -> dict[str, metrics.Figures]:
    return {f.label: f for f in rows}


def test_waiting_is_kept_through_repeats_and_notes_and_cleared_by_a_reply(tmp_path: Path) -> None:
    from tests.core.metrics_timeline import Timeline
    t = Timeline(tmp_path / "w.db")
    t.customer("A", "x", at(24, 9))
    t.customer("A", "x", at(24, 9, 10))
    assert t.store.conversation(t.conv["A"]).waiting_since == at(24, 9)
    t.clock.set(at(24, 9, 30))
    t.store.add_note(t.conv["A"], t.alice, "internal: checking")
    row = t.store.conversation(t.conv["A"])
    assert (row.needs_reply, row.waiting_since) == (True, at(24, 9))
    t.reply("A", "x", at(24, 9, 40), t.alice, "canned")
    row = t.store.conversation(t.conv["A"])
    assert (row.needs_reply, row.waiting_since, row.first_response_at) == (False, None, at(24, 9, 40))
    t.customer("A", "x", at(24, 11))
    row = t.store.conversation(t.conv["A"])
    assert (row.waiting_since, row.first_customer_at, row.first_response_at) == (
        at(24, 11), at(24, 9), at(24, 9, 40))
    t.store.close()


def test_totals_for_the_week(timeline) -> None:
    r = metrics.report(timeline.store, metrics.period("7d", NOW, "UTC"))
    t = r.total
    # First responses given this week: D 5m, F 20m, A 40m, B 24h.
    assert t.first_responses == 4
    assert t.first_response_median == 30 * MIN
    assert t.first_response_p90 == 24 * H
    assert t.first_response_median_open == 30 * MIN  # no business hours: the same figure
    # Resolutions: A 1h, A again 1h30 from the reopening message, D 1h.
    assert (t.resolved, t.resolution_median) == (3, 1 * H)
    # Customers wrote in A, B, C, D, F; all but the Mastodon DM were answered.
    assert (t.conversations, t.answered, t.response_rate) == (5, 4, 0.8)
    assert t.repeat_contacts == 2  # A's second and third message before our first answer
    assert t.opened == 5
    assert (t.canned, t.edited, t.personal) == (2, 1, 2)
    assert t.share("canned") == 0.4
    assert r.opened_per_day == (0, 0, 0, 0, 0, 2, 3)
    assert r.resolved_per_day == (0, 0, 0, 0, 0, 2, 1)
    assert r.busiest_hours(2) == [("Tue", 9, 3), ("Tue", 10, 1)]
    assert sum(r.busiest) == 8


def test_per_channel(timeline) -> None:
    r = metrics.report(timeline.store, metrics.period("7d", NOW, "UTC"))
    rows = by_label(r.by_channel)
    assert list(rows) == ["Email", "Mastodon", "X"]
    x = rows["X"]
    assert (x.first_responses, x.first_response_median, x.first_response_p90) == (3, 20 * MIN, 40 * MIN)
    assert (x.conversations, x.answered, x.repeat_contacts, x.opened, x.resolved) == (3, 3, 2, 3, 3)
    email = rows["Email"]
    assert (email.first_response_median, email.response_rate, email.edited) == (24 * H, 1.0, 1)
    masto = rows["Mastodon"]
    assert (masto.conversations, masto.answered, masto.first_responses, masto.first_response_median) == (
        1, 0, 0, None)


def test_per_agent(timeline) -> None:
    r = metrics.report(timeline.store, metrics.period("7d", NOW, "UTC"))
    rows = by_label(r.by_agent)
    assert list(rows) == ["Alice Ng", "Bob Stone"]
    alice, bob = rows["Alice Ng"], rows["Bob Stone"]
    assert (alice.first_responses, alice.first_response_median, alice.first_response_p90) == (
        3, 20 * MIN, 40 * MIN)
    assert (alice.resolved, alice.resolution_median) == (2, 1 * H)
    assert (alice.canned, alice.edited, alice.personal) == (2, 0, 1)
    assert (bob.first_responses, bob.first_response_median) == (1, 24 * H)
    assert (bob.resolved, bob.resolution_median) == (1, 90 * MIN)
    assert (bob.canned, bob.edited, bob.personal) == (0, 1, 1)
    assert bob.conversations is None and bob.response_rate is None  # not attributed to agents


def test_today_and_custom_periods(timeline) -> None:
    today = metrics.report(timeline.store, metrics.period("today", NOW, "UTC")).total
    # Answered today: D 5m, F 20m, B 24h; A's answers were yesterday.
    assert (today.first_responses, today.first_response_median, today.first_response_p90) == (
        3, 20 * MIN, 24 * H)
    assert (today.conversations, today.answered, today.repeat_contacts) == (3, 2, 0)
    old = metrics.report(timeline.store, metrics.period("2026-11-10..2026-11-10", NOW, "UTC")).total
    assert (old.first_responses, old.first_response_median, old.resolved, old.opened) == (1, 5 * MIN, 1, 1)
    header = metrics.today_header(timeline.store, timeline.clock, "UTC")
    assert header == metrics.HeaderFigures(20 * MIN, 24 * H, 3, 2 / 3, 3, 20 * MIN, 24 * H)


def test_business_hours_figures(timeline) -> None:
    hours = HoursConfig(by_account={"shop-mail": BusinessHours()})  # Mon–Fri 09–17 UTC, email only
    t = metrics.report(timeline.store, metrics.period("7d", NOW, "UTC"), hours).total
    # B: Tue 10:00 → Wed 10:00 is 24 h on the wall but 7 h + 1 h open; the X answers are unchanged.
    assert t.first_response_median == 30 * MIN and t.first_response_p90 == 24 * H
    assert t.first_response_median_open == 30 * MIN and t.first_response_p90_open == 8 * H
    email = by_label(metrics.report(timeline.store, metrics.period("7d", NOW, "UTC"), hours).by_channel)["Email"]
    assert (email.first_response_median, email.first_response_median_open) == (24 * H, 8 * H)
    header = metrics.today_header(timeline.store, timeline.clock, "UTC", hours)
    assert (header.first_response_p90, header.first_response_p90_open) == (24 * H, 8 * H)


def test_reopen_by_agent_counts_from_the_reopening(tmp_path: Path) -> None:
    from agentconsole.domain.models import Status

    from tests.core.metrics_timeline import Timeline
    t = Timeline(tmp_path / "r.db")
    t.customer("A", "x", at(24, 9))
    t.reply("A", "x", at(24, 9, 30), t.alice, "personal")
    t.done("A", at(24, 10), t.alice)
    t.clock.set(at(24, 14))
    t.store.set_status(t.conv["A"], Status.OPEN, t.alice)
    t.done("A", at(24, 14, 45), t.alice)
    r = metrics.report(t.store, metrics.period("7d", NOW, "UTC")).total
    assert r.resolved == 2 and r.resolution_median == (1 * H + 45 * MIN) / 2
    t.store.close()


def test_period_reading() -> None:
    now = at(25, 18)
    p = metrics.period("today", now, "UTC")
    assert (p.start, p.end, len(p.days)) == (at(25, 0), now, 1)
    assert metrics.period("30d", now, "UTC").start == at(25, 0) - 29 * 86400
    p = metrics.period("2026-11-02..2026-11-03", now, "UTC")
    assert (p.start, p.end, [d.day for d in p.days]) == (at(2, 0), at(4, 0), [date(2026, 11, 2), date(2026, 11, 3)])
    for bad in ("yesterday", "0d", "2026-11-05..2026-11-01", "2026-13-01"):
        with pytest.raises(metrics.PeriodError):
            metrics.period(bad, now, "UTC")
    with pytest.raises(metrics.PeriodError, match="timezone"):
        metrics.period("today", now, "Mars/Olympus")


def test_days_and_busiest_hours_follow_the_dst_change(tmp_path: Path) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    now = datetime(2026, 10, 27, 12, tzinfo=berlin).timestamp()
    store = Store(tmp_path / "dst.db", FrozenClock(now))
    account = store.ensure_account("x-main", Channel.X, "demo")
    times = [datetime(2026, 10, 24, 10, tzinfo=berlin), datetime(2026, 10, 26, 10, tzinfo=berlin),
             datetime(2026, 10, 25, 23, 30, tzinfo=berlin)]
    store.ingest(account, [InboundMessage(f"m{i}", f"t{i}", Kind.PUBLIC, Person(f"c{i}"), "hi", w.timestamp())
                           for i, w in enumerate(times)])
    p = metrics.period("7d", now, "Europe/Berlin")
    sunday = next(d for d in p.days if d.day == date(2026, 10, 25))
    assert sunday.end - sunday.start == 25 * H
    r = metrics.report(store, p)
    assert r.busiest[5 * 24 + 10] == 1  # Saturday 10:00 CEST
    assert r.busiest[0 * 24 + 10] == 1  # Monday 10:00 CET
    assert r.busiest[6 * 24 + 23] == 1  # Sunday 23:30 CET, after the change
    assert [n for n in r.opened_per_day if n] == [1, 1, 1]
    store.close()


def test_a_single_day_is_also_counted_per_local_hour(timeline) -> None:
    r = metrics.report(timeline.store, metrics.period("today", NOW, "UTC"))
    assert len(r.opened_per_hour) == len(r.resolved_per_hour) == 24
    assert [h for h, n in enumerate(r.opened_per_hour) if n] == [8, 12, 17]  # D, F and C
    assert [h for h, n in enumerate(r.resolved_per_hour) if n] == [9]  # D
    assert sum(r.opened_per_hour) == r.opened_per_day[0] and sum(r.resolved_per_hour) == r.resolved_per_day[0]
    assert metrics.report(timeline.store, metrics.period("7d", NOW, "UTC")).opened_per_hour == ()


def test_hours_of_a_dst_day_skip_or_double_one_hour() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    for day, empty, double in ((date(2026, 3, 29), 2, None), (date(2026, 10, 25), None, 2)):
        now = datetime.combine(day, datetime.min.time(), berlin).timestamp() + 30 * H
        (one,) = metrics.period(day.isoformat() + ".." + day.isoformat(), now, "Europe/Berlin").days
        spans = metrics._hours_of(one, "Europe/Berlin")
        widths = [hi - lo for lo, hi in spans]
        assert len(spans) == 24 and spans[0][0] == one.start and spans[-1][1] == one.end
        assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))  # no gap, no overlap
        assert [i for i, w in enumerate(widths) if w != H] == [i for i in (empty, double) if i is not None]
        assert widths[2] == (0 if empty == 2 else 2 * H)


def test_empty_database_reports_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path / "e.db", FrozenClock(NOW))
    r = metrics.report(store, metrics.period("7d", NOW, "UTC"))
    assert r.total.first_response_median is None and r.total.response_rate is None
    assert r.by_channel == () and r.by_agent == () and r.busiest_hours() == []
    assert metrics.today_header(store, store.clock, "UTC") == metrics.HeaderFigures(
        None, None, 0, None, 0, None, None)
    store.close()


def test_first_response_when_our_reply_was_fetched_before_the_customer_message(tmp_path: Path) -> None:
    store = Store(tmp_path / "late.db", FrozenClock(NOW))
    account = store.ensure_account("mail", Channel.EMAIL, "demo")
    customer = Person("c1", "c1")
    # The Sent folder is synced before the inbox: our answer arrives first, the question after.
    store.ingest(account, [InboundMessage("out", "t", Kind.EMAIL, US, "answer", at(24, 10), Direction.OUT,
                                          extra={"recipient": customer})], stream="sent")
    store.ingest(account, [InboundMessage("in", "t", Kind.EMAIL, customer, "question", at(24, 9))],
                 stream="inbox")
    row = store.conversation(store.conversation_ids()[0])
    assert (row.first_customer_at, row.waiting_since) == (at(24, 9), None)
    assert row.first_response_at == at(24, 10)
    store.close()


def test_away_replies_answer_nobody(tmp_path: Path) -> None:
    from tests.core.metrics_timeline import Timeline
    t = Timeline(tmp_path / "away.db")
    t.customer("H", "x", at(25, 14))
    t.reply("H", "x", at(25, 14, 1), None, "away")
    t.customer("I", "x", at(25, 15))
    t.reply("I", "x", at(25, 15, 1), None, "away")
    t.reply("I", "x", at(25, 15, 30), t.alice, "personal")
    t.reply("H", "x", at(26, 9), t.bob, "personal")  # the next day: outside the period below
    t.reply("I", "x", at(26, 9), t.bob, "personal")
    past = metrics.report(t.store, metrics.period("2026-11-25..2026-11-25", at(26, 12), "UTC")).total
    assert (past.conversations, past.answered, past.first_responses, past.first_response_median) == (
        2, 1, 1, 30 * MIN)
    assert (past.canned, past.edited, past.personal) == (0, 0, 1)
    agents = metrics.report(t.store, metrics.period("2026-11-25", at(26, 12), "UTC")).by_agent
    assert [(f.label, f.first_responses) for f in agents] == [("Alice Ng", 1), ("Bob Stone", 1)]
    t.store.close()
