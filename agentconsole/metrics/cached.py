"""Reports read from the metrics cache: the complete days as one pre-merged span, the day still running as
a rollup advanced to a recent minute, and only what was stored after that minute read live.

Every cached span ends at a time (its day_end), and a message or event at t drops the spans ending after
t (MetricsStorage.forget_changed_days), so a span read back holds the figures the direct passes give.
Parts of disjoint spans sum to the part of their union (days.py), and contacts advance by
contacts_since, so the figures equal the direct passes over the period: exactly for a single day (the
running day keeps every value), within days.py's bound for longer periods, as before.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from agentconsole.metrics import (
    NO_AGENT, Day, Figures, Period, Progress, Report, _busiest, _channel_label, _hours_of, _midnight)
from agentconsole.metrics.days import ALL, EXACT, FORMAT, Dist, Part, compute_part

if TYPE_CHECKING:
    from agentconsole.response.hours import HoursConfig
    from agentconsole.storage.metrics import MetricsStorage
    from agentconsole.storage.store import Store

# The running day's last minutes are read live: a sync often brings messages some time after they were
# sent, and one dated before the rollup's end drops it. The rollup ends on a whole minute, so it is
# rewritten at most once a minute.
SETTLE = 300.0
STEP = 60.0


def scope_of(store: Store, timezone: str, hours: HoursConfig | None) -> str:
    """What a cached day depends on besides the data: its timezone and the hours each account keeps."""
    if hours is None or not hours.any:
        return f"{FORMAT}|{timezone}|wall"
    counted = repr(sorted((a.id, repr(hours.for_account(a.name))) for a in store.accounts()))
    return f"{FORMAT}|{timezone}|{hashlib.sha256(counted.encode()).hexdigest()[:16]}"


def full(day: Day, zone: ZoneInfo) -> bool:
    return day.end > day.start and day.end == _midnight(day.day + timedelta(days=1), zone)


def _day_busiest(q: MetricsStorage, per: Period, day: Day) -> dict[int, int]:
    counts = _busiest(q, Period(per.label, day.start, day.end, per.timezone, (day,)))
    return {how: n for how, n in enumerate(counts) if n}


@dataclass(slots=True)
class Rollup:
    """The part of a span and its opened and resolved counts per bucket (local days, or hours of a day)."""

    part: Part
    opened: list[int]
    resolved: list[int]

    def dump(self) -> str:
        return json.dumps({"part": self.part.dump(), "opened": self.opened, "resolved": self.resolved},
                          separators=(",", ":"))

    @classmethod
    def load(cls, payload: str, limit: float) -> Rollup:
        d = json.loads(payload)
        return cls(Part.load(d["part"], limit), list(d["opened"]), list(d["resolved"]))

    def add(self, other: Rollup) -> None:
        """Add the figures of the span that follows, bucket by bucket."""
        self.part.merge(other.part)
        self.opened = [a + b for a, b in zip(self.opened, other.opened, strict=True)]
        self.resolved = [a + b for a, b in zip(self.resolved, other.resolved, strict=True)]


def _hours(q: MetricsStorage, per: Period, day: Day, lo: float, hi: float, channels: dict[int, str],
           limit: float) -> Rollup:
    """The figures of [lo, hi) within *day*, counted per local hour of that day; inside one snapshot."""
    part = compute_part(q, lo, hi, channels, _day_busiest(q, per, Day(day.day, lo, hi)), limit)
    spans = [(min(max(a, lo), hi), min(max(b, lo), hi)) for a, b in _hours_of(day, per.timezone)]
    used = [i for i, (a, b) in enumerate(spans) if b > a]
    counts = {"opened": [0] * len(spans), "resolved": [0] * len(spans)}
    for event, into in counts.items():
        for i, n in zip(used, q.events_per_span(event, [spans[i] for i in used]) if used else (), strict=True):
            into[i] = n
    return Rollup(part, counts["opened"], counts["resolved"])


def _mark(day: Day) -> float:
    """Where the running day's rollup ends: the whole minute at least SETTLE before the day's end (now)."""
    return min(day.end, max(day.start, math.floor((day.end - SETTLE) / STEP) * STEP))


def _running(q: MetricsStorage, scope: str, per: Period, day: Day, channels: dict[int, str]) -> Rollup:
    """The running day's rollup up to _mark(day): the cached one, advanced by the rows after its end, or
    computed from the day's start when none is cached (or a change dropped it). Every value is kept."""
    mark, key = _mark(day), f"running|{scope}"
    stored = q.cached_span(key, day.start)
    if stored is not None and stored[0] <= mark:
        rollup = Rollup.load(stored[1], ALL)
        if stored[0] == mark:
            return rollup
        with q.snapshot():
            rollup.add(_hours(q, per, day, stored[0], mark, channels, ALL))
    else:
        with q.snapshot():
            rollup = _hours(q, per, day, day.start, mark, channels, ALL)
    q.cache_day(key, day.start, mark, rollup.dump())
    return rollup


