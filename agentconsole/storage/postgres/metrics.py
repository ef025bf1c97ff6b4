"""The metrics passes on PostgreSQL: the SQLite ones where their SQL is portable; the three that use
SQLite's scalar max()/min() and an SQL function in Python (business hours) here."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from agentconsole.storage.metrics import (
    _FIRST_RESPONDER, OpenSeconds, SqliteMetricsStorage, Timed, contacts_sql)
from agentconsole.storage.store import Store


class PostgresMetricsStorage(SqliteMetricsStorage):
    """MetricsStorage on a PostgreSQL store; counted seconds are computed from the rows, in Python."""

    # Sequence ids are taken at insert, not at commit: a writer may commit an id below the last mark.
    LOOKBACK = 1000

    def __init__(self, store: Store, open_seconds: OpenSeconds | None = None) -> None:
        self._store = store
        self.conn = store.conn
        self.counting = open_seconds is not None
        self._open_seconds = open_seconds

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        # One snapshot for every read, as SQLite's read transaction gives (READ COMMITTED would not).
        own = not self.conn.in_transaction
        if own:
            self.conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            yield
        finally:
            if own:
                self.conn.execute("COMMIT")

    def _timed(self, rows: list[Any]) -> list[Timed]:
        """(channel, agent, wall, account, start, end) rows as Timed, counting through open_seconds."""
        count = self._open_seconds
        return [(r[0], r[1], r[2], count(r[3], r[4], r[5]) if count is not None else r[5] - r[4]) for r in rows]

    def first_responses(self, start: float, end: float, with_agent: bool) -> list[Timed]:
        return self._timed(self._rows(
            f"SELECT c.channel, {_FIRST_RESPONDER if with_agent else 'NULL'},"
            " c.first_response_at - c.first_customer_at, c.account_id, c.first_customer_at, c.first_response_at"
            " FROM conversations c WHERE c.first_response_at >= :start AND c.first_response_at < :end"
            " AND c.first_customer_at IS NOT NULL", {"start": start, "end": end}))

    def resolutions(self, start: float, end: float) -> list[Timed]:
        # A reopen starts a new cycle, so a resolution counts from the reopening.
        cycle = ("GREATEST(c.first_customer_at, coalesce((SELECT max(r.at) FROM conversation_events r"
                 " WHERE r.conversation_id = e.conversation_id AND r.event = 'reopened' AND r.at <= e.at), 0))")
        return self._timed(self._rows(
            "SELECT channel, agent_id, e_at - cycle, account_id, cycle, e_at FROM ("
            f" SELECT c.channel, e.agent_id, e.at AS e_at, {cycle} AS cycle, c.account_id"
            " FROM conversation_events e JOIN conversations c"
            " ON c.id = e.conversation_id WHERE e.event = 'resolved' AND e.at >= :start AND e.at < :end"
            " AND c.first_customer_at <= e.at) AS c", {"start": start, "end": end}))

    def contacts(self, start: float, end: float, repeats: bool = True) -> dict[str, tuple[int, int, int]]:
        return {row[0]: (row[1], row[2] or 0, row[3] or 0)
                for row in self._rows(contacts_sql(repeats, "LEAST"), {"start": start, "end": end})}

    def incoming_by_week_hour(self, lo: float, hi: float, offset: float) -> list[tuple[int, int]]:
        # Epoch day 0 was a Thursday, so hour h since the epoch is hour (h + 72) % 168 of a Monday week.
        return self._rows(
            "SELECT (CAST(floor((m.sent_at + ?) / 3600) AS BIGINT) + 72) % 168 AS how, count(*)"
            " FROM messages m WHERE m.direction = 'in' AND m.sent_at >= ? AND m.sent_at < ? GROUP BY how",
            (offset, lo, hi))
