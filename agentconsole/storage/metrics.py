"""Where the metrics come from: the passes one report needs, as an interface and its SQLite
implementation, each pass one read over a covering index."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from agentconsole.storage.ingest import AUTOMATIC_SOURCES
from agentconsole.storage.store import Store

# (account id, start, end) -> the seconds between them that count (business hours), per account.
OpenSeconds = Callable[[int, float, float], float]
# (channel, agent id or None, wall-clock seconds, counted seconds)
Timed = tuple[str, int | None, float, float]

# Automatic messages (away replies) answer nobody; the store leaves them out of the summary too.
_ANSWERING = "({m}.source IS NULL OR {m}.source NOT IN ({sources}))".replace(
    "{sources}", ", ".join(f"'{s}'" for s in sorted(AUTOMATIC_SOURCES)))
# Found by an exact seek on (direction, sent_at, conversation) in the covering time index.
_FIRST_RESPONDER = ("(SELECT m.agent_id FROM messages m INDEXED BY messages_metrics"
                    " WHERE m.direction = 'out' AND m.sent_at = c.first_response_at AND m.conversation_id = c.id"
                    f" AND {_ANSWERING.format(m='m')} LIMIT 1)")


def contacts_sql(repeats: bool, least: str) -> str:
    """The contacts pass; *least* is the backend's two-argument minimum (SQLite's min, PostgreSQL's LEAST).

    Answered means a reply at or after the first customer message in the period, before it ends. Every
    such conversation has last_message_at >= start, so the recent-activity index bounds them. The
    period's first customer message (a subquery) is looked up only where the summary cannot answer: it
    lies at or before the last one (last_in_at), so a reply after that is after it too; each CASE reads
    its branches only when reached."""
    first_in = ("(CASE WHEN c.first_customer_at >= :start THEN c.first_customer_at"
                " ELSE (SELECT min(m.sent_at) FROM messages m INDEXED BY messages_conversation"
                " WHERE m.conversation_id = c.id AND m.sent_at >= :start AND m.direction = 'in') END)")
    replied = ("CASE WHEN c.last_out_at < :end THEN 1 WHEN EXISTS (SELECT 1 FROM messages o"
               " INDEXED BY messages_conversation WHERE o.conversation_id = c.id"
               f" AND o.sent_at >= {first_in} AND o.sent_at < :end AND o.direction = 'out'"
               f" AND {_ANSWERING.format(m='o')}) THEN 1 ELSE 0 END")
    repeat = "0" if not repeats else (
        "sum(CASE WHEN c.first_response_at <= :start OR c.customer_count < 2 THEN 0 ELSE ("
        " SELECT count(*) FROM messages r INDEXED BY messages_conversation WHERE r.conversation_id = c.id"
        " AND r.sent_at > c.first_customer_at AND r.sent_at >= :start"
        f" AND r.sent_at < {least}(coalesce(c.first_response_at, :end), :end) AND r.direction = 'in') END)")
    return (f"SELECT c.channel, count(*), sum(CASE WHEN c.last_out_at >= c.last_in_at THEN {replied}"
            f" WHEN c.last_out_at >= {first_in} THEN {replied} ELSE 0 END), {repeat}"
            " FROM conversations c INDEXED BY conv_recent_views"
            " WHERE c.last_message_at >= :start AND c.last_in_at >= :start AND c.first_customer_at < :end"
            f" AND CASE WHEN c.last_in_at < :end THEN 1 WHEN {first_in} < :end THEN 1 ELSE 0 END = 1"
            " GROUP BY c.channel")


class MetricsStorage(Protocol):
    """The reads of one report over [start, end). Counted seconds come from the OpenSeconds the
    implementation was built with (wall-clock seconds without one)."""

    def snapshot(self) -> Any:
        """A context in which every read sees the same state, so the figures agree with each other."""
        ...

    def agents(self) -> dict[int, str]: ...

    def first_responses(self, start: float, end: float, with_agent: bool) -> list[Timed]:
        """Each first reply given in the period: our first reply − the customer's first message."""
        ...

    def resolutions(self, start: float, end: float) -> list[Timed]:
        """Each time marked done in the period, from the first customer message of that cycle."""
        ...

    def contacts(self, start: float, end: float, repeats: bool = True) -> dict[str, tuple[int, int, int]]:
        """{channel: (conversations, answered, repeat contacts)} with a customer message in the period;
        repeat contacts are 0 when not asked for (repeats() reads them per span)."""
        ...

    def opened(self, start: float, end: float, by_channel: bool) -> dict[str, int]:
        """Conversations opened in the period, per channel (or under "" in total)."""
        ...

    def replies(self, start: float, end: float) -> list[tuple[int, int | None, str, int]]:
        """(account id, agent id, source, count) of our replies in the period."""
        ...

    def events_per_span(self, event: str, spans: Sequence[tuple[float, float]]) -> tuple[int, ...]: ...

    def incoming_by_week_hour(self, lo: float, hi: float, offset: float) -> list[tuple[int, int]]:
        """(hour of a Monday-first week, customer messages) in [lo, hi), local time at UTC *offset*."""
        ...

    def repeats(self, start: float, end: float) -> dict[str, int]:
        """{channel: customer messages in the period after their first and before our first reply}."""
        ...

    def contacts_since(self, start: float, since: float, end: float) -> dict[str, tuple[int, int]]:
        """{channel: (conversations, answered)} to add to contacts(start, since) for contacts(start, end),
        read from the conversations with a message in [since, end) only."""
        ...

    @property
    def caching(self) -> bool:
        """Whether days may be cached here (a damaged workspace is never written)."""
        ...

    def forget_changed_days(self) -> None:
        """Drop the cached days that a message or event stored since the last call may have changed."""
        ...

    def cached_days(self, scope: str, starts: Sequence[float]) -> dict[float, str]:
        """{day start: payload} of the days of *scope* (timezone and hours) that are cached."""
        ...

    def cache_day(self, scope: str, start: float, end: float, payload: str) -> None: ...

    def cached_span(self, scope: str, start: float) -> tuple[float, str] | None:
        """(end, payload) of the span of *scope* cached from *start*, if one is."""
        ...


