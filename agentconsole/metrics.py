"""Response-time figures for a period, in total, per channel and per agent, computed by SQL over indexes."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .clock import Clock
from .hours import HoursConfig
from .models import Channel
from .store import Store

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
    zone = ZoneInfo(timezone)
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


# The grouping of each row: one constant group for the total, the conversation's channel, or an agent.
_FIRST_RESPONDER = ("(SELECT m.agent_id FROM messages m INDEXED BY messages_conversation"
                    " WHERE m.conversation_id = c.id AND m.sent_at = c.first_response_at"
                    " AND m.direction = 'out' ORDER BY m.id LIMIT 1)")
_GROUPS = {
    "all": {"first": "''", "resolved": "''", "reply": "''", "conv": "''"},
    "channel": {"first": "c.channel", "resolved": "c.channel", "reply": "c.channel", "conv": "c.channel"},
    "agent": {"first": _FIRST_RESPONDER, "resolved": "e.agent_id", "reply": "m.agent_id", "conv": None},
}


class _Query:
    """The SQL of one report on one connection, with business hours available as open_seconds()."""

    def __init__(self, conn: sqlite3.Connection, per: Period, hours: HoursConfig | None,
                 account_names: dict[int, str]) -> None:
        self.conn = conn
        self.per = per
        self.params = {"start": per.start, "end": per.end}
        self.hours = hours if hours is not None and hours.any else None
        if self.hours is not None:
            by_id = {i: self.hours.for_account(name) for i, name in account_names.items()}

            def open_seconds(account_id: int, start: float, end: float) -> float:
                h = by_id.get(account_id)
                return max(0.0, end - start) if h is None else h.open_seconds_between(start, end)

            conn.create_function("open_seconds", 3, open_seconds, deterministic=True)

    def _open(self, start: str, end: str) -> str:
        return f"open_seconds(c.account_id, {start}, {end})" if self.hours else f"({end} - {start})"

    def _distribution(self, source: str) -> dict:
        """{group: (n, median, p90, median_open, p90_open)} of (grp, v, vo) rows; median averages the
        two middle values of an even count, p90 is the nearest rank."""
        sql = f"""
        WITH src AS ({source}),
        r AS (SELECT grp, v, vo, count(*) OVER w AS n,
                     row_number() OVER (PARTITION BY grp ORDER BY v) AS rn,
                     row_number() OVER (PARTITION BY grp ORDER BY vo) AS rno
              FROM src WINDOW w AS (PARTITION BY grp))
        SELECT grp, n,
               avg(CASE WHEN rn IN ((n + 1) / 2, (n + 2) / 2) THEN v END),
               max(CASE WHEN rn = (9 * n + 9) / 10 THEN v END),
               avg(CASE WHEN rno IN ((n + 1) / 2, (n + 2) / 2) THEN vo END),
               max(CASE WHEN rno = (9 * n + 9) / 10 THEN vo END)
        FROM r GROUP BY grp"""
        return {row[0]: tuple(row[1:]) for row in self.conn.execute(sql, self.params)}

    def first_responses(self, grp: str) -> dict:
        return self._distribution(
            f"SELECT {grp} AS grp, c.first_response_at - c.first_customer_at AS v,"
            f" {self._open('c.first_customer_at', 'c.first_response_at')} AS vo"
            " FROM conversations c INDEXED BY conv_first_response"
            " WHERE c.first_response_at >= :start AND c.first_response_at < :end"
            " AND c.first_customer_at IS NOT NULL")

    def resolutions(self, grp: str) -> dict:
        # A reopen starts a new cycle: its resolution counts from the reopening, not from the first message.
        cycle = ("max(c.first_customer_at, coalesce((SELECT max(r.at) FROM conversation_events r"
                 " INDEXED BY events_conversation WHERE r.conversation_id = e.conversation_id"
                 " AND r.event = 'reopened' AND r.at <= e.at), 0))")
        return self._distribution(
            f"SELECT grp, e_at - cycle AS v, {self._open('cycle', 'e_at')} AS vo FROM ("
            f" SELECT {grp} AS grp, e.at AS e_at, {cycle} AS cycle, c.account_id"
            " FROM conversation_events e INDEXED BY events_at JOIN conversations c ON c.id = e.conversation_id"
            " WHERE e.event = 'resolved' AND e.at >= :start AND e.at < :end"
            " AND c.first_customer_at IS NOT NULL AND c.first_customer_at <= e.at) AS c")

    def contacts(self, grp: str) -> dict:
        """{group: (conversations, answered, repeat contacts)} over customer messages in the period."""
        sql = f"""
        WITH ins AS (
            SELECT m.conversation_id AS cid, min(m.sent_at) AS first_in,
                   sum(m.sent_at > c.first_customer_at AND (c.first_response_at IS NULL
                       OR m.sent_at < c.first_response_at)) AS repeats
            FROM messages m INDEXED BY messages_metrics JOIN conversations c ON c.id = m.conversation_id
            WHERE m.direction = 'in' AND m.sent_at >= :start AND m.sent_at < :end
            GROUP BY m.conversation_id)
        SELECT {grp} AS grp, count(*),
               sum(c.last_out_at >= ins.first_in AND EXISTS (
                   SELECT 1 FROM messages o INDEXED BY messages_conversation WHERE o.conversation_id = ins.cid
                   AND o.sent_at >= ins.first_in AND o.sent_at < :end AND o.direction = 'out')),
               sum(ins.repeats)
        FROM ins JOIN conversations c ON c.id = ins.cid GROUP BY grp"""
        return {row[0]: (row[1], row[2] or 0, row[3] or 0) for row in self.conn.execute(sql, self.params)}

    def opened(self, grp: str) -> dict:
        return dict(self.conn.execute(
            f"SELECT {grp} AS grp, count(*) FROM conversation_events e INDEXED BY events_at"
            " JOIN conversations c ON c.id = e.conversation_id"
            " WHERE e.event = 'opened' AND e.at >= :start AND e.at < :end GROUP BY grp", self.params))

    def replies(self, grp: str) -> dict:
        """{group: {source: count}} of our replies in the period."""
        out: dict = {}
        for g, source, n in self.conn.execute(
                f"SELECT {grp} AS grp, m.source, count(*) FROM messages m INDEXED BY messages_metrics"
                " JOIN conversations c ON c.id = m.conversation_id"
                " WHERE m.direction = 'out' AND m.sent_at >= :start AND m.sent_at < :end"
                " AND m.source IN ('canned', 'edited', 'personal') GROUP BY grp, m.source", self.params):
            out.setdefault(g, {})[source] = n
        return out

    def per_day(self, event: str) -> tuple[int, ...]:
        days = self.per.days
        values = ",".join(f"({i}, ?, ?)" for i in range(len(days)))
        params = [x for d in days for x in (d.start, d.end)]
        rows = dict(self.conn.execute(
            f"WITH days(i, lo, hi) AS (VALUES {values}) SELECT days.i, (SELECT count(*)"
            " FROM conversation_events e INDEXED BY events_at WHERE e.event = ? AND e.at >= days.lo"
            " AND e.at < days.hi) FROM days", [*params, event]))
        return tuple(rows.get(i, 0) for i in range(len(days)))

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
        for a, b in zip(points, points[1:]):
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
    q = _Query(conn, per, hours, {a.id: a.name for a in store.accounts()})
    agents = {r[0]: r[1] for r in conn.execute("SELECT id, name FROM agents")}
    own = not conn.in_transaction
    if own:
        conn.execute("BEGIN")  # one read snapshot, so the figures agree with each other
    try:
        total = _figures(q, "all", agents).get("", Figures("", "All"))
        by_channel = tuple(_figures(q, "channel", agents).values()) if "channel" in groups else ()
        by_agent = tuple(_figures(q, "agent", agents).values()) if "agent" in groups else ()
        return Report(per, total, by_channel, by_agent, q.per_day("opened"), q.per_day("resolved"),
                      q.busiest())
    finally:
        if own:
            conn.execute("COMMIT")


def _figures(q: _Query, grouping: str, agents: dict[int, str]) -> dict:
    g = _GROUPS[grouping]
    first = q.first_responses(g["first"])
    resolved = q.resolutions(g["resolved"])
    replies = q.replies(g["reply"])
    contacts = q.contacts(g["conv"]) if g["conv"] else None
    opened = q.opened(g["conv"]) if g["conv"] else None
    rows = {}
    for key in set(first) | set(resolved) | set(replies) | set(contacts or ()) | set(opened or ()):
        fr = first.get(key, (0, None, None, None, None))
        rs = resolved.get(key, (0, None, None, None, None))
        ct = contacts.get(key, (0, 0, 0)) if contacts is not None else (None, None, None)
        rp = replies.get(key, {})
        rows[key] = Figures(
            key="" if key is None else str(key), label=_label(grouping, key, agents),
            conversations=ct[0], answered=ct[1], repeat_contacts=ct[2],
            first_responses=fr[0], first_response_median=fr[1], first_response_p90=fr[2],
            first_response_median_open=fr[3], first_response_p90_open=fr[4],
            resolved=rs[0], resolution_median=rs[1], resolution_median_open=rs[3],
            opened=(opened.get(key, 0) if opened is not None else None),
            canned=rp.get("canned", 0), edited=rp.get("edited", 0), personal=rp.get("personal", 0))
    return dict(sorted(rows.items(), key=lambda kv: (kv[0] is None, kv[1].label.lower())))


def _label(grouping: str, key: object, agents: dict[int, str]) -> str:
    if grouping == "all":
        return "All"
    if grouping == "channel":
        try:
            return Channel(key).label
        except ValueError:
            return str(key)
    return agents.get(key, NO_AGENT) if key is not None else NO_AGENT  # type: ignore[arg-type]


def today_header(store: Store, clock: Clock, tz: str = "UTC", hours: HoursConfig | None = None
                 ) -> HeaderFigures:
    """Today's median and p90 first response and response rate, for the inbox's header line."""
    per = period("today", clock.now(), tz)
    q = _Query(store.conn, per, hours, {a.id: a.name for a in store.accounts()} if hours else {})
    fr = q.first_responses("''").get("", (0, None, None, None, None))
    ct = q.contacts("''").get("", (0, 0, 0))
    return HeaderFigures(fr[1], fr[2], fr[0], ct[1] / ct[0] if ct[0] else None, ct[0])
