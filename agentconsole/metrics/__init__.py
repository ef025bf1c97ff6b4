"""Response-time figures for a period, in total, per channel and per agent, from the metrics storage's passes.

A period reads its complete past days from the day cache (metrics.days), computing and caching the
days it lacks first, and the day still running (today) from a rollup advanced as it runs
(metrics.cached); see days.py for what is exact and the bound on medians and p90s past days.EXACT
values over more than one day. A single day is exact.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agentconsole.domain.clock import Clock
from agentconsole.response.hours import HoursConfig
from agentconsole.response.rule import counted
from agentconsole.domain.models import Channel
from agentconsole.response.sla import format_wait

if TYPE_CHECKING:
    from agentconsole.storage.metrics import MetricsStorage, OpenSeconds, Timed
    from agentconsole.storage.store import Store

PERIODS = ("today", "7d", "30d")
MAX_DAYS = 366
NO_AGENT = "(no agent)"
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
Reply = tuple[str, int | None, str, int]  # (channel, agent id, source, count) of our replies


class PeriodError(ValueError):
    """A period the user typed that we cannot read."""


@dataclass(frozen=True, slots=True)
class Day:
    day: date
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class Period:
    """[start, end) in epoch seconds, cut into local calendar days of *timezone*."""

    label: str
    start: float
    end: float
    timezone: str
    days: tuple[Day, ...]


def period(spec: str, now: float, timezone: str = "UTC") -> Period:
    """Read "today", "7d" (today and the six days before), "2026-11-01" or "2026-11-01..2026-11-15"."""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise PeriodError(f"unknown timezone {timezone!r}") from exc
    today = datetime.fromtimestamp(now, zone).date()
    spec = spec.strip().lower()
    if spec == "today":
        first, last, end = today, today, now
    elif m := re.fullmatch(r"(\d{1,3})d", spec):
        count = int(m.group(1))
        if not 1 <= count <= MAX_DAYS:
            raise PeriodError(f"a period is 1 to {MAX_DAYS} days, not {count}")
        first, last, end = today - timedelta(days=count - 1), today, now
    elif m := re.fullmatch(r"(\d{4}-\d{2}-\d{2})(?:\.\.(\d{4}-\d{2}-\d{2}))?", spec):
        try:
            first = date.fromisoformat(m.group(1))
            last = date.fromisoformat(m.group(2)) if m.group(2) else today
        except ValueError as exc:
            raise PeriodError(str(exc)) from exc
        if last < first or (last - first).days >= MAX_DAYS:
            raise PeriodError(f"{spec}: the end must follow the start, at most {MAX_DAYS} days on")
        end = min(now, _midnight(last + timedelta(days=1), zone))
    else:
        raise PeriodError(f"{spec!r}: use today, 7d, 30d, a date like 2026-11-01, or 2026-11-01..2026-11-15")
    days = []
    day = first
    while day <= last:
        days.append(Day(day, _midnight(day, zone), min(end, _midnight(day + timedelta(days=1), zone))))
        day += timedelta(days=1)
    return Period(spec, days[0].start, end, timezone, tuple(days))


def _midnight(day: date, zone: ZoneInfo) -> float:
    return datetime.combine(day, time(0), tzinfo=zone).timestamp()


@dataclass(frozen=True, slots=True)
class Figures:
    """One row of the report; None marks a figure that does not apply to the grouping (per agent)."""

    key: str
    label: str
    conversations: int | None = None  # with a customer message in the period
    answered: int | None = None  # of those, replied to after that message, within the period
    first_responses: int = 0  # first replies given in the period
    first_response_median: float | None = None
    first_response_p90: float | None = None
    first_response_median_open: float | None = None  # counted in business hours
    first_response_p90_open: float | None = None
    resolved: int = 0  # times marked done in the period; a reopened conversation counts again
    resolution_median: float | None = None
    resolution_median_open: float | None = None
    opened: int | None = None
    repeat_contacts: int | None = None  # customer messages after their first and before our first reply
    canned: int = 0
    edited: int = 0
    personal: int = 0

    @property
    def response_rate(self) -> float | None:
        if not self.conversations or self.answered is None:
            return None
        return self.answered / self.conversations

    @property
    def replies(self) -> int:
        return self.canned + self.edited + self.personal

    def share(self, source: str) -> float | None:
        """The share of our replies that were 'canned', 'edited' (canned, then changed) or 'personal'."""
        return getattr(self, source) / self.replies if self.replies else None


@dataclass(frozen=True, slots=True)
class Report:
    period: Period
    total: Figures
    by_channel: tuple[Figures, ...]
    by_agent: tuple[Figures, ...]
    opened_per_day: tuple[int, ...]
    resolved_per_day: tuple[int, ...]
    busiest: tuple[int, ...]  # customer messages per hour of the week, local time, Monday 00h first
    # Per local hour of the day (24 values) when the period is a single day, where a per-day chart
    # would be one bar; empty otherwise.
    opened_per_hour: tuple[int, ...] = ()
    resolved_per_hour: tuple[int, ...] = ()

    def busiest_hours(self, count: int = 3) -> list[tuple[str, int, int]]:
        """The busiest (weekday name, hour, messages), busiest first; ties in week order."""
        ranked = sorted((i for i, n in enumerate(self.busiest) if n), key=lambda i: -self.busiest[i])
        return [(WEEKDAY_NAMES[i // 24], i % 24, self.busiest[i]) for i in ranked[:count]]


@dataclass(frozen=True, slots=True)
class HeaderFigures:
    """Today's figures for the inbox's response-time line."""

    first_response_median: float | None
    first_response_p90: float | None
    first_responses: int
    response_rate: float | None
    conversations: int
    first_response_median_open: float | None = None  # in business hours; equal when none are set
    first_response_p90_open: float | None = None


def counter(store: Store, hours: HoursConfig | None) -> OpenSeconds | None:
    """Each account's seconds as the response rule counts them, or None when no account keeps hours
    (then every figure is wall-clock time, computed in the storage's own arithmetic)."""
    if hours is None or not hours.any:
        return None
    by_id = {a.id: hours.for_account(a.name) for a in store.accounts()}

    def open_seconds(account_id: int, start: float, end: float) -> float:
        return counted(start, end, by_id.get(account_id))

    return open_seconds


def _storage(store: Store, hours: HoursConfig | None, storage: MetricsStorage | None) -> MetricsStorage:
    return storage if storage is not None else store.metrics_storage(counter(store, hours))


def _busiest(storage: MetricsStorage, per: Period) -> tuple[int, ...]:
    counts = [0] * 168
    for lo, hi, offset in _offset_segments(per):
        for how, n in storage.incoming_by_week_hour(lo, hi, offset):
            counts[how] += n
    return tuple(counts)


def _hours_of(day: Day, timezone: str) -> list[tuple[float, float]]:
    """[lo, hi) of each local wall-clock hour 0–23 of *day* (cut at its end, which may be now): the hour
    a DST change skips is empty and the hour it repeats is two hours long, so every instant falls in one."""
    zone = ZoneInfo(timezone)
    edges = [datetime.combine(day.day, time(h), tzinfo=zone).timestamp() for h in range(24)] + [day.end]
    edges = [min(max(e, day.start), day.end) for e in edges]
    return [(lo, max(lo, hi)) for lo, hi in pairwise(edges)]


def _offset_segments(per: Period) -> list[tuple[float, float, float]]:
    """[lo, hi) spans of the period with one UTC offset each, split at the exact DST changes."""
    zone = ZoneInfo(per.timezone)

    def offset(at: float) -> float:
        return (datetime.fromtimestamp(at, zone).utcoffset() or timedelta()).total_seconds()

    segments: list[list[float]] = []
    for day in per.days:
        if day.end <= day.start:
            continue
        points = [day.start]
        if offset(day.start) != offset(day.end - 1):
            lo, hi = day.start, day.end - 1  # bisect to the second where the offset changes
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if offset(mid) == offset(day.start) else (lo, mid)
            points.append(hi)
        points.append(day.end)
        for a, b in pairwise(points):
            off = offset(a)
            if segments and segments[-1][1] == a and segments[-1][2] == off:
                segments[-1][1] = b
            else:
                segments.append([a, b, off])
    return [(a, b, off) for a, b, off in segments]


Progress = Callable[[float], None]  # the share of the period's uncached days computed so far


def report(store: Store, per: Period, hours: HoursConfig | None = None,
           groups: tuple[str, ...] = ("channel", "agent"), storage: MetricsStorage | None = None,
           progress: Progress | None = None, cached: bool = True) -> Report:
    """Every figure of the metrics screen and the CLI for *per*; *groups* picks the breakdowns. It reads
    the cache unless *cached* is False or *per* is one past day (then the direct passes over the period)."""
    q = _storage(store, hours, storage)
    if cached and q.caching:
        from agentconsole.metrics.cached import by_days, full  # it builds on this module's types

        if len(per.days) > 1 or not full(per.days[0], ZoneInfo(per.timezone)):
            return by_days(store, q, per, hours, groups, progress)
    start, end = per.start, per.end
    channels = {a.id: a.channel for a in store.accounts()}
    days = [(d.start, d.end) for d in per.days]
    with q.snapshot():  # one read snapshot, so the figures agree with each other
        agents = q.agents()
        first = q.first_responses(start, end, "agent" in groups)
        resolved = q.resolutions(start, end)
        contacts = q.contacts(start, end)
        opened = q.opened(start, end, "channel" in groups)
        replies = [(channels.get(account, ""), agent, source, n)
                   for account, agent, source, n in q.replies(start, end)]
        per_day = q.events_per_span("opened", days), q.events_per_span("resolved", days)
        hours_of = _hours_of(per.days[0], per.timezone) if len(per.days) == 1 else None
        per_hour = ((q.events_per_span("opened", hours_of), q.events_per_span("resolved", hours_of))
                    if hours_of is not None else ((), ()))
        busiest = _busiest(q, per)
    conv_total = (sum(c[0] for c in contacts.values()), sum(c[1] for c in contacts.values()),
                  sum(c[2] for c in contacts.values()))
    total = _row("", "All", first, resolved, replies, conv_total, sum(opened.values()))
    by_channel: list[Figures] = []
    if "channel" in groups:
        for ch in sorted({r[0] for r in first} | {r[0] for r in resolved} | {r[0] for r in replies}
                         | set(contacts) | set(opened)):
            by_channel.append(_row(ch, _channel_label(ch), [r for r in first if r[0] == ch],
                                   [r for r in resolved if r[0] == ch], [r for r in replies if r[0] == ch],
                                   contacts.get(ch, (0, 0, 0)), opened.get(ch, 0)))
        by_channel.sort(key=lambda f: f.label.lower())
    by_agent: list[Figures] = []
    if "agent" in groups:
        for agent in {r[1] for r in first} | {r[1] for r in resolved} | {r[1] for r in replies}:
            by_agent.append(_row("" if agent is None else str(agent), NO_AGENT if agent is None else agents.get(agent, NO_AGENT),
                                 [r for r in first if r[1] == agent], [r for r in resolved if r[1] == agent],
                                 [r for r in replies if r[1] == agent], None, None))
        by_agent.sort(key=lambda f: (f.label == NO_AGENT, f.label.lower()))
    return Report(per, total, tuple(by_channel), tuple(by_agent), *per_day, busiest, *per_hour)


def compute(store: Store, spec: str, now: float, timezone: str = "UTC", hours: HoursConfig | None = None,
            groups: tuple[str, ...] = ("channel", "agent"), progress: Progress | None = None) -> Report:
    """The report the metrics screen shows for *spec* ("today" when it opens): what its budget times."""
    return report(store, period(spec, now, timezone), hours, groups, progress=progress)


def _stats(values: list[float]) -> tuple[float | None, float | None]:
    """(median, p90): the median averages the two middle values of an even count; p90 is the nearest
    rank, the smallest value at or above 90% of them."""
    if not values:
        return None, None
    s = sorted(values)
    n = len(s)
    return (s[(n + 1) // 2 - 1] + s[(n + 2) // 2 - 1]) / 2, s[(9 * n + 9) // 10 - 1]


def _row(key: str, label: str, first: list[Timed], resolved: list[Timed], replies: list[Reply],
         contacts: tuple[int, int, int] | None, opened: int | None) -> Figures:
    fr_med, fr_p90 = _stats([r[2] for r in first])
    fr_med_open, fr_p90_open = _stats([r[3] for r in first])
    sources = {"canned": 0, "edited": 0, "personal": 0}
    for r in replies:
        sources[r[2]] += r[3]
    return Figures(
        key=key, label=label,
        conversations=contacts[0] if contacts is not None else None,
        answered=contacts[1] if contacts is not None else None,
        repeat_contacts=contacts[2] if contacts is not None else None,
        first_responses=len(first), first_response_median=fr_med, first_response_p90=fr_p90,
        first_response_median_open=fr_med_open, first_response_p90_open=fr_p90_open,
        resolved=len(resolved), resolution_median=_stats([r[2] for r in resolved])[0],
        resolution_median_open=_stats([r[3] for r in resolved])[0], opened=opened, **sources)


def _channel_label(channel: str) -> str:
    try:
        return Channel(channel).label
    except ValueError:
        return channel


def today_header(store: Store, clock: Clock, tz: str = "UTC", hours: HoursConfig | None = None
                 ) -> HeaderFigures:
    """Today's median and p90 first response and response rate, for the inbox's header line: exact,
    from the running day's rollup (what was stored since its end read live)."""
    t = report(store, period("today", clock.now(), tz), hours, groups=()).total
    return HeaderFigures(t.first_response_median, t.first_response_p90, t.first_responses, t.response_rate,
                         t.conversations or 0, t.first_response_median_open, t.first_response_p90_open)


def fmt_count(value: int | None) -> str:
    """A figure as the CLI and the metrics screen both print it: '–' when there is none."""
    return "–" if value is None else str(value)


def fmt_pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def fmt_duration(seconds: float | None) -> str:
    return "–" if seconds is None else format_wait(seconds)