class SqliteMetricsStorage:
    """MetricsStorage on the store's connection; business hours are an SQL function, open_seconds()."""

    # How far below the last mark an id may still commit after it: the mark keeps how many rows that
    # window held, and a change drops the days from its oldest row (SQLite takes ids in commit order).
    LOOKBACK = 0

    def __init__(self, store: Store, open_seconds: OpenSeconds | None = None) -> None:
        self._store = store
        self.conn = store.conn
        self.counting = open_seconds is not None
        if open_seconds is not None:
            self.conn.create_function("open_seconds", 3, open_seconds, deterministic=True)

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        own = not self.conn.in_transaction
        if own:
            self.conn.execute("BEGIN")
        try:
            yield
        finally:
            if own:
                self.conn.execute("COMMIT")

    def _rows(self, sql: str, params: Sequence[object] | Mapping[str, object] = ()) -> list[Any]:
        cur = self.conn.cursor()
        cur.row_factory = None  # plain tuples: these passes return thousands of rows
        return cur.execute(sql, params).fetchall()

    def _open(self, start: str, end: str) -> str:
        return f"open_seconds(c.account_id, {start}, {end})" if self.counting else f"({end} - {start})"

    def agents(self) -> dict[int, str]:
        return dict(self._rows("SELECT id, name FROM agents"))

    def first_responses(self, start: float, end: float, with_agent: bool) -> list[Timed]:
        return self._rows(
            f"SELECT c.channel, {_FIRST_RESPONDER if with_agent else 'NULL'},"
            " c.first_response_at - c.first_customer_at,"
            f" {self._open('c.first_customer_at', 'c.first_response_at')}"
            " FROM conversations c INDEXED BY conv_first_response"
            " WHERE c.first_response_at >= :start AND c.first_response_at < :end"
            " AND c.first_customer_at IS NOT NULL", {"start": start, "end": end})

    def resolutions(self, start: float, end: float) -> list[Timed]:
        # A reopen starts a new cycle, so a resolution counts from the reopening.
        cycle = ("max(c.first_customer_at, coalesce((SELECT max(r.at) FROM conversation_events r"
                 " INDEXED BY events_reopened WHERE r.conversation_id = e.conversation_id"
                 " AND r.event = 'reopened' AND r.at <= e.at), 0))")
        return self._rows(
            f"SELECT channel, agent_id, e_at - cycle, {self._open('cycle', 'e_at')} FROM ("
            f" SELECT c.channel, e.agent_id, e.at AS e_at, {cycle} AS cycle, c.account_id"
            " FROM conversation_events e INDEXED BY events_metrics JOIN conversations c"
            " ON c.id = e.conversation_id WHERE e.event = 'resolved' AND e.at >= :start AND e.at < :end"
            " AND c.first_customer_at <= e.at) AS c", {"start": start, "end": end})

    def contacts(self, start: float, end: float, repeats: bool = True) -> dict[str, tuple[int, int, int]]:
        return {row[0]: (row[1], row[2] or 0, row[3] or 0)
                for row in self._rows(contacts_sql(repeats, "min"), {"start": start, "end": end})}

    def opened(self, start: float, end: float, by_channel: bool) -> dict[str, int]:
        params = {"start": start, "end": end}
        if not by_channel:  # the total needs no conversation rows at all
            return {"": self._rows("SELECT count(*) FROM conversation_events e INDEXED BY events_metrics"
                                   " WHERE e.event = 'opened' AND e.at >= :start AND e.at < :end", params)[0][0]}
        return dict(self._rows(
            "SELECT c.channel, count(*) FROM conversation_events e INDEXED BY events_metrics"
            " JOIN conversations c ON c.id = e.conversation_id"
            " WHERE e.event = 'opened' AND e.at >= :start AND e.at < :end GROUP BY c.channel", params))

    def replies(self, start: float, end: float) -> list[tuple[int, int | None, str, int]]:
        return self._rows(
            "SELECT m.account_id, m.agent_id, m.source, count(*) FROM messages m INDEXED BY messages_metrics"
            " WHERE m.direction = 'out' AND m.sent_at >= :start AND m.sent_at < :end"
            " AND m.source IN ('canned', 'edited', 'personal') GROUP BY m.account_id, m.agent_id, m.source",
            {"start": start, "end": end})

    def events_per_span(self, event: str, spans: Sequence[tuple[float, float]]) -> tuple[int, ...]:
        values = ",".join(f"({i}, ?, ?)" for i in range(len(spans)))
        params = [x for span in spans for x in span]
        rows = dict(self._rows(
            f"WITH spans(i, lo, hi) AS (VALUES {values}) SELECT spans.i, (SELECT count(*)"
            " FROM conversation_events e INDEXED BY events_metrics WHERE e.event = ? AND e.at >= spans.lo"
            " AND e.at < spans.hi) FROM spans", [*params, event]))
        return tuple(rows.get(i, 0) for i in range(len(spans)))

    def incoming_by_week_hour(self, lo: float, hi: float, offset: float) -> list[tuple[int, int]]:
        # Epoch day 0 was a Thursday, so hour h since the epoch is hour (h + 72) % 168 of a Monday week.
        return self._rows(
            "SELECT (CAST((m.sent_at + ?) / 3600 AS INTEGER) + 72) % 168 AS how, count(*)"
            " FROM messages m INDEXED BY messages_metrics WHERE m.direction = 'in'"
            " AND m.sent_at >= ? AND m.sent_at < ? GROUP BY how", (offset, lo, hi))

    @property
    def caching(self) -> bool:
        return not self._store.damaged

    def contacts_since(self, start: float, since: float, end: float) -> dict[str, tuple[int, int]]:
        # A conversation asking before *since* is in contacts(start, since) already; it adds an answer
        # when that pass found none and we replied in [since, end). One asking first after *since* adds
        # itself, and an answer when we replied after its first message.
        def answer(lo: str, hi: str) -> str:
            return ("EXISTS (SELECT 1 FROM messages o INDEXED BY messages_conversation WHERE o.conversation_id = f.id"
                    f" AND o.sent_at >= {lo} AND o.sent_at < {hi} AND o.direction = 'out'"
                    f" AND {_ANSWERING.format(m='o')})")

        def first_in(lo: str, hi: str) -> str:
            return ("(SELECT min(m.sent_at) FROM messages m INDEXED BY messages_conversation"
                    f" WHERE m.conversation_id = ids.id AND m.direction = 'in' AND m.sent_at >= {lo} AND m.sent_at < {hi})")

        rows = self._rows(
            "WITH ids AS (SELECT DISTINCT m.conversation_id AS id FROM messages m INDEXED BY messages_metrics"
            " WHERE m.direction IN ('in', 'out') AND m.sent_at >= :since AND m.sent_at < :end),"
            f" f AS (SELECT ids.id, {first_in(':start', ':since')} AS before, {first_in(':since', ':end')} AS after"
            " FROM ids)"
            " SELECT c.channel, sum(CASE WHEN f.before IS NULL AND f.after IS NOT NULL THEN 1 ELSE 0 END),"
            " sum(CASE WHEN f.before IS NOT NULL THEN"
            f" (CASE WHEN {answer('f.before', ':since')} THEN 0 WHEN {answer(':since', ':end')} THEN 1 ELSE 0 END)"
            f" WHEN f.after IS NOT NULL THEN (CASE WHEN {answer('f.after', ':end')} THEN 1 ELSE 0 END) ELSE 0 END)"
            " FROM f JOIN conversations c ON c.id = f.id GROUP BY c.channel",
            {"start": start, "since": since, "end": end})
        return {ch: (conv or 0, answered or 0) for ch, conv, answered in rows}

    def repeats(self, start: float, end: float) -> dict[str, int]:
        # The contacts pass's repeat count, per message: in [start, end), after the first customer
        # message and before our first reply. A sum over days equals the pass over the whole period.
        return dict(self._rows(
            "SELECT c.channel, count(*) FROM messages r INDEXED BY messages_metrics"
            " JOIN conversations c ON c.id = r.conversation_id"
            " WHERE r.direction = 'in' AND r.sent_at >= :start AND r.sent_at < :end"
            " AND r.sent_at > c.first_customer_at"
            " AND (c.first_response_at IS NULL OR r.sent_at < c.first_response_at) GROUP BY c.channel",
            {"start": start, "end": end}))

    def forget_changed_days(self) -> None:
        # Every figure of a day comes from messages and events at or before that day's end and from
        # conversation summaries that only move to a time of a new message; so a message or event at t
        # can change only the days ending after t. A new mark is taken before any day is computed.
        tables = (("messages", "sent_at"), ("conversation_events", "at"))
        if not self.LOOKBACK and not self.conn.in_transaction:  # the usual look: no writer lock when nothing is new
            mark = self._rows("SELECT message_id, event_id FROM metrics_marks WHERE name = 'days'")
            top = [self._rows(f"SELECT coalesce(max(id), 0) FROM {table}")[0][0] for table, _ in tables]
            if mark and list(mark[0]) == top:
                return
        with self._store.transaction():
            mark = self._rows("SELECT message_id, event_id, message_window, event_window FROM metrics_marks"
                              " WHERE name = 'days'")
            top = [self._rows(f"SELECT coalesce(max(id), 0) FROM {table}")[0][0] for table, _ in tables]
            times: list[float] = []
            for i, (table, at) in enumerate(tables):
                if not mark:
                    break  # nothing is cached before the first mark
                seen, window = mark[0][i], mark[0][2 + i]
                (new,), = self._rows(f"SELECT min({at}) FROM {table} WHERE id > ?", (seen,))
                times += [new] if new is not None else []
                if self.LOOKBACK and self._window(table, seen) != window:  # a late commit below the mark
                    (late,), = self._rows(f"SELECT min({at}) FROM {table} WHERE id > ? AND id <= ?",
                                          (seen - self.LOOKBACK, seen))
                    times += [late] if late is not None else []
            if times:
                self.conn.execute("DELETE FROM metrics_days WHERE day_end > ?", (min(times),))
            windows = [self._window(table, top[i]) if self.LOOKBACK else 0 for i, (table, _) in enumerate(tables)]
            if mark and tuple(mark[0]) == (*top, *windows):
                return  # nothing stored since the last look
            self.conn.execute(
                "INSERT INTO metrics_marks(name, message_id, event_id, message_window, event_window)"
                " VALUES ('days', ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET message_id = excluded.message_id,"
                " event_id = excluded.event_id, message_window = excluded.message_window,"
                " event_window = excluded.event_window", (*top, *windows))

    def _window(self, table: str, below: int) -> int:
        """Rows with an id in the LOOKBACK ids up to *below*."""
        return int(self._rows(f"SELECT count(*) FROM {table} WHERE id > ? AND id <= ?",
                              (below - self.LOOKBACK, below))[0][0])

    def cached_days(self, scope: str, starts: Sequence[float]) -> dict[float, str]:
        if not starts:
            return {}
        return dict(self._rows("SELECT day_start, payload FROM metrics_days WHERE scope = ?"
                               " AND day_start >= ? AND day_start <= ?", (scope, min(starts), max(starts))))

    def cache_day(self, scope: str, start: float, end: float, payload: str) -> None:
        with self._store.transaction():
            self.conn.execute(
                "INSERT INTO metrics_days(scope, day_start, day_end, payload) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (scope, day_start) DO UPDATE SET day_end = excluded.day_end,"
                " payload = excluded.payload", (scope, start, end, payload))

    def cached_span(self, scope: str, start: float) -> tuple[float, str] | None:
        rows = self._rows("SELECT day_end, payload FROM metrics_days WHERE scope = ? AND day_start = ?",
                          (scope, start))
        return (float(rows[0][0]), rows[0][1]) if rows else None
