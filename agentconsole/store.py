"""The SQLite store: ingesting batches atomically with their cursor, and the inbox's read queries."""

from __future__ import annotations

import gc
import json
import sqlite3
import threading
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from . import db
from .clock import Clock, SystemClock
from .models import Channel, Direction, InboundMessage, Kind, Person, Status
from .rows import AccountRow, AgentRow, ContactCard, ConversationRow, MessageRow, NoteRow, SearchHit
from .sanitize import clean, one_line
from .views import VIEWS, VIEWS_BY_KEY

# Outbound messages with these sources (automatic away replies) do not answer the customer: they
# neither stop the waiting clock nor count as a first response.
AUTOMATIC_SOURCES = frozenset({"away"})

_CONV_SELECT = """
SELECT c.*, a.name AS account_name, a.is_demo AS is_demo,
       COALESCE(ct.display_name, '') AS contact_name, COALESCE(i.handle, '') AS handle,
       COALESCE(ag.name, '') AS assignee_name
FROM conversations c
JOIN accounts a ON a.id = c.account_id
LEFT JOIN contacts ct ON ct.id = c.contact_id
LEFT JOIN identities i ON i.id = c.identity_id
LEFT JOIN agents ag ON ag.id = c.assignee_id
"""


_DIRECTION_TEXT = {Direction.IN: "in", Direction.OUT: "out"}
# The nullable columns take 0 for NULL: no id, payload, reference, agent or source is ever the integer 0
# (a text '0' is not equal to it), and binding ints is far cheaper for sqlite3 than binding None.
_INSERT_MESSAGE = (
    "INSERT INTO messages(conversation_id, account_id, external_id, direction, visibility, identity_id,"
    " author_name, author_handle, subject, text, raw, parse_note, in_reply_to, sent_at, stored_at, agent_id,"
    " source) VALUES (?,?,?,?,?,NULLIF(?,0),?,?,?,?,NULLIF(?,0),?,NULLIF(?,0),?,?,NULLIF(?,0),NULLIF(?,0))")


