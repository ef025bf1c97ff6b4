"""The running day's rollup: today's report from the cache equals the direct passes exactly as the day
runs on and syncs bring messages dated before the rollup's end, on both backends; a later look reads
only what was stored after that end, and a long period's later look reads no day at all."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentconsole import metrics
from agentconsole.metrics import cached, days
from agentconsole.storage.store import Store
from tests.core.test_metrics_days import DAY, HOURS, NOW, World

pytestmark = pytest.mark.both_backends

# (seconds before the look, conversation, what, agent choice, account choice, source choice): most within
# the live minutes after the rollup's end, the rest up to six hours earlier (a sync catching up).
RECENT = st.one_of(st.floats(0, 1.5 * cached.SETTLE), st.floats(0, 6 * 3600))
EVENTS = st.lists(st.tuples(RECENT, st.integers(0, 5), st.sampled_from(("in", "out", "done")),
                            st.integers(0, 2), st.integers(0, 1), st.integers(0, 3)), min_size=1, max_size=12)


class Recording:
    """A MetricsStorage that notes where each pass over the rows starts reading."""

    PASSES = ("first_responses", "resolutions", "replies", "repeats", "opened", "contacts", "events_per_span",
              "incoming_by_week_hour", "cached_days")

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.reads: list[tuple[str, float]] = []

    def __getattr__(self, name: str) -> Any:
        got = getattr(self.inner, name)
        if name == "contacts_since":
            def since(start: float, since: float, end: float) -> Any:
                self.reads.append((name, since))
                return got(start, since, end)
            return since
        if name not in self.PASSES:
            return got

        def read(*args: Any, **kwargs: Any) -> Any:
            if name == "events_per_span":
                lo = min(lo for lo, _ in args[1])
            else:
                lo = min(args[1]) if name == "cached_days" else args[0]
            self.reads.append((name, lo))
            return got(*args, **kwargs)
        return read

    @property
    def caching(self) -> bool:
        return bool(self.inner.caching)


def _mark(now: float, tz: str = "UTC") -> float:
    return cached._mark(metrics.period("today", now, tz).days[-1])


@pytest.mark.parametrize("tz", ["UTC", "Europe/Berlin"])
def test_today_from_the_rollup_equals_the_direct_passes(store: Store, tz: str) -> None:
    world = World(store)
    runs = iter(range(10_000))
    lag = {"seconds": 10 * 3600.0}  # how long before NOW the next look is: the day runs on between examples

    @settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(EVENTS, st.floats(0, 3600), st.booleans())
    def check(events, ahead, counted):
        lag["seconds"] = max(0.0, lag["seconds"] - ahead)
        world.add([(lag["seconds"] + before, *rest) for before, *rest in events], next(runs))
        hours = HOURS if counted else None
        for spec in ("today", "7d"):
            per = metrics.period(spec, NOW - lag["seconds"], tz)
            direct = metrics.report(store, per, hours, cached=False)
            assert metrics.report(store, per, hours) == direct  # advances (or rebuilds) the rollup
            assert metrics.report(store, per, hours) == direct  # reads it

    check()


def test_a_later_look_reads_only_what_was_stored_after_the_rollup(store: Store) -> None:
    world = World(store)
    world.add([(5 * 3600 - 60 * i, i % 4, ("in", "out", "done")[i % 3], i % 3, i % 2, i % 4) for i in range(40)], 0)
    rec = Recording(store.metrics_storage(None))
    first = NOW - 3 * 3600
    metrics.report(store, metrics.period("today", first, "UTC"), storage=rec)  # type: ignore[arg-type]
    rec.reads.clear()
    later = metrics.period("today", NOW - 3600, "UTC")
    seen = metrics.report(store, later, storage=rec)  # type: ignore[arg-type]
    assert seen == metrics.report(store, later, cached=False)
    assert rec.reads and min(lo for _, lo in rec.reads) >= _mark(first)
    assert "contacts" not in {name for name, _ in rec.reads}  # the pass over the whole day


def test_a_long_period_looked_at_again_reads_no_day(store: Store) -> None:
    world = World(store)
    world.add([(d * DAY / 3, d, ("in", "out")[d % 2], 1, d % 2, 2) for d in range(1, 40)], 0)
    rec = Recording(store.metrics_storage(None))
    per = metrics.period("30d", NOW, "UTC")
    metrics.report(store, per, storage=rec)  # type: ignore[arg-type]
    rec.reads.clear()
    again = metrics.report(store, per, storage=rec)  # type: ignore[arg-type]
    assert again == metrics.report(store, per)
    assert rec.reads and min(lo for _, lo in rec.reads) >= _mark(NOW)  # neither a cached day nor a past row


@pytest.mark.sqlite_only
def test_today_stays_exact_past_the_day_cache_limit(store: Store) -> None:
    world = World(store)
    events = []
    for i in range(days.EXACT + 60):
        asked = 600 + (i * 37) % 30_000
        events += [(asked, i, "in", 0, i % 2, 0), (asked - 5 - (i * 7919) % 500, i, "out", 1 + i % 2, i % 2, 1)]
    world.add(events, 0)
    per = metrics.period("today", NOW, "UTC")
    direct = metrics.report(store, per, cached=False)
    assert direct.total.first_responses > days.EXACT
    assert metrics.report(store, per) == direct
    assert metrics.report(store, per) == direct
    header = metrics.today_header(store, store.clock, "UTC")  # the inbox's line reads the same rollup
    t = direct.total
    assert (header.first_response_median, header.first_response_p90, header.first_responses,
            header.response_rate, header.conversations) == (
        t.first_response_median, t.first_response_p90, t.first_responses, t.response_rate, t.conversations)
