"""Per-day parts of a report: each complete local day's figures, cached in the storage and merged.

A part holds what sums over days: first responses and resolutions as value distributions per (channel,
agent), repeat contacts and openings per channel, replies per (channel, agent, source), the day's
opened and resolved counts and its customer messages per hour of the week. The conversations with a
customer message in the period and how many were answered do not sum over days (one conversation
counts once), so the report reads them over the whole period.

A distribution keeps its values while it holds at most EXACT of them (then medians are exact) and
always a histogram of log-spaced cells, each RATIO wide, which merges at the cost of its cells. Past
EXACT values a median or p90 is read from the histogram as its cell's geometric middle: within
ERROR_SECONDS or ERROR_SHARE of the exact figure, whichever is larger.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentconsole.storage.metrics import MetricsStorage

FORMAT = "d3"  # the payload's layout: part of every cached day's scope, so a new layout never reads an old one
EXACT = 256
ALL = math.inf  # a limit that keeps every value: the running day's figures stay exact, as the direct passes
RATIO = 1.02
ERROR_SECONDS = 1.0
ERROR_SHARE = math.sqrt(RATIO) - 1  # just under 1 %
_LOG = math.log(RATIO)


def _cell(value: float) -> int:
    """The histogram cell of *value*: 0 for |value| < 1 s, else ±(1 + floor(log|value| / log RATIO)),
    so cells sort as their values do."""
    size = abs(value)
    if size < 1:
        return 0
    n = 1 + math.floor(math.log(size) / _LOG)
    if RATIO ** (n - 1) > size:  # floating-point edges: keep size in [RATIO^(n-1), RATIO^n)
        n -= 1
    elif RATIO ** n <= size:
        n += 1
    return n if value > 0 else -n


def _middle(cell: int) -> float:
    if cell == 0:
        return 0.0
    return math.copysign(RATIO ** (abs(cell) - 0.5), cell)


@dataclass(slots=True)
class Dist:
    """Durations in seconds: their histogram {cell: count}, and the values themselves while at most *limit*."""

    values: list[float] | None = field(default_factory=list)
    cells: dict[int, int] = field(default_factory=dict)
    count: int = 0
    pending: list[str] = field(default_factory=list)  # more values, as stored (JSON), read when needed
    limit: float = EXACT

    @classmethod
    def of(cls, values: Iterable[float]) -> Dist:
        d = cls()
        for v in values:
            d.add_value(v)
        return d

    def add_value(self, value: float) -> None:
        self.count += 1
        c = _cell(value)
        self.cells[c] = self.cells.get(c, 0) + 1
        if self.values is not None:
            self.values.append(value)
            if self.count > self.limit:
                self.values, self.pending = None, []

    def merge(self, other: Dist) -> None:
        self.count += other.count
        if self.values is not None:
            if other.values is not None and self.count <= self.limit:
                self.values.extend(other._all())  # read once: a group merges into several rows
            else:
                self.values, self.pending = None, []
        cells = self.cells
        if not cells:  # the first group of a row: a copy, without a lookup per cell
            self.cells = dict(other.cells)
            return
        for c, n in other.cells.items():
            cells[c] = cells.get(c, 0) + n

    @property
    def exact(self) -> bool:
        return self.values is not None

    def stats(self) -> tuple[float | None, float | None]:
        """(median, p90) as the direct pass computes them: the median averages the two middle values of
        an even count, p90 is the nearest rank. From a histogram, each rank reads its cell's middle."""
        n = self.count
        if not n:
            return None, None
        ranks = ((n + 1) // 2, (n + 2) // 2, (9 * n + 9) // 10)
        if self.values is not None:
            s = sorted(self._all())
            got = [s[r - 1] for r in ranks]
        else:
            got = []
            seen = 0
            cells = sorted(self.cells.items())
            i = 0
            for r in ranks:  # ranks are ascending
                while seen + cells[i][1] < r:
                    seen += cells[i][1]
                    i += 1
                got.append(_middle(cells[i][0]))
        return (got[0] + got[1]) / 2, got[2]

    def _all(self) -> list[float]:
        assert self.values is not None
        for chunk in self.pending:
            self.values.extend(json.loads(chunk))
        self.pending = []
        return self.values

    def dump(self) -> Any:
        """[the values as a JSON string, or None past EXACT; cell, count, cell, count, …]"""
        values = None if self.values is None else json.dumps(self._all())
        return [values, [x for item in sorted(self.cells.items()) for x in item]]

    @classmethod
    def load(cls, data: Any, limit: float = EXACT) -> Dist:
        flat = data[1]
        cells = dict(zip(flat[::2], flat[1::2], strict=True))
        count = sum(cells.values())
        if data[0] is None or count > limit:
            return cls(None, cells, count, [], limit)
        return cls([], cells, count, [data[0]], limit)

    def copy(self, limit: float) -> Dist:
        """This distribution under *limit*: its values dropped when it holds more."""
        if self.values is None or self.count > limit:
            return Dist(None, dict(self.cells), self.count, [], limit)
        return Dist(list(self.values), dict(self.cells), self.count, list(self.pending), limit)


Group = tuple[str, int | None]  # (channel, agent id)


@dataclass(slots=True)
class Part:
    """The figures of one span that sum over spans (see the module's note)."""

    # Wall-clock and counted seconds; one and the same Dist where they are equal (no business hours).
    first: dict[Group, tuple[Dist, Dist]] = field(default_factory=dict)
    resolved: dict[Group, tuple[Dist, Dist]] = field(default_factory=dict)
    repeats: dict[str, int] = field(default_factory=dict)
    opened: dict[str, int] = field(default_factory=dict)
    replies: dict[tuple[str, int | None, str], int] = field(default_factory=dict)
    opened_count: int = 0
    resolved_count: int = 0
    busiest: dict[int, int] = field(default_factory=dict)
    limit: float = EXACT  # of every Dist merged in

    def merge(self, other: Part) -> None:
        for mine, theirs in ((self.first, other.first), (self.resolved, other.resolved)):
            for key, (wall, counted) in theirs.items():
                if key not in mine:
                    copy = wall.copy(self.limit)
                    mine[key] = (copy, copy if counted is wall else counted.copy(self.limit))
                    continue
                my_wall, my_counted = mine[key]
                if my_counted is my_wall and counted is not wall:
                    my_counted = my_wall.copy(self.limit)  # no longer the same figures
                    mine[key] = (my_wall, my_counted)
                my_wall.merge(wall)
                if my_counted is not my_wall:
                    my_counted.merge(counted)
        for ch, n in other.repeats.items():
            self.repeats[ch] = self.repeats.get(ch, 0) + n
        for ch, n in other.opened.items():
            self.opened[ch] = self.opened.get(ch, 0) + n
        for how, n in other.busiest.items():
            self.busiest[how] = self.busiest.get(how, 0) + n
        for rk, n in other.replies.items():
            self.replies[rk] = self.replies.get(rk, 0) + n
        self.opened_count += other.opened_count
        self.resolved_count += other.resolved_count

    def dump(self) -> str:
        def timed(groups: dict[Group, tuple[Dist, Dist]]) -> list[Any]:
            return [[ch, agent, wall.dump(), None if counted is wall else counted.dump()]
                    for (ch, agent), (wall, counted) in groups.items()]

        return json.dumps({
            "first": timed(self.first), "resolved": timed(self.resolved), "repeats": self.repeats,
            "opened": self.opened, "replies": [[*k, n] for k, n in self.replies.items()],
            "counts": [self.opened_count, self.resolved_count], "busiest": sorted(self.busiest.items())},
            separators=(",", ":"))

    @classmethod
    def load(cls, payload: str, limit: float = EXACT) -> Part:
        d = json.loads(payload)

        def timed(rows: list[Any]) -> dict[Group, tuple[Dist, Dist]]:
            out = {}
            for ch, agent, w, c in rows:
                wall = Dist.load(w, limit)
                out[(ch, agent)] = (wall, wall if c is None else Dist.load(c, limit))
            return out

        return cls(timed(d["first"]), timed(d["resolved"]), dict(d["repeats"]), dict(d["opened"]),
                   {(ch, agent, src): n for ch, agent, src, n in d["replies"]}, d["counts"][0], d["counts"][1],
                   {int(h): int(n) for h, n in d["busiest"]}, limit)


def compute_part(q: MetricsStorage, start: float, end: float, channels: dict[int, str],
                 busiest: dict[int, int], limit: float = EXACT) -> Part:
    """The part of [start, end) from the direct passes (*busiest* is read by the caller, who knows the
    local offsets), its distributions keeping up to *limit* values; call inside one snapshot."""
    part = Part(busiest=busiest, limit=limit)
    for target, rows in ((part.first, q.first_responses(start, end, True)), (part.resolved, q.resolutions(start, end))):
        for ch, agent, wall, counted in rows:
            pair = target.get((ch, agent))
            if pair is None:
                pair = target[(ch, agent)] = (Dist(limit=limit), Dist(limit=limit))
            pair[0].add_value(wall)
            pair[1].add_value(counted)
    for target in (part.first, part.resolved):
        for group, (wall_d, counted_d) in target.items():
            if wall_d.values == counted_d.values and wall_d.cells == counted_d.cells:
                target[group] = (wall_d, wall_d)
    part.repeats = {ch: n for ch, n in q.repeats(start, end).items() if n}
    part.opened = q.opened(start, end, True)
    for account, agent, source, n in q.replies(start, end):
        key = (channels.get(account, ""), agent, source)
        part.replies[key] = part.replies.get(key, 0) + n
    part.opened_count, = q.events_per_span("opened", [(start, end)])
    part.resolved_count, = q.events_per_span("resolved", [(start, end)])
    return part