class _GcPause:
    """Holds Python's cyclic garbage collector off while any thread is inside an ingest batch.

    A batch allocates thousands of short-lived tuples and rows that reference counting frees anyway;
    the collector would otherwise run many times per batch over every long-lived object of the process
    (about 12% of ingest time). It is switched back on (if it was on) when the last batch ends.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._inside = 0
        self._was_enabled = False

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._inside == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._inside += 1
        try:
            yield
        finally:
            with self._lock:
                self._inside -= 1
                if self._inside == 0 and self._was_enabled:
                    gc.enable()


_gc_paused = _GcPause()


@dataclass(frozen=True, slots=True)
class IngestReport:
    new_messages: int
    duplicates: int
    conversation_ids: tuple[int, ...]


class Store:
    """All reads and writes of the local state. Safe to share between threads and processes:
    each thread gets its own connection, writers serialise through SQLite's lock (WAL + busy timeout).
    """

    def __init__(self, path: Path | str, clock: Clock | None = None) -> None:
        self.path = path
        self.clock = clock or SystemClock()
        self._local = threading.local()
        # One connection per thread; short-lived worker threads come and go, so the connections of
        # threads that have ended are closed whenever a new one is opened.
        self._connections: dict[int, tuple[threading.Thread, sqlite3.Connection]] = {}
        self._lock = threading.Lock()
        db.migrate(self.conn)

    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = db.connect(self.path)
            self._local.conn = conn
            current = threading.current_thread()
            with self._lock:
                for key, (thread, old) in list(self._connections.items()):
                    if not thread.is_alive():
                        old.close()
                        del self._connections[key]
                self._connections[id(current)] = (current, conn)
        return conn

    def open_connections(self) -> int:
        with self._lock:
            return len(self._connections)

    def close(self) -> None:
        with self._lock:
            for _, conn in self._connections.values():
                conn.close()
            self._connections.clear()
        self._local = threading.local()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; IMMEDIATE so concurrent writers queue instead of deadlocking."""
        conn = self.conn
        if conn.in_transaction:
            yield conn
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    # ---------------------------------------------------------------- accounts, agents, cursors

    def ensure_account(self, name: str, channel: Channel | str, connector: str, *, handle: str = "",
                       display_name: str = "", settings: dict | None = None, is_demo: bool = False) -> int:
        with self.transaction() as conn:
            row = conn.execute("SELECT id FROM accounts WHERE name = ?", (name,)).fetchone()
            if row:
                conn.execute(
                    "UPDATE accounts SET channel=?, connector=?, handle=?, display_name=?, settings=?,"
                    " is_demo=? WHERE id=?",
                    (str(channel), connector, handle, display_name, json.dumps(settings or {}),
                     int(is_demo), row[0]),
                )
                return row[0]
            return conn.execute(
                "INSERT INTO accounts(name, channel, connector, handle, display_name, settings, is_demo,"
                " created_at) VALUES (?,?,?,?,?,?,?,?)",
                (name, str(channel), connector, handle, display_name, json.dumps(settings or {}),
                 int(is_demo), self.clock.now()),
            ).lastrowid

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
                return row[0]
            return conn.execute(
                "INSERT INTO agents(name, initials, timezone, created_at) VALUES (?,?,?,?)",
                (name, initials, timezone, self.clock.now()),
            ).lastrowid

    def agent(self, agent_id: int) -> AgentRow:
        r = self.conn.execute("SELECT * FROM agents WHERE id = ?", (agent_id,)).fetchone()
        return AgentRow(r["id"], r["name"], r["initials"], r["timezone"])

    def cursor(self, account_id: int, stream: str = "") -> str | None:
        row = self.conn.execute(
            "SELECT cursor FROM sync_cursors WHERE account_id = ? AND stream = ?", (account_id, stream)
        ).fetchone()
        return row[0] if row else None

    def audit(self, agent_id: int | None, action: str, conversation_id: int | None = None,
              **detail: object) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO audit(agent_id, action, conversation_id, detail, at) VALUES (?,?,?,?,?)",
                (agent_id, action, conversation_id, json.dumps(detail), self.clock.now()),
            )

    # ---------------------------------------------------------------- ingest

    def ingest(self, account_id: int, messages: Sequence[InboundMessage], cursor: str | None = None,
               stream: str = "", *, set_cursor: bool = True) -> IngestReport:
        """Store a fetched batch and its cursor in ONE transaction; known external ids are ignored.

        Work is batched (one query per kind of lookup, executemany for the inserts) because this is
        the ingest hot path; the write lock is held throughout, so the new rows are exactly those
        above the highest id seen at the start.
        """
        now = self.clock.now()
        with _gc_paused(), self.transaction() as conn:
            channel = conn.execute("SELECT channel FROM accounts WHERE id = ?", (account_id,)).fetchone()[0]
            batch: dict[str, InboundMessage] = {}
            for msg in messages:
                batch.setdefault(msg.external_id, msg)
            known = _select_in(conn, "SELECT external_id FROM messages WHERE account_id = ? AND external_id",
                               (account_id,), list(batch))
            fresh = sorted((m for m in batch.values() if m.external_id not in known),
                           key=lambda m: m.sent_at)
            duplicates = len(messages) - len(fresh)
            identities = self._identities(conn, channel, fresh, now)
            summaries = self._summaries(conn, account_id, channel, fresh, identities, now)
            first_new = (conn.execute("SELECT max(id) FROM messages").fetchone()[0] or 0)
            rows = []
            authors: dict[tuple[str, str], tuple[str, str]] = {}
            inbound = Direction.IN
            for msg in fresh:
                summary = summaries[msg.thread_key]
                text = clean(msg.text)
                raw = msg.raw
                if isinstance(raw, str):
                    raw = raw.encode("utf-8", "surrogateescape")
                direction = msg.direction
                person = msg.author
                ident = identities.get(person.external_id) if direction == inbound else None
                # Keyed by the two strings: hashing a Person dataclass runs Python code per message.
                key = (person.display_name, person.handle)
                author = authors.get(key)
                if author is None:
                    author = authors[key] = (one_line(key[0] or key[1], 120), one_line(key[1], 120))
                extra = msg.extra
                agent_id, source = (extra.get("agent_id"), extra.get("source")) if extra else (None, None)
                in_reply_to = msg.in_reply_to
                # Only exact str/int/float values: binding None or an enum costs sqlite3 an adapter
                # lookup each (half the insert's Python time); 0 stands for NULL, see _INSERT_MESSAGE.
                rows.append((summary.id, account_id, msg.external_id, _DIRECTION_TEXT[direction],
                             "public" if msg.kind == Kind.PUBLIC else "private",
                             ident[0] if ident else 0, author[0], author[1],
                             one_line(msg.subject, 300) if msg.subject else "", text,
                             0 if raw is None else raw,
                             one_line(msg.parse_note, 300) if msg.parse_note else "",
                             0 if in_reply_to is None else in_reply_to, msg.sent_at, now,
                             0 if agent_id is None else agent_id, 0 if source is None else source))
                summary.add(direction, msg.sent_at, text, conn, answers=source not in AUTOMATIC_SOURCES)
            if rows:
                conn.executemany(_INSERT_MESSAGE, rows)
                conn.execute(
                    "INSERT INTO messages_fts(rowid, text, subject, author_name)"
                    " SELECT id, text, subject, author_name FROM messages WHERE id > ?", (first_new,))
            changed = [s for s in summaries.values() if s.changed]
            _Summary.save_all(conn, changed)
            if set_cursor:
                conn.execute(
                    "INSERT INTO sync_cursors(account_id, stream, cursor, updated_at) VALUES (?,?,?,?)"
                    " ON CONFLICT(account_id, stream) DO UPDATE SET cursor=excluded.cursor,"
                    " updated_at=excluded.updated_at",
                    (account_id, stream, cursor, now),
                )
        return IngestReport(len(rows), duplicates, tuple(s.id for s in changed))

    def _identities(self, conn: sqlite3.Connection, channel: str, fresh: list[InboundMessage],
                    now: float) -> dict[str, tuple[int, int]]:
        """(identity id, contact id) per author external id; people seen for the first time are added."""
        people: dict[str, Person] = {}
        for msg in fresh:
            if msg.direction == Direction.IN:
                people[msg.author.external_id] = msg.author
            recipient = msg.extra.get("recipient")
            if isinstance(recipient, Person):
                people.setdefault(recipient.external_id, recipient)
        found: dict[str, tuple[int, int]] = {}
        for row in _select_in_rows(conn, "SELECT external_id, id, contact_id, handle, display_name"
                                   " FROM identities WHERE channel = ? AND external_id", (channel,),
                                   list(people)):
            found[row[0]] = (row[1], row[2])
            person = people[row[0]]
            handle, name = one_line(person.handle, 120), one_line(person.display_name, 120)
            if (handle or name) and (handle, name) != (row[3], row[4]):
                conn.execute("UPDATE identities SET handle = ?, display_name = ? WHERE id = ?",
                             (handle or row[3], name or row[4], row[1]))
        new = [(external_id, person) for external_id, person in people.items() if external_id not in found]
        if new:
            names = [(one_line(p.handle, 120), one_line(p.display_name, 120)) for _, p in new]
            contact_ids = _insert_all(
                conn, "contacts", "INSERT INTO contacts(display_name, bio, location, created_at) VALUES (?,?,?,?)",
                [(name or handle, clean(p.bio)[:500], one_line(p.location, 120), now)
                 for (_, p), (handle, name) in zip(new, names)])
            identity_ids = _insert_all(
                conn, "identities", "INSERT INTO identities(contact_id, channel, external_id, handle, display_name)"
                " VALUES (?,?,?,?,?)", [(contact_id, channel, external_id, handle, name) for contact_id,
                                        (external_id, _), (handle, name) in zip(contact_ids, new, names)])
            for (external_id, _), identity_id, contact_id in zip(new, identity_ids, contact_ids):
                found[external_id] = (identity_id, contact_id)
        return found

    def _summaries(self, conn: sqlite3.Connection, account_id: int, channel: str,
                   fresh: list[InboundMessage], identities: dict[str, tuple[int, int]],
                   now: float) -> dict[str, _Summary]:
        """The summary of every conversation the batch touches, creating conversations as needed."""
        summaries = {row[0]: _Summary(row) for row in _select_in_rows(
            conn, f"SELECT {', '.join(_Summary.COLUMNS)} FROM conversations WHERE account_id = ?"
            " AND thread_key", (account_id,), list({m.thread_key for m in fresh}))}
        created: dict[str, list] = {}  # thread key -> the new conversation's row, inserted below
        for msg in fresh:
            summary = summaries.get(msg.thread_key)
            if summary is not None and summary.contact_id is not None:
                continue  # the common case: a known conversation with its customer already set
            row = created.get(msg.thread_key)
            if row is not None and row[4] is not None:
                continue  # created earlier in this batch, its customer already known
            customer = _customer_of(msg)
            ident = identities.get(customer.external_id) if customer else None
            if summary is not None:
                if ident:
                    conn.execute("UPDATE conversations SET contact_id = ?, identity_id = ? WHERE id = ?",
                                 (ident[1], ident[0], summary.id))
                    summary.contact_id = ident[1]
                continue
            if row is None:
                created[msg.thread_key] = [account_id, channel, str(msg.kind), msg.thread_key,
                                           ident[1] if ident else None, ident[0] if ident else None,
                                           one_line(msg.subject, 300), msg.sent_at, now]
            elif row[4] is None and ident:
                row[4], row[5] = ident[1], ident[0]
        if created:
            ids = _insert_all(
                conn, "conversations", "INSERT INTO conversations(account_id, channel, kind, thread_key,"
                " contact_id, identity_id, subject, last_message_at, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
                list(created.values()))
            conn.executemany("INSERT INTO conversation_events(conversation_id, event, at) VALUES (?,?,?)",
                             [(conv_id, "opened", row[7]) for conv_id, row in zip(ids, created.values())])
            for conv_id, (thread_key, row) in zip(ids, created.items()):
                summaries[thread_key] = _Summary.new(conv_id, row[7], row[4])
        return summaries

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
                         waiting_key: Callable[[float, int], float] | None = None) -> array:
        """The ids of a view in display order: longest-waiting first, then most recent activity.

        Both parts scan an index that covers the view filters (no table reads, no sort); with
        *limit*, only the first ids, so a screen can paint before the whole list is read.
        *waiting_key(waiting_since, account_id)* orders the waiting part instead of waiting_since,
        for waits that count differently per account (business hours); lowest first.
        """
        v = VIEWS_BY_KEY[view]
        params = {"agent_id": agent_id, "limit": -1 if limit is None else limit}
        cur = self.conn.cursor()
        cur.row_factory = None  # plain tuples: 100k rows of sqlite3.Row cost ~40 ms more
        ids = array("q")
        if v.waiting_first and waiting_key is not None:
            waiting = cur.execute(
                f"SELECT id, waiting_since, account_id FROM conversations INDEXED BY conv_waiting"
                f" WHERE status = 'open' AND needs_reply = 1 AND ({v.where})", params).fetchall()
            waiting.sort(key=lambda r: (waiting_key(r[1], r[2]), r[1], r[0]))
            ids.extend(r[0] for r in (waiting if limit is None else waiting[:limit]))
            rest = f"NOT (status = 'open' AND needs_reply = 1) AND ({v.where})"
        elif v.waiting_first:
            ids.extend(r[0] for r in cur.execute(
                f"SELECT id FROM conversations INDEXED BY conv_waiting WHERE status = 'open'"
                f" AND needs_reply = 1 AND ({v.where}) ORDER BY waiting_since, id LIMIT :limit", params))
            rest = f"NOT (status = 'open' AND needs_reply = 1) AND ({v.where})"
        else:
            rest = v.where
        if limit is not None:
            params["limit"] = max(0, limit - len(ids))
        ids.extend(r[0] for r in cur.execute(
            f"SELECT id FROM conversations INDEXED BY conv_recent_views WHERE {rest}"
            f" ORDER BY last_message_at DESC LIMIT :limit", params))
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
        groups = ("WITH g(account_id, kind, cutoff) AS (VALUES " + ",".join("(?, ?, ?)" for _ in cutoffs) + ")"
                  if cutoffs else "WITH g(account_id, kind, cutoff) AS (SELECT NULL, NULL, NULL WHERE 0)")
        rows = self.conn.execute(
            f"{groups} SELECT c.account_id, c.kind, count(*), coalesce(sum(c.waiting_since <= g.cutoff), 0),"
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
        values = ",".join("(?, ?, ?, ?)" for _ in ranges)
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
            " author_handle, subject, text, parse_note, sent_at, agent_id, source FROM messages"
            " WHERE conversation_id = ? ORDER BY sent_at DESC, id DESC LIMIT ?) ORDER BY sent_at, id",
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
        match = fts_query(query)
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

    # ---------------------------------------------------------------- agent actions

    def set_status(self, conversation_id: int, status: Status, agent_id: int | None) -> None:
        now = self.clock.now()
        with self.transaction() as conn:
            current = conn.execute("SELECT status FROM conversations WHERE id = ?",
                                   (conversation_id,)).fetchone()
            if current is None or current[0] == status:
                return
            if status == Status.DONE:
                conn.execute("UPDATE conversations SET status = 'done', resolved_at = ? WHERE id = ?",
                             (now, conversation_id))
                event = "resolved"
                # A public post escalated to this DM is done when the DM is.
                linked = conn.execute(
                    "SELECT p.id FROM conversations d JOIN conversations p ON p.id = d.linked_id"
                    " WHERE d.id = ? AND d.kind = 'dm' AND p.escalated = 1 AND p.status = 'open'",
                    (conversation_id,)).fetchone()
                if linked:
                    self.set_status(linked[0], Status.DONE, agent_id)
            else:
                conn.execute("UPDATE conversations SET status = 'open' WHERE id = ?", (conversation_id,))
                event = "reopened"
            conn.execute("INSERT INTO conversation_events(conversation_id, event, at, agent_id)"
                         " VALUES (?,?,?,?)", (conversation_id, event, now, agent_id))
            conn.execute("INSERT INTO audit(agent_id, action, conversation_id, detail, at)"
                         " VALUES (?,?,?,?,?)", (agent_id, event, conversation_id, "{}", now))

    def assign(self, conversation_id: int, agent_id: int | None, by_agent_id: int | None) -> None:
        now = self.clock.now()
        with self.transaction() as conn:
            conn.execute("UPDATE conversations SET assignee_id = ? WHERE id = ?", (agent_id, conversation_id))
            conn.execute("INSERT INTO audit(agent_id, action, conversation_id, detail, at) VALUES (?,?,?,?,?)",
                         (by_agent_id, "assigned", conversation_id, json.dumps({"to": agent_id}), now))

    def add_note(self, conversation_id: int, agent_id: int | None, text: str) -> int:
        with self.transaction() as conn:
            return conn.execute(
                "INSERT INTO notes(conversation_id, agent_id, text, created_at) VALUES (?,?,?,?)",
                (conversation_id, agent_id, clean(text), self.clock.now())).lastrowid


def _customer_of(msg: InboundMessage) -> Person | None:
    """The customer a message is with: its author when inbound, the recipient when it is ours."""
    if msg.direction == Direction.IN:
        return msg.author
    recipient = msg.extra.get("recipient")
    return recipient if isinstance(recipient, Person) else None


def _insert_all(conn: sqlite3.Connection, table: str, sql: str, rows: list) -> range:
    """executemany *rows* into *table* and return their new ids, in order.

    Inside our write transaction SQLite gives each new row max(id) + 1 (no AUTOINCREMENT, ids far from
    the 64-bit limit), so the ids are the next len(rows) after the largest; the check makes sure.
    """
    first = (conn.execute(f"SELECT max(id) FROM {table}").fetchone()[0] or 0) + 1
    conn.executemany(sql, rows)
    last = conn.execute(f"SELECT max(id) FROM {table}").fetchone()[0]
    if last != first + len(rows) - 1:
        raise RuntimeError(f"{table}: expected ids {first}..{first + len(rows) - 1}, the largest is {last}")
    return range(first, first + len(rows))


def _select_in_rows(conn: sqlite3.Connection, sql: str, params: tuple, values: list) -> list[sqlite3.Row]:
    """Run `sql IN (values)` in chunks that stay under SQLite's variable limit."""
    rows: list[sqlite3.Row] = []
    for start in range(0, len(values), 500):
        chunk = values[start:start + 500]
        rows.extend(conn.execute(f"{sql} IN ({','.join('?' * len(chunk))})", (*params, *chunk)))
    return rows


def _select_in(conn: sqlite3.Connection, sql: str, params: tuple, values: list) -> set:
    return {row[0] for row in _select_in_rows(conn, sql, params, values)}


def fts_query(text: str) -> str:
    """Turn what a person types into a safe FTS5 query: every word quoted, the last one a prefix."""
    # The tokenizer drops quotes anyway; removing them keeps every word a plain quoted string.
    words = [w.replace('"', "") for w in clean(text, keep_newlines=False).split() if w.strip('"')]
    if not words:
        return ""
    quoted = [f'"{w}"' for w in words]
    quoted[-1] += "*"
    return " ".join(quoted)


def _conversation(r: sqlite3.Row) -> ConversationRow:
    return ConversationRow(
        id=r["id"], account_id=r["account_id"], account_name=r["account_name"], channel=r["channel"],
        kind=r["kind"], subject=r["subject"], status=r["status"], needs_reply=bool(r["needs_reply"]),
        waiting_since=r["waiting_since"], last_message_at=r["last_message_at"],
        last_preview=r["last_preview"], last_direction=r["last_direction"],
        message_count=r["message_count"], contact_id=r["contact_id"], contact_name=r["contact_name"],
        handle=r["handle"], assignee_id=r["assignee_id"], assignee_name=r["assignee_name"],
        linked_id=r["linked_id"], escalated=bool(r["escalated"]),
        first_customer_at=r["first_customer_at"], first_response_at=r["first_response_at"],
        resolved_at=r["resolved_at"], is_demo=bool(r["is_demo"]),
    )


# The summary columns that conversation indexes carry (conv_waiting, conv_recent_views, conv_first_response).
_SAVE_GROUPS = (("needs_reply", "waiting_since"), ("first_customer_at", "first_response_at"), ("last_message_at",))


def _set(column: str) -> str:
    """SET clause of one summary column; a time column that may be NULL is given '' for NULL, which no
    number equals."""
    return f"{column}=NULLIF(?, '')" if column in _NULLABLE_TIMES else f"{column}=?"


_NULLABLE_TIMES = frozenset({"waiting_since", "last_in_at", "last_out_at", "first_customer_at",
                             "first_response_at"})


class _Summary:
    """The conversation's summary columns, updated in memory per message, saved once per batch."""

    __slots__ = ("id", "status", "needs_reply", "waiting_since", "last_in_at", "last_out_at",
                 "first_customer_at", "first_response_at", "last_message_at", "last_text",
                 "last_preview", "last_direction", "message_count", "customer_count", "contact_id",
                 "reopened_at", "changed", "loaded")

    # The conversation columns a summary starts from, in this order (see _summaries' SELECT).
    COLUMNS = ("thread_key", "id", "status", "needs_reply", "waiting_since", "last_in_at", "last_out_at",
               "first_customer_at", "first_response_at", "last_message_at", "last_preview", "last_direction",
               "message_count", "customer_count", "contact_id")

    def __init__(self, row: Sequence) -> None:
        (_, self.id, self.status, self.needs_reply, self.waiting_since, self.last_in_at, self.last_out_at,
         self.first_customer_at, self.first_response_at, self.last_message_at, self.last_preview,
         self.last_direction, self.message_count, self.customer_count, self.contact_id) = row
        self.last_text: str | None = None
        self.reopened_at: float | None = None
        self.changed = False
        self.loaded = self._indexed()

    def _indexed(self) -> tuple:
        """The values of the columns that conversation indexes carry, grouped as _SAVE_GROUPS are."""
        return ((self.needs_reply, self.waiting_since), (self.first_customer_at, self.first_response_at),
                (self.last_message_at,))

    @classmethod
    def new(cls, conversation_id: int, at: float, contact_id: int | None) -> _Summary:
        return cls(("", conversation_id, "open", 0, None, None, None, None, None, at, "", "in", 0, 0, contact_id))

    def add(self, direction: Direction, at: float, text: str, conn: sqlite3.Connection, *,
            answers: bool = True) -> None:
        self.changed = True
        self.message_count += 1
        if self.message_count == 1 or at >= self.last_message_at:
            self.last_message_at = at
            self.last_text = text  # the preview is cut from it once, when the batch is saved
            self.last_direction = str(direction)
        if direction == Direction.IN:
            self.customer_count += 1
            self.last_in_at = max(self.last_in_at or at, at)
            if self.first_customer_at is None or at < self.first_customer_at:
                self.first_customer_at = at
                if self.last_out_at is not None and self.last_out_at >= at:
                    # Our reply was fetched before this earlier customer message (Sent synced
                    # before INBOX): the first response is our first answer at or after it.
                    self.first_response_at = conn.execute(
                        "SELECT min(sent_at) FROM messages WHERE conversation_id = ? AND direction = 'out'"
                        " AND sent_at >= ? AND COALESCE(source, '') NOT IN ('away')",
                        (self.id, at)).fetchone()[0]
            if self.last_out_at is None or at > self.last_out_at:
                self.needs_reply = 1
                self.waiting_since = at if self.waiting_since is None else min(self.waiting_since, at)
                if self.status == Status.DONE:
                    self.status = Status.OPEN
                    self.reopened_at = at
            return
        if not answers:
            return
        self.last_out_at = max(self.last_out_at or at, at)
        if self.first_customer_at is not None and at >= self.first_customer_at and (
                self.first_response_at is None or at < self.first_response_at):
            self.first_response_at = at
        if self.waiting_since is not None and at >= self.waiting_since:
            # Customer messages that arrived after this reply (out of order) still wait.
            later = conn.execute(
                "SELECT min(sent_at) FROM messages WHERE conversation_id = ? AND direction = 'in'"
                " AND sent_at > ?", (self.id, at)).fetchone()[0] if (self.last_in_at or 0) > at else None
            self.waiting_since = later
            self.needs_reply = int(later is not None)

    @staticmethod
    def save_all(conn: sqlite3.Connection, summaries: list[_Summary]) -> None:
        # SQLite rewrites every index naming a SET column even when its value is the same, so a column
        # that an index carries is only written when it changed; status likewise, below.
        shapes: dict[tuple[bool, ...], list[tuple]] = {}
        for s in summaries:
            if s.last_text is not None:
                s.last_preview = one_line(s.last_text, 160)
            values = s._indexed()
            flags = tuple(new != old for new, old in zip(values, s.loaded))
            # '' stands for NULL in the nullable time columns (see _set): binding None costs far more.
            params = ["" if s.last_in_at is None else s.last_in_at,
                      "" if s.last_out_at is None else s.last_out_at, s.last_preview, s.last_direction,
                      s.message_count, s.customer_count]
            for changed, group in zip(flags, values):
                if changed:
                    params.extend("" if v is None else v for v in group)
            params.append(s.id)
            shapes.setdefault(flags, []).append(params)
        for flags, rows in shapes.items():
            columns = ["last_in_at", "last_out_at", "last_preview", "last_direction", "message_count",
                       "customer_count"]
            columns += [c for changed, group in zip(flags, _SAVE_GROUPS) if changed for c in group]
            conn.executemany(f"UPDATE conversations SET {', '.join(map(_set, columns))} WHERE id=?", rows)
        conn.executemany("UPDATE conversations SET status = 'open' WHERE id = ?",
                         [(s.id,) for s in summaries if s.reopened_at is not None])
        conn.executemany("INSERT INTO conversation_events(conversation_id, event, at) VALUES (?,?,?)",
                         [(s.id, "reopened", s.reopened_at) for s in summaries if s.reopened_at is not None])
