"""Response-time figures for a period, in total, per channel and per agent, computed by SQL over indexes."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agentconsole.domain.clock import Clock
from agentconsole.response.hours import HoursConfig
from agentconsole.domain.models import Channel
from agentconsole.response.sla import format_wait
from agentconsole.storage.ingest import AUTOMATIC_SOURCES
from agentconsole.storage.store import Store

PERIODS = ("today", "7d", "30d")
MAX_DAYS = 366
NO_AGENT = "(no agent)"
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


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


# Automatic messages (away replies) answer nobody; the store leaves them out of the summary too.
_ANSWERING = "({m}.source IS NULL OR {m}.source NOT IN ({sources}))".replace(
    "{sources}", ", ".join(f"'{s}'" for s in sorted(AUTOMATIC_SOURCES)))
# Found by an exact seek on (direction, sent_at, conversation) in the covering time index.
_FIRST_RESPONDER = ("(SELECT m.agent_id FROM messages m INDEXED BY messages_metrics"
                    " WHERE m.direction = 'out' AND m.sent_at = c.first_response_at AND m.conversation_id = c.id"
                    f" AND {_ANSWERING.format(m='m')} LIMIT 1)")


class _Query:
    """The SQL of one report on one connection, with business hours available as open_seconds().

    Each family of figures is one pass over a covering index that returns its rows already tagged
    with channel and agent; the total, channel and agent breakdowns are cut from that one pass.
    """

    def __init__(self, conn: sqlite3.Connection, per: Period, hours: HoursConfig | None,
                 accounts: dict[int, tuple[str, str]]) -> None:
        self.conn = conn
        self.per = per
        self.params = {"start": per.start, "end": per.end}
        self.channels = {i: channel for i, (_, channel) in accounts.items()}
        self.hours = hours if hours is not None and hours.any else None
        if self.hours is not None:
            by_id = {i: self.hours.for_account(name) for i, (name, _) in accounts.items()}

            def open_seconds(account_id: int, start: float, end: float) -> float:
                h = by_id.get(account_id)
                return max(0.0, end - start) if h is None else h.open_seconds_between(start, end)

            conn.create_function("open_seconds", 3, open_seconds, deterministic=True)

    def _rows(self, sql: str) -> list[tuple]:
        cur = self.conn.cursor()
        cur.row_factory = None  # plain tuples: these passes return thousands of rows
        return cur.execute(sql, self.params).fetchall()

    def _open(self, start: str, end: str) -> str:
        return f"open_seconds(c.account_id, {start}, {end})" if self.hours else f"({end} - {start})"

    def first_responses(self, with_agent: bool) -> list[tuple]:
        """(channel, agent, wall, open) of each first reply given in the period: our first reply − the
        customer's first message."""
        return self._rows(
            f"SELECT c.channel, {_FIRST_RESPONDER if with_agent else 'NULL'},"
            " c.first_response_at - c.first_customer_at,"
            f" {self._open('c.first_customer_at', 'c.first_response_at')}"
            " FROM conversations c INDEXED BY conv_first_response"
            " WHERE c.first_response_at >= :start AND c.first_response_at < :end"
            " AND c.first_customer_at IS NOT NULL")

    def resolutions(self) -> list[tuple]:
        """(channel, agent, wall, open) of each time marked done in the period, counted from the first
        customer message of that cycle: a reopen starts a new cycle, so it counts from the reopening."""
        cycle = ("max(c.first_customer_at, coalesce((SELECT max(r.at) FROM conversation_events r"
                 " INDEXED BY events_reopened WHERE r.conversation_id = e.conversation_id"
                 " AND r.event = 'reopened' AND r.at <= e.at), 0))")
        return self._rows(
            f"SELECT channel, agent_id, e_at - cycle, {self._open('cycle', 'e_at')} FROM ("
            f" SELECT c.channel, e.agent_id, e.at AS e_at, {cycle} AS cycle, c.account_id"
            " FROM conversation_events e INDEXED BY events_metrics JOIN conversations c"
            " ON c.id = e.conversation_id WHERE e.event = 'resolved' AND e.at >= :start AND e.at < :end"
            " AND c.first_customer_at <= e.at) AS c")

    def contacts(self) -> dict[str, tuple[int, int, int]]:
        """{channel: (conversations, answered, repeat contacts)} of conversations with a customer message
        in the period; answered means a reply at or after the first of those, before the period ends."""
        # Every such conversation has last_message_at >= start, so the recent-activity index bounds them.
        sql = """
        WITH cand AS (
            SELECT c.id, c.channel, c.first_customer_at AS fc, c.first_response_at AS fr, c.last_out_at AS lo,
                   c.customer_count AS n_in,
                   CASE WHEN c.first_customer_at >= :start THEN c.first_customer_at
                        ELSE (SELECT min(m.sent_at) FROM messages m INDEXED BY messages_conversation
                              WHERE m.conversation_id = c.id AND m.sent_at >= :start AND m.direction = 'in')
                   END AS first_in
            FROM conversations c INDEXED BY conv_recent_views
            WHERE c.last_message_at >= :start AND c.last_in_at >= :start AND c.first_customer_at < :end)
        SELECT c.channel, count(*),
               sum(c.lo >= c.first_in AND (c.lo < :end OR EXISTS (
                   SELECT 1 FROM messages o INDEXED BY messages_conversation WHERE o.conversation_id = c.id
                   AND o.sent_at >= c.first_in AND o.sent_at < :end AND o.direction = 'out'
                   AND """ + _ANSWERING.format(m="o") + """))),
               sum(CASE WHEN c.fr <= :start OR c.n_in < 2 THEN 0 ELSE (
                   SELECT count(*) FROM messages r INDEXED BY messages_conversation WHERE r.conversation_id = c.id
                   AND r.sent_at > c.fc AND r.sent_at >= :start AND r.sent_at < min(coalesce(c.fr, :end), :end)
                   AND r.direction = 'in') END)
        FROM cand AS c WHERE c.first_in < :end GROUP BY c.channel"""
        return {row[0]: (row[1], row[2] or 0, row[3] or 0) for row in self._rows(sql)}

    def opened(self, by_channel: bool) -> dict[str, int]:
        if not by_channel:  # the total needs no conversation rows at all
            return {"": self._rows("SELECT count(*) FROM conversation_events e INDEXED BY events_metrics"
                                   " WHERE e.event = 'opened' AND e.at >= :start AND e.at < :end")[0][0]}
        return dict(self._rows(
            "SELECT c.channel, count(*) FROM conversation_events e INDEXED BY events_metrics"
            " JOIN conversations c ON c.id = e.conversation_id"
            " WHERE e.event = 'opened' AND e.at >= :start AND e.at < :end GROUP BY c.channel"))

    def replies(self) -> list[tuple]:
        """(channel, agent, source, count) of our replies in the period."""
        return [(self.channels.get(account, ""), agent, source, n) for account, agent, source, n in self._rows(
            "SELECT m.account_id, m.agent_id, m.source, count(*) FROM messages m INDEXED BY messages_metrics"
            " WHERE m.direction = 'out' AND m.sent_at >= :start AND m.sent_at < :end"
            " AND m.source IN ('canned', 'edited', 'personal') GROUP BY m.account_id, m.agent_id, m.source")]

    def per_day(self, event: str) -> tuple[int, ...]:
        return self.per_span(event, [(d.start, d.end) for d in self.per.days])

    def per_hour(self, event: str) -> tuple[int, ...]:
        return self.per_span(event, _hours_of(self.per.days[0], self.per.timezone))

    def per_span(self, event: str, spans: list[tuple[float, float]]) -> tuple[int, ...]:
        values = ",".join(f"({i}, ?, ?)" for i in range(len(spans)))
        params = [x for span in spans for x in span]
        rows = dict(self.conn.execute(
            f"WITH spans(i, lo, hi) AS (VALUES {values}) SELECT spans.i, (SELECT count(*)"
            " FROM conversation_events e INDEXED BY events_metrics WHERE e.event = ? AND e.at >= spans.lo"
            " AND e.at < spans.hi) FROM spans", [*params, event]))
        return tuple(rows.get(i, 0) for i in range(len(spans)))

    def busiest(self) -> tuple[int, ...]:
        counts = [0] * 168
        for lo, hi, offset in _offset_segments(self.per):
            # Epoch day 0 was a Thursday, so hour h since the epoch is hour (h + 72) % 168 of a Monday week.
            for how, n in self.conn.execute(
                    "SELECT (CAST((m.sent_at + ?) / 3600 AS INTEGER) + 72) % 168 AS how, count(*)"
                    " FROM messages m INDEXED BY messages_metrics WHERE m.direction = 'in'"
                    " AND m.sent_at >= ? AND m.sent_at < ? GROUP BY how", (offset, lo, hi)):
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
        return datetime.fromtimestamp(at, zone).utcoffset().total_seconds()

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


