"""The per-day metrics cache: a report read from cached days equals the direct passes over the period
(exactly while a distribution holds at most days.EXACT values, within the stated bound past that), on
both backends, through later messages and events on days already cached."""

from __future__ import annotations

import math
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentconsole import metrics
from agentconsole.domain.models import Channel, Direction, InboundMessage, Kind, Person, Status
from agentconsole.metrics import days
from agentconsole.response.hours import BusinessHours, HoursConfig
from agentconsole.storage.store import Store

pytestmark = pytest.mark.both_backends

NOW = datetime(2026, 11, 25, 18, tzinfo=timezone.utc).timestamp()
DAY = 86400.0
US = Person("us", "brand", "Brand")
CHANNELS = (("x-main", Channel.X), ("shop-mail", Channel.EMAIL))
SOURCES = (None, "canned", "edited", "personal")
# (seconds before NOW, conversation, what, agent choice, account choice, source choice)
EVENTS = st.lists(st.tuples(st.floats(60, 11 * DAY), st.integers(0, 5), st.sampled_from(("in", "out", "done")),
                            st.integers(0, 2), st.integers(0, 1), st.integers(0, 3)), min_size=1, max_size=25)


class World:
    """Conversations added through Store.ingest and set_status, each at its own time on the clock."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.accounts = [store.ensure_account(name, ch, "demo") for name, ch in CHANNELS]
        self.agents = [None, store.ensure_agent("Alice Ng"), store.ensure_agent("Bob Stone")]
        self.conv: dict[str, int] = {}
        self.n = 0

    def add(self, events: list[tuple[float, int, str, int, int, int]], run: int) -> None:
        clock = self.store.clock
        for before, key, what, agent, account, source in sorted(events, key=lambda e: -e[0]):
            when = NOW - before
            clock.set(when)  # type: ignore[attr-defined]
            thread = f"r{run}-{key}"
            if what == "done":
                if thread in self.conv:
                    self.store.set_status(self.conv[thread], Status.DONE, self.agents[agent])
                continue
            self.n += 1
            out = what == "out"
            extra: dict = {}
            if out:
                extra["recipient"] = Person(f"c-{thread}", thread)
                if self.agents[agent] is not None:
                    extra["agent_id"] = self.agents[agent]
                if SOURCES[source] is not None:
                    extra["source"] = SOURCES[source]
            msg = InboundMessage(f"m{self.n}", thread, Kind.PUBLIC, US if out else Person(f"c-{thread}", thread),
                                 f"message {self.n}", when, Direction.OUT if out else Direction.IN, extra=extra)
            report = self.store.ingest(self.accounts[account], [msg])
            self.conv.setdefault(thread, report.conversation_ids[0])
        clock.set(NOW)  # type: ignore[attr-defined]


HOURS = HoursConfig(by_account={"shop-mail": BusinessHours()})  # Mon–Fri 09–17 UTC, email only


@pytest.mark.parametrize("tz", ["UTC", "Europe/Berlin"])
def test_cached_days_equal_the_direct_passes(store: Store, tz: str) -> None:
    world = World(store)
    runs = iter(range(10_000))

    @settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(EVENTS, st.sampled_from(("7d", "10d", "2026-11-16..2026-11-24")), st.booleans())
    def check(events, spec, counted):
        # Each example adds to the same workspace, mostly on days an earlier example cached.
        world.add(events, next(runs))
        hours = HOURS if counted else None
        per = metrics.period(spec, NOW, tz)
        direct = metrics.report(store, per, hours, cached=False)
        assert metrics.report(store, per, hours) == direct  # fills the missing days
        assert metrics.report(store, per, hours) == direct  # every complete day from the cache

    check()


def test_a_late_message_or_event_on_a_cached_day_drops_that_day(store: Store) -> None:
    world = World(store)
    world.add([(3 * DAY, 0, "in", 0, 0, 0), (3 * DAY - 600, 0, "out", 1, 0, 1)], 0)
    per = metrics.period("7d", NOW, "UTC")
    before = metrics.report(store, per)
    assert before.total.first_responses == 1
    world.add([(4 * DAY, 1, "in", 0, 1, 0), (4 * DAY - 60, 1, "in", 0, 1, 0), (4 * DAY - 30, 1, "out", 2, 1, 2),
               (4 * DAY - 20, 1, "done", 2, 1, 0)], 1)  # a sync catching up on an older day
    after = metrics.report(store, per)
    assert after == metrics.report(store, per, cached=False)
    assert (after.total.first_responses, after.total.resolved) == (2, 1)


def test_the_fill_reports_progress_and_a_filled_period_computes_nothing(store: Store) -> None:
    World(store).add([(d * DAY, d, "in", 0, 0, 0) for d in range(1, 6)], 0)
    seen: list[float] = []
    metrics.report(store, metrics.period("7d", NOW, "UTC"), progress=seen.append)
    assert seen == sorted(seen) and seen[0] == 0.0 and seen[-1] == 1.0 and len(seen) == 7  # six days, then done
    seen.clear()
    metrics.report(store, metrics.period("7d", NOW, "UTC"), progress=seen.append)
    assert seen == []


@pytest.mark.sqlite_only
def test_past_the_exact_limit_medians_keep_the_stated_bound(store: Store) -> None:
    world = World(store)
    events = []
    for i in range(2 * days.EXACT + 40):
        asked = (1 + i % 6) * DAY + (i * 37) % 20_000
        events += [(asked, i, "in", 0, i % 2, 0), (asked - 5 - (i * 7919) % 30_000, i, "out", 1 + i % 2, i % 2, 1)]
    world.add(events, 0)
    per = metrics.period("7d", NOW, "UTC")
    direct, cached = metrics.report(store, per, cached=False), metrics.report(store, per)
    for a, b in [(direct.total, cached.total), *zip(direct.by_channel, cached.by_channel, strict=True),
                 *zip(direct.by_agent, cached.by_agent, strict=True)]:
        assert (a.label, a.first_responses, a.conversations, a.repeat_contacts) == (
            b.label, b.first_responses, b.conversations, b.repeat_contacts)
        for name in ("first_response_median", "first_response_p90"):
            exact, near = getattr(a, name), getattr(b, name)
            assert abs(exact - near) <= max(days.ERROR_SECONDS, days.ERROR_SHARE * abs(exact)), name
    assert direct.opened_per_day == cached.opened_per_day and direct.busiest == cached.busiest


@given(st.lists(st.floats(-1e3, 1e8, allow_nan=False), min_size=1, max_size=2000), st.integers(1, 8))
def test_a_merged_distribution_keeps_the_bound(values: list[float], pieces: int) -> None:
    merged = days.Dist()
    for i in range(pieces):
        merged.merge(days.Dist.load(days.Dist.of(values[i::pieces]).dump()))
    s = sorted(values)
    n = len(s)
    lo, hi, p90 = s[(n + 1) // 2 - 1], s[(n + 2) // 2 - 1], s[(9 * n + 9) // 10 - 1]
    median, near_p90 = merged.stats()
    assert merged.count == n and merged.exact == (n <= days.EXACT)
    assert median is not None and near_p90 is not None
    if merged.exact:
        assert (median, near_p90) == ((lo + hi) / 2, p90)
    bound = max(days.ERROR_SECONDS, days.ERROR_SHARE * max(abs(lo), abs(hi)))
    assert abs(median - (lo + hi) / 2) <= bound
    assert abs(near_p90 - p90) <= max(days.ERROR_SECONDS, days.ERROR_SHARE * abs(p90))
    assert math.isfinite(median)
