"""The SQLite store: connections and transactions, the inbox's read queries and its small writes."""

from __future__ import annotations

import json
import sqlite3
import threading
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from agentconsole.storage import connections, db, postgres, soundness
from agentconsole.storage.health import Health
from agentconsole.storage import search as fulltext
from agentconsole.storage.actions import ANY_ASSIGNEE, ConversationActions  # noqa: F401  (callers import it here)
from agentconsole.storage.drafts import Drafts
from agentconsole.storage.search import fts_query  # noqa: F401  (where callers and tests import it)
from agentconsole.domain.clock import Clock, SystemClock
from agentconsole.domain.models import Channel, InboundMessage
from agentconsole.domain.rows import AccountRow, AgentRow, ContactCard, ConversationRow, MessageRow, NoteRow, SearchHit
from agentconsole.storage.narrowing import conversation as _conversation
from agentconsole.storage.narrowing import narrowing as _narrowing  # views.py imports it from here

__all__ = ["ANY_ASSIGNEE", "Store", "_narrowing", "fts_query"]
from agentconsole.domain.sanitize import clean
from agentconsole.domain.filters import ViewFilter
from agentconsole.domain.views import VIEWS, VIEWS_BY_KEY

if TYPE_CHECKING:
    from agentconsole.storage.ingest import IngestReport
    from agentconsole.storage.postgres.server import Server
    from agentconsole.storage.canned import CannedStorage
    from agentconsole.storage.metrics import MetricsStorage, OpenSeconds
    from agentconsole.storage.shifts import ShiftStorage
    from agentconsole.storage.accounts import AccountStorage
    from agentconsole.storage.escalations import EscalationStorage
    from agentconsole.storage.outbox import OutboxStorage
    from agentconsole.storage.team import TeamStorage

_CONV_SELECT = """
SELECT c.*, a.name AS account_name, a.is_demo AS is_demo,
       COALESCE(ct.display_name, '') AS contact_name, COALESCE(i.handle, '') AS handle,
       COALESCE(ag.name, '') AS assignee_name,
       CASE WHEN tr.episode_since = c.waiting_since THEN tr.heat ELSE 0.0 END AS heat
FROM conversations c
JOIN accounts a ON a.id = c.account_id
LEFT JOIN contacts ct ON ct.id = c.contact_id
LEFT JOIN identities i ON i.id = c.identity_id
LEFT JOIN agents ag ON ag.id = c.assignee_id
LEFT JOIN conversation_triage tr ON tr.conversation_id = c.id
"""