Contacts = dict[str, tuple[int, int]]  # {channel: (conversations, answered)}


def _add(into: Contacts, more: Contacts) -> Contacts:
    out = dict(into)
    for ch, (conv, answered) in more.items():
        old = out.get(ch, (0, 0))
        out[ch] = (old[0] + conv, old[1] + answered)
    return out


def _contacts(q: MetricsStorage, scope: str, start: float, since: float, mark: float) -> Contacts:
    """contacts(start, mark) without repeats: the cached span from *start* if it ends in [since, mark],
    else the pass over the complete days [start, since); then what [its end, mark) adds."""
    key = f"contacts|{scope}"
    stored = q.cached_span(key, start)
    if stored is not None and since <= stored[0] <= mark:
        upto = stored[0]
        have: Contacts = {ch: (n[0], n[1]) for ch, n in json.loads(stored[1]).items()}
    else:
        upto, have = since, {}
        if since > start:
            with q.snapshot():
                have = {ch: (n[0], n[1]) for ch, n in q.contacts(start, since, repeats=False).items()}
    if upto < mark:
        with q.snapshot():
            have = _add(have, q.contacts_since(start, upto, mark))
    if stored is None or stored[0] != mark:
        q.cache_day(key, start, mark, json.dumps(have))
    return have


def _past(q: MetricsStorage, scope: str, per: Period, days: list[Day], channels: dict[int, str],
          progress: Progress | None) -> Rollup:
    """The complete days merged, with their counts per day: the span cached over them, else each day from
    the day cache (computing and caching the days it lacks), then that span cached for the next look."""
    if not days:
        return Rollup(Part(), [], [])
    since = days[-1].end
    key = f"span|{scope}|{since!r}"
    stored = q.cached_span(key, per.start)
    if stored is not None and stored[0] == since:
        return Rollup.load(stored[1], EXACT)
    cached = q.cached_days(scope, [d.start for d in days])
    parts = {d.start: Part.load(cached[d.start]) for d in days if d.start in cached}
    missing = [d for d in days if d.start not in parts]
    for done, day in enumerate(missing):
        if progress is not None:
            progress(done / len(missing))
        with q.snapshot():
            part = compute_part(q, day.start, day.end, channels, _day_busiest(q, per, day))
        q.cache_day(scope, day.start, day.end, part.dump())
        parts[day.start] = part
    if missing and progress is not None:
        progress(1.0)
    merged = Part()
    for day in days:
        merged.merge(parts[day.start])
    rollup = Rollup(merged, [parts[d.start].opened_count for d in days], [parts[d.start].resolved_count for d in days])
    q.cache_day(key, per.start, since, rollup.dump())
    return rollup


def by_days(store: Store, q: MetricsStorage, per: Period, hours: HoursConfig | None,
            groups: tuple[str, ...], progress: Progress | None) -> Report:
    """The report of *per* from the cache: a single running day exactly, longer periods as days.py says."""
    zone = ZoneInfo(per.timezone)
    scope = scope_of(store, per.timezone, hours)
    channels = {a.id: a.channel for a in store.accounts()}
    running = None if full(per.days[-1], zone) else per.days[-1]
    limit = ALL if len(per.days) == 1 else EXACT
    q.forget_changed_days()  # before any span is read or computed, so a later change drops it again
    past = _past(q, scope, per, [d for d in per.days if full(d, zone)], channels, progress)
    whole = Part(limit=limit)
    whole.merge(past.part)
    opened_per_day, resolved_per_day = list(past.opened), list(past.resolved)
    per_hour: tuple[tuple[int, ...], tuple[int, ...]] = ((), ())
    if running is None:
        contacts = _contacts(q, scope, per.start, per.end, per.end)
        with q.snapshot():
            agents = q.agents()
    else:
        rollup = _running(q, scope, per, running, channels)
        mark = _mark(running)
        contacts = _contacts(q, scope, per.start, running.start, mark)
        with q.snapshot():  # what was stored after the mark, read live
            agents = q.agents()
            live = _hours(q, per, running, mark, running.end, channels, limit)
            later = q.contacts_since(per.start, mark, per.end) if mark < per.end else {}
        contacts = _add(contacts, later)
        for one in (rollup, live):
            whole.merge(one.part)
        opened_per_day.append(rollup.part.opened_count + live.part.opened_count)
        resolved_per_day.append(rollup.part.resolved_count + live.part.resolved_count)
        if len(per.days) == 1:
            rollup.add(live)
            per_hour = tuple(rollup.opened), tuple(rollup.resolved)
    return _report(per, whole, contacts, agents, groups, (tuple(opened_per_day), tuple(resolved_per_day)),
                   per_hour)