def report(store: Store, per: Period, hours: HoursConfig | None = None,
           groups: tuple[str, ...] = ("channel", "agent")) -> Report:
    """Every figure of the metrics screen and the CLI for *per*; *groups* picks the breakdowns."""
    conn = store.conn
    q = _Query(conn, per, hours, {a.id: (a.name, a.channel) for a in store.accounts()})
    own = not conn.in_transaction
    if own:
        conn.execute("BEGIN")  # one read snapshot, so the figures agree with each other
    try:
        agents = dict(q._rows("SELECT id, name FROM agents"))
        first = q.first_responses("agent" in groups)
        resolved = q.resolutions()
        contacts = q.contacts()
        opened = q.opened("channel" in groups)
        replies = q.replies()
        per_day = q.per_day("opened"), q.per_day("resolved")
        per_hour = (q.per_hour("opened"), q.per_hour("resolved")) if len(per.days) == 1 else ((), ())
        busiest = q.busiest()
    finally:
        if own:
            conn.execute("COMMIT")
    conv_total = tuple(sum(c[i] for c in contacts.values()) for i in range(3))
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
            by_agent.append(_row("" if agent is None else str(agent), agents.get(agent, NO_AGENT),
                                 [r for r in first if r[1] == agent], [r for r in resolved if r[1] == agent],
                                 [r for r in replies if r[1] == agent], None, None))
        by_agent.sort(key=lambda f: (f.label == NO_AGENT, f.label.lower()))
    return Report(per, total, tuple(by_channel), tuple(by_agent), *per_day, busiest, *per_hour)