class Store(Health, ConversationActions, Drafts):
    """All reads and writes of the workspace, in an SQLite file (a path) or on a PostgreSQL server (a
    postgresql:// URL; *password* when the keyring gave one, else libpq's PGPASSWORD or ~/.pgpass).
    Safe to share between threads and processes: each thread gets its own connection; writers serialise
    through SQLite's lock (WAL + busy timeout) or, on PostgreSQL, one advisory lock per workspace.
    """

    def __init__(self, path: Path | str, clock: Clock | None = None, *, password: str | None = None) -> None:
        self.path = path
        self.clock = clock or SystemClock()
        self.backend = "postgresql" if postgres.is_url(path) else "sqlite"
        self._local = threading.local()
        # One connection per thread; short-lived worker threads come and go, so the connections of
        # threads that have ended are closed whenever a new one is opened.
        self._connections: dict[int, tuple[threading.Thread, sqlite3.Connection]] = {}
        self._lock = threading.Lock()
        self.damaged = ""  # why writes stopped (a failed integrity check); empty while sound
        self._server: Server | None = None
        self._password = password
        if self.backend == "postgresql":
            from agentconsole.storage.postgres.server import Server

            self._server = Server(str(path), password)
            return
        if str(path) != ":memory:":
            db.check_file(Path(path))
            # Read before this process writes anything: a seal is only good for the file exactly as sealed.
            self.sealed_at = soundness.trusted_since(Path(path))
        db.migrate(self.conn, before=self._backup_before_migration)

    @property
    def conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and getattr(conn, "broken", False):  # the server went away: a fresh one when back
            with self._lock:
                self._connections.pop(id(threading.current_thread()), None)
            conn.close()
            conn = None
        if conn is None:
            # the adapter speaks sqlite3.Connection's surface as storage uses it (postgres/adapter.py)
            conn = db.connect(self.path) if self._server is None else cast(sqlite3.Connection,
                                                                            self._server.connect())
            self._local.conn = conn
            self._local.read_only = False
            current = threading.current_thread()
            connections.reap()
            with self._lock:
                for key, (thread, old) in list(self._connections.items()):
                    if not thread.is_alive():
                        old.close()
                        del self._connections[key]
                self._connections[id(current)] = (current, conn)
        if self.damaged and not self._local.read_only:
            conn.execute("PRAGMA query_only = ON")  # a damaged file is never written to again
            self._local.read_only = True
        return conn

    def another(self) -> Store:
        """A second store on the same workspace (its own connections and, on a server, its own pool)."""
        return Store(self.path, self.clock, password=self._password)

    def open_connections(self) -> int:
        with self._lock:
            return len(self._connections)

    def release(self) -> None:
        """Close this thread's connection (a later use here opens a new one): for a store this thread
        made and hands to another. Closing the store from that other thread could not close this one
        while this thread lives, and SQLite then keeps every closed connection's file open beside it."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            return
        with self._lock:
            self._connections.pop(id(threading.current_thread()), None)
        self._local = threading.local()
        conn.close()

    def close(self) -> None:
        """Close this thread's connection and those of ended threads. A connection whose thread still
        runs (a worker inside a statement right now) is closed once that thread has ended: closing it
        under a running statement can crash the interpreter."""
        current = threading.current_thread()
        if self._server is not None:
            # The pool first: a connection given back to a closed pool is closed at once (to an open one,
            # it would be reset in the pool's worker and could outlive the store).
            self._server.close()
        deferred = False
        with self._lock:
            for thread, conn in self._connections.values():
                if thread is current or not thread.is_alive():
                    conn.close()
                else:
                    connections.close_later(thread, conn)
                    deferred = True
            self._connections.clear()
        self._local = threading.local()
        connections.reap()
        if not deferred:  # a connection still open could write after the seal: then none is written
            self._seal_if_sound()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; IMMEDIATE so concurrent writers queue instead of deadlocking."""
        if self.damaged:
            raise db.DatabaseDamaged(f"not saved: {self.damaged}")
        conn = self.conn
        if conn.in_transaction:
            yield conn
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            # SQLite rolls back by itself after some errors (a full disk, out of memory): ROLLBACK would
            # then fail and hide the error that matters.
            if _still_open(conn):
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    # This backend's per-area storages: the core asks for them and never names an implementation.
    def canned_storage(self) -> CannedStorage:
        from agentconsole.storage.canned import SqliteCannedStorage

        return SqliteCannedStorage(self)

    def shift_storage(self) -> ShiftStorage:
        from agentconsole.storage.shifts import SqliteShiftStorage

        return SqliteShiftStorage(self)

    def metrics_storage(self, open_seconds: OpenSeconds | None = None) -> MetricsStorage:
        if self.backend == "postgresql":
            from agentconsole.storage.postgres.metrics import PostgresMetricsStorage

            return PostgresMetricsStorage(self, open_seconds)
        from agentconsole.storage.metrics import SqliteMetricsStorage

        return SqliteMetricsStorage(self, open_seconds)

    def outbox_storage(self) -> OutboxStorage:
        from agentconsole.storage.outbox import SqlOutboxStorage

        return SqlOutboxStorage(self)

    def escalation_storage(self) -> EscalationStorage:
        from agentconsole.storage.escalations import SqlEscalationStorage

        return SqlEscalationStorage(self)

    def account_storage(self) -> AccountStorage:
        from agentconsole.storage.accounts import SqlAccountStorage

        return SqlAccountStorage(self)

    def team_storage(self) -> TeamStorage:
        from agentconsole.storage.team import SqlTeamStorage

        return SqlTeamStorage(self)

    # ---------------------------------------------------------------- accounts, agents, cursors

    def ensure_account(self, name: str, channel: Channel | str, connector: str, *, handle: str = "",
                       display_name: str = "", settings: dict[str, Any] | None = None, is_demo: bool = False) -> int:
        with self.transaction() as conn:
            row = conn.execute("SELECT id FROM accounts WHERE name = ?", (name,)).fetchone()
            if row:
                conn.execute(
                    "UPDATE accounts SET channel=?, connector=?, handle=?, display_name=?, settings=?,"
                    " is_demo=? WHERE id=?",
                    (str(channel), connector, handle, display_name, json.dumps(settings or {}),
                     int(is_demo), row[0]),
                )
                found: int = row[0]
                return found
            made: int = conn.execute(
                "INSERT INTO accounts(name, channel, connector, handle, display_name, settings, is_demo,"
                " created_at) VALUES (?,?,?,?,?,?,?,?) RETURNING id",
                (name, str(channel), connector, handle, display_name, json.dumps(settings or {}),
                 int(is_demo), self.clock.now()),
            ).fetchone()[0]
            return made

    def accounts(self) -> list[AccountRow]:
        rows = self.conn.execute("SELECT * FROM accounts ORDER BY name").fetchall()
        return [AccountRow(r["id"], r["name"], r["channel"], r["connector"], r["handle"],
                           r["display_name"], json.loads(r["settings"]), bool(r["is_demo"])) for r in rows]

    def account(self, account_id: int) -> AccountRow:
        return next(a for a in self.accounts() if a.id == account_id)

    def ensure_agent(self, name: str, initials: str = "", timezone: str = "UTC") -> int:
        initials = initials or "".join(part[0] for part in name.split()[:3]).upper()
        with self.transaction() as conn:
            row = conn.execute("SELECT id FROM agents WHERE name = ?", (name,)).fetchone()
            if row:
                found: int = row[0]
                return found
            made: int = conn.execute(
                "INSERT INTO agents(name, initials, timezone, created_at) VALUES (?,?,?,?) RETURNING id",
                (name, initials, timezone, self.clock.now()),
            ).fetchone()[0]
            return made

    def agent(self, agent_id: int) -> AgentRow:
        r = self.conn.execute("SELECT * FROM agents WHERE id = ?", (agent_id,)).fetchone()
        return AgentRow(r["id"], r["name"], r["initials"], r["timezone"])

    def cursor(self, account_id: int, stream: str = "") -> str | None:
        row = self.conn.execute(
            "SELECT cursor FROM sync_cursors WHERE account_id = ? AND stream = ?", (account_id, stream)
        ).fetchone()
        return row[0] if row else None

    def ingest(self, account_id: int, messages: Sequence[InboundMessage], cursor: str | None = None,
               stream: str = "", *, set_cursor: bool = True) -> IngestReport:
        """Store a fetched batch and its cursor in ONE transaction; known external ids are ignored."""
        # Imported on the first batch: its chain (triage scores, survey answers) is not needed to read
        # the inbox, so the console's first frame does not wait for it.
        from agentconsole.storage.ingest import ingest_batch

        return ingest_batch(self, account_id, messages, cursor, stream, set_cursor=set_cursor)

    def audit(self, agent_id: int | None, action: str, conversation_id: int | None = None,
              **detail: object) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO audit(agent_id, action, conversation_id, detail, at) VALUES (?,?,?,?,?)",
                (agent_id, action, conversation_id, json.dumps(detail), self.clock.now()),
            )

    # ---------------------------------------------------------------- inbox reads

    def view_counts(self, agent_id: int | None = None) -> dict[str, int]:
        conn = self.conn
        return {
            v.key: conn.execute(f"SELECT count(*) FROM conversations WHERE {v.where}",
                                {"agent_id": agent_id}).fetchone()[0]
            for v in VIEWS
        }

    def conversation_ids(self, view: str = "all", agent_id: int | None = None,
                         limit: int | None = None,
                         waiting_key: Callable[[float, int, str, float], Any] | None = None,
                         narrow: ViewFilter | None = None) -> array[int]:
        """The ids of a view in display order: longest-waiting first, then most recent activity.

        Both parts scan an index that covers the view filters (no table reads, no sort); with
        *limit*, only the first ids, so a screen can paint before the whole list is read.
        *waiting_key(waiting_since, account_id, kind, heat)* orders the waiting part instead of waiting_since,
        for waits that count differently per account (business hours) or rank by urgency; lowest first.
        """
        v = VIEWS_BY_KEY[view]
        params: dict[str, object] = {"agent_id": agent_id, "limit": limit}
        cap = "" if limit is None else " LIMIT :limit"
        where = v.where
        if narrow is not None and not narrow.empty:
            where = f"({where}) AND {_narrowing(narrow, params)}"
        cur = self.conn.cursor()
        cur.row_factory = None  # plain tuples: 100k rows of sqlite3.Row cost ~40 ms more
        ids = array("q")
        if v.waiting_first and waiting_key is not None:
            from agentconsole.storage.views import waiting_rows

            # The heat of the wait (issue 23's triage) joins the urgency rank.
            waiting = waiting_rows(cur, where, params, limit)
            waiting.sort(key=lambda r: (waiting_key(r[1], r[2], r[3], r[4] or 0.0), r[1], r[0]))
            ids.extend(r[0] for r in (waiting if limit is None else waiting[:limit]))
            rest = f"NOT (status = 'open' AND needs_reply = 1) AND ({where})"
        elif v.waiting_first:
            ids.extend(r[0] for r in cur.execute(
                f"SELECT id FROM conversations INDEXED BY conv_waiting WHERE status = 'open'"
                f" AND needs_reply = 1 AND ({where}) ORDER BY waiting_since, id{cap}", params))
            rest = f"NOT (status = 'open' AND needs_reply = 1) AND ({where})"
        else:
            rest = where
        if limit is not None:
            params["limit"] = max(0, limit - len(ids))
        ids.extend(r[0] for r in cur.execute(
            f"SELECT id FROM conversations INDEXED BY conv_recent_views WHERE {rest}"
            f" ORDER BY last_message_at DESC{cap}", params))
        return ids

    def conversations_by_ids(self, ids: Iterable[int]) -> dict[int, ConversationRow]:
        ids = list(ids)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.conn.execute(f"{_CONV_SELECT} WHERE c.id IN ({marks})", ids).fetchall()
        return {r["id"]: _conversation(r) for r in rows}

    def conversation(self, conversation_id: int) -> ConversationRow | None:
        return self.conversations_by_ids([conversation_id]).get(conversation_id)

    def waiting_summary(self) -> tuple[int, float | None, str | None]:
        """How many wait, since when the oldest waits, and on which channel."""
        conn = self.conn
        count = conn.execute("SELECT count(*) FROM conversations INDEXED BY conv_waiting"
                             " WHERE status = 'open' AND needs_reply = 1").fetchone()[0]
        oldest = conn.execute("SELECT waiting_since, channel FROM conversations INDEXED BY conv_waiting"
                              " WHERE status = 'open' AND needs_reply = 1 ORDER BY waiting_since LIMIT 1"
                              ).fetchone()
        return count, (oldest[0] if oldest else None), (oldest[1] if oldest else None)

    def waiting_groups(self, cutoffs: Iterable[tuple[int, str, float | None]]
                       ) -> dict[tuple[int, str], tuple[int, int, float | None, float]]:
        """Waiting conversations per (account id, kind): {(account, kind): (waiting, over, next, oldest)}.

        *cutoffs* gives each (account id, kind, cutoff): a conversation is over its target when it began
        waiting at or before the cutoff (None: it cannot be over yet). *next* is the earliest waiting_since
        after the cutoff, the next one to cross; *oldest* the earliest of all. One pass over the covering
        conv_waiting index, so the cost follows the number waiting, not the table.
        """
        cutoffs = list(cutoffs)
        # Typed, so that PostgreSQL reads a column of NULL cutoffs (or no rows) as numbers.
        groups = ("WITH g(account_id, kind, cutoff) AS (VALUES "
                  + ",".join("(?, ?, CAST(? AS DOUBLE PRECISION))" for _ in cutoffs) + ")" if cutoffs else
                  "WITH g(account_id, kind, cutoff) AS (SELECT CAST(NULL AS BIGINT), CAST(NULL AS TEXT),"
                  " CAST(NULL AS DOUBLE PRECISION) WHERE 1 = 0)")
        rows = self.conn.execute(
            f"{groups} SELECT c.account_id, c.kind, count(*),"
            " coalesce(sum(CASE WHEN c.waiting_since <= g.cutoff THEN 1 ELSE 0 END), 0),"
            " min(CASE WHEN g.cutoff IS NULL OR c.waiting_since > g.cutoff THEN c.waiting_since END),"
            " min(c.waiting_since)"
            " FROM conversations c INDEXED BY conv_waiting"
            " LEFT JOIN g ON g.account_id = c.account_id AND g.kind = c.kind"
            " WHERE c.status = 'open' AND c.needs_reply = 1 GROUP BY c.account_id, c.kind",
            [x for group in cutoffs for x in group]).fetchall()
        return {(r[0], r[1]): (r[2], r[3], r[4], r[5]) for r in rows}

    def waiting_between(self, ranges: Iterable[tuple[int, str, float | None, float]], limit: int = 50
                        ) -> list[int]:
        """Ids of waiting conversations whose waiting_since lies in (lo, hi] of their (account id, kind)
        range, lo None meaning no lower bound: those that crossed a cutoff moving from lo to hi."""
        ranges = list(ranges)
        if not ranges:
            return []
        values = ",".join("(?, ?, CAST(? AS DOUBLE PRECISION), CAST(? AS DOUBLE PRECISION))" for _ in ranges)
        return [r[0] for r in self.conn.execute(
            f"WITH g(account_id, kind, lo, hi) AS (VALUES {values})"
            " SELECT c.id FROM conversations c INDEXED BY conv_waiting"
            " JOIN g ON g.account_id = c.account_id AND g.kind = c.kind"
            " WHERE c.status = 'open' AND c.needs_reply = 1 AND (g.lo IS NULL OR c.waiting_since > g.lo)"
            " AND c.waiting_since <= g.hi ORDER BY c.waiting_since LIMIT ?",
            [*(x for r in ranges for x in r), limit])]

    def messages(self, conversation_id: int, limit: int = 500) -> list[MessageRow]:
        """The newest *limit* messages of a conversation, oldest first."""
        rows = self.conn.execute(
            "SELECT * FROM (SELECT id, conversation_id, external_id, direction, visibility, author_name,"
            " author_handle, subject, text, parse_note, sent_at, agent_id, source, edited_at FROM messages"
            " WHERE conversation_id = ? ORDER BY sent_at DESC, id DESC LIMIT ?) AS newest ORDER BY sent_at, id",
            (conversation_id, limit)).fetchall()
        return [MessageRow(*r) for r in rows]

    def message_raw(self, message_id: int) -> bytes | None:
        row = self.conn.execute("SELECT raw FROM messages WHERE id = ?", (message_id,)).fetchone()
        return row[0] if row else None

    def notes(self, conversation_id: int) -> list[NoteRow]:
        rows = self.conn.execute(
            "SELECT n.id, n.conversation_id, COALESCE(a.name, ''), n.text, n.created_at FROM notes n"
            " LEFT JOIN agents a ON a.id = n.agent_id WHERE n.conversation_id = ? ORDER BY n.created_at",
            (conversation_id,)).fetchall()
        return [NoteRow(*r) for r in rows]

    def contact_card(self, contact_id: int) -> ContactCard | None:
        conn = self.conn
        r = conn.execute("SELECT * FROM contacts WHERE id = ?", (contact_id,)).fetchone()
        if r is None:
            return None
        identities = tuple((i[0], i[1]) for i in conn.execute(
            "SELECT channel, handle FROM identities WHERE contact_id = ? ORDER BY id", (contact_id,)))
        ids = [x[0] for x in conn.execute(
            "SELECT id FROM conversations WHERE contact_id = ? ORDER BY last_message_at DESC LIMIT 50",
            (contact_id,))]
        by_id = self.conversations_by_ids(ids)
        return ContactCard(r["id"], r["display_name"], r["bio"], r["location"], identities,
                           tuple(by_id[i] for i in ids if i in by_id))

    def search(self, query: str, limit: int = 50) -> list[SearchHit]:
        """Full-text search over message text, subjects and author names, newest first."""
        if self.backend == "postgresql":
            return [SearchHit(r[0], r[1], r[2], r[3], clean(r[4], keep_newlines=False), r[5])
                    for r in fulltext.pg_search(self.conn, query, limit)]
        match = fulltext.match_query(self.conn, query)
        if not match:
            return []
        rows = self.conn.execute(
            "SELECT m.id, m.conversation_id, c.channel, m.author_name,"
            " snippet(messages_fts, 0, '', '', '…', 12), m.sent_at"
            " FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid"
            " JOIN conversations c ON c.id = m.conversation_id"
            " WHERE messages_fts MATCH ? ORDER BY messages_fts.rowid DESC LIMIT ?",
            (match, limit)).fetchall()
        return [SearchHit(r[0], r[1], r[2], r[3], clean(r[4], keep_newlines=False), r[5]) for r in rows]

    def agents(self) -> list[AgentRow]:
        rows = self.conn.execute("SELECT id, name, initials, timezone FROM agents ORDER BY name").fetchall()
        return [AgentRow(*r) for r in rows]

    def add_note(self, conversation_id: int, agent_id: int | None, text: str) -> int:
        with self.transaction() as conn:
            note_id: int = conn.execute(
                "INSERT INTO notes(conversation_id, agent_id, text, created_at) VALUES (?,?,?,?) RETURNING id",
                (conversation_id, agent_id, clean(text), self.clock.now())).fetchone()[0]
            return note_id


def _still_open(conn: sqlite3.Connection) -> bool:
    """Whether a transaction is still open (asked again: the statements in between may have ended it)."""
    return conn.in_transaction