def _report(per: Period, whole: Part, contacts_in: Contacts, agents: dict[int, str], groups: tuple[str, ...],
            per_day: tuple[tuple[int, ...], tuple[int, ...]], per_hour: tuple[tuple[int, ...], tuple[int, ...]]
            ) -> Report:
    contacts = {ch: (c[0], c[1], whole.repeats.get(ch, 0)) for ch, c in contacts_in.items() if c[0]}
    for ch, n in whole.repeats.items():
        if ch not in contacts:
            contacts[ch] = (0, 0, n)
    busiest = tuple(whole.busiest.get(how, 0) for how in range(168))

    def row(key: str, label: str, match: Callable[[str, int | None], bool],
            conv: tuple[int, int, int] | None, opened: int | None) -> Figures:
        timed = [_merged(whole.first, match, whole.limit), _merged(whole.resolved, match, whole.limit)]
        sources = {"canned": 0, "edited": 0, "personal": 0}
        for (ch, agent, source), n in whole.replies.items():
            if match(ch, agent):
                sources[source] += n
        return _figures(key, label, timed, sources, conv, opened)

    total = row("", "All", lambda ch, agent: True,
                (sum(c[0] for c in contacts.values()), sum(c[1] for c in contacts.values()),
                 sum(c[2] for c in contacts.values())), sum(whole.opened.values()))
    by_channel: list[Figures] = []
    if "channel" in groups:
        for name in sorted({g[0] for g in whole.first} | {g[0] for g in whole.resolved}
                           | {k[0] for k in whole.replies} | set(contacts) | set(whole.opened)):
            by_channel.append(row(name, _channel_label(name), _on_channel(name),
                                  contacts.get(name, (0, 0, 0)), whole.opened.get(name, 0)))
        by_channel.sort(key=lambda f: f.label.lower())
    by_agent: list[Figures] = []
    if "agent" in groups:
        for who in {g[1] for g in whole.first} | {g[1] for g in whole.resolved} | {k[1] for k in whole.replies}:
            by_agent.append(row("" if who is None else str(who), NO_AGENT if who is None else agents.get(who, NO_AGENT),
                                _of_agent(who), None, None))
        by_agent.sort(key=lambda f: (f.label == NO_AGENT, f.label.lower()))
    return Report(per, total, tuple(by_channel), tuple(by_agent), *per_day, busiest, *per_hour)


def _on_channel(name: str) -> Callable[[str, int | None], bool]:
    return lambda ch, agent: ch == name


def _of_agent(who: int | None) -> Callable[[str, int | None], bool]:
    return lambda ch, agent: agent == who


def _merged(groups: dict[tuple[str, int | None], tuple[Dist, Dist]], match: Callable[[str, int | None], bool],
            limit: float) -> tuple[Dist, Dist]:
    """The (wall, counted) distributions of the matching groups; one Dist when every group's are equal."""
    wall, counted = Dist(limit=limit), Dist(limit=limit)
    same = True
    for (ch, agent), pair in groups.items():
        if match(ch, agent):
            wall.merge(pair[0])
            if pair[1] is not pair[0]:
                same = False
    if same:
        return wall, wall
    for (ch, agent), pair in groups.items():
        if match(ch, agent):
            counted.merge(pair[1])
    return wall, counted


def _figures(key: str, label: str, timed: list[tuple[Dist, Dist]], sources: dict[str, int],
             contacts: tuple[int, int, int] | None, opened: int | None) -> Figures:
    (first, first_open), (resolved, resolved_open) = timed
    fr_med, fr_p90 = first.stats()
    # Without business hours the counted distributions are the wall ones (see _merged): read them once.
    fr_med_open, fr_p90_open = (fr_med, fr_p90) if first_open is first else first_open.stats()
    res_med = resolved.stats()[0]
    res_med_open = res_med if resolved_open is resolved else resolved_open.stats()[0]
    return Figures(
        key=key, label=label,
        conversations=contacts[0] if contacts is not None else None,
        answered=contacts[1] if contacts is not None else None,
        repeat_contacts=contacts[2] if contacts is not None else None,
        first_responses=first.count, first_response_median=fr_med, first_response_p90=fr_p90,
        first_response_median_open=fr_med_open, first_response_p90_open=fr_p90_open,
        resolved=resolved.count, resolution_median=res_med, resolution_median_open=res_med_open, opened=opened,
        **sources)