def compute(store: Store, spec: str, now: float, timezone: str = "UTC", hours: HoursConfig | None = None,
            groups: tuple[str, ...] = ("channel", "agent")) -> Report:
    """The report the metrics screen shows for *spec* ("today" when it opens): what its budget times."""
    return report(store, period(spec, now, timezone), hours, groups)


def _stats(values: list[float]) -> tuple[float | None, float | None]:
    """(median, p90): the median averages the two middle values of an even count; p90 is the nearest
    rank, the smallest value at or above 90% of them."""
    if not values:
        return None, None
    s = sorted(values)
    n = len(s)
    return (s[(n + 1) // 2 - 1] + s[(n + 2) // 2 - 1]) / 2, s[(9 * n + 9) // 10 - 1]


def _row(key: str, label: str, first: list[tuple], resolved: list[tuple], replies: list[tuple],
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
    """Today's median and p90 first response and response rate, for the inbox's header line."""
    per = period("today", clock.now(), tz)
    q = _Query(store.conn, per, hours, {a.id: (a.name, a.channel) for a in store.accounts()})
    first = q.first_responses(False)
    median, p90 = _stats([r[2] for r in first])
    contacts = q.contacts().values()
    conversations, answered = sum(c[0] for c in contacts), sum(c[1] for c in contacts)
    return HeaderFigures(median, p90, len(first), answered / conversations if conversations else None,
                         conversations, *_stats([r[3] for r in first]))


def fmt_count(value: int | None) -> str:
    """A figure as the CLI and the metrics screen both print it: '–' when there is none."""
    return "–" if value is None else str(value)


def fmt_pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def fmt_duration(seconds: float | None) -> str:
    return "–" if seconds is None else format_wait(seconds)
