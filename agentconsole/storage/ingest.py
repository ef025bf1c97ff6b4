"""Ingest: a fetched batch, its conversations' summaries and its cursor stored in one transaction."""

from __future__ import annotations

import gc
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentconsole.domain.models import Direction, InboundMessage, Kind, Person, Status
from agentconsole.domain.normalise import check_time, normalise
from agentconsole.domain.sanitize import clean, one_line
from agentconsole.storage.inbound import after_batch
from agentconsole.storage.postgres import on_postgres
from agentconsole.storage.search import add_terms, document

if TYPE_CHECKING:
    from agentconsole.storage.store import Store

# Outbound messages with these sources (automatic away replies, survey questions) do not answer the customer: they
# neither stop the waiting clock nor count as a first response.
AUTOMATIC_SOURCES = frozenset({"away", "survey"})

_DIRECTION_TEXT = {Direction.IN: "in", Direction.OUT: "out"}
# The nullable columns take 0 for NULL: no id, payload, reference, agent or source is ever the integer 0
# (a text '0' is not equal to it), and binding ints is far cheaper for sqlite3 than binding None.
_INSERT_MESSAGE = (
    "INSERT INTO messages(conversation_id, account_id, external_id, direction, visibility, identity_id,"
    " author_name, author_handle, subject, text, raw, parse_note, in_reply_to, sent_at, stored_at, agent_id,"
    " source, edited_at) VALUES (?,?,?,?,?,NULLIF(?,0),?,?,?,?,NULLIF(?,0),?,NULLIF(?,0),?,?,NULLIF(?,0),NULLIF(?,0),NULLIF(?,0))")
# PostgreSQL types each parameter, so NULL is bound as None there; the search words go in with the row.
_INSERT_MESSAGE_PG = (
    "INSERT INTO messages(conversation_id, account_id, external_id, direction, visibility, identity_id,"
    " author_name, author_handle, subject, text, raw, parse_note, in_reply_to, sent_at, stored_at, agent_id,"
    " source, edited_at, search) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,to_tsvector('simple', ?))")
_NULL_AS_ZERO = (5, 10, 12, 15, 16, 17)  # the columns of _INSERT_MESSAGE that bind 0 for NULL


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
    edited: int = 0


def ingest_batch(store: Store, account_id: int, messages: Sequence[InboundMessage], cursor: str | None = None,
           stream: str = "", *, set_cursor: bool = True) -> IngestReport:
    """Store a fetched batch and its cursor in ONE transaction; known external ids are ignored.

    Work is batched (one query per kind of lookup, executemany for the inserts) because this is
    the ingest hot path; the write lock is held throughout, so the new rows are exactly those
    above the highest id seen at the start. Every message first goes through normalise(): an item
    that cannot be read is stored as a flagged stand-in, never allowed to roll the batch back. A known
    id that comes with a newer ``extra["edited_at"]`` replaces the stored text, keeping the old one.
    """
    now = store.clock.now()
    messages = [normalise(m, now) for m in messages]
    with _gc_paused(), store.transaction() as conn:
        pg = on_postgres(conn)
        channel = conn.execute("SELECT channel FROM accounts WHERE id = ?", (account_id,)).fetchone()[0]
        batch: dict[str, InboundMessage] = {}
        for msg in messages:
            batch.setdefault(msg.external_id, msg)
        known = _select_in(conn, "SELECT external_id FROM messages WHERE account_id = ? AND external_id",
                           (account_id,), list(batch))
        fresh = sorted((m for m in batch.values() if m.external_id not in known),
                       key=lambda m: m.sent_at)
        edits = [m for m in batch.values() if m.external_id in known and m.extra.get("edited_at")]
        edited = _apply_edits(conn, account_id, edits, now) if edits else set()
        duplicates = len(messages) - len(fresh)
        identities = _identities(conn, channel, fresh, now)
        summaries = _summaries(conn, account_id, channel, fresh, identities, now)
        first_new = (conn.execute("SELECT max(id) FROM messages").fetchone()[0] or 0)
        rows = []
        authors: dict[tuple[str, str], tuple[str, str]] = {}
        inbound = Direction.IN
        for msg in fresh:
            summary = summaries[msg.thread_key]
            text = msg.text  # normalise() cleaned it
            raw = msg.raw  # and made it bytes
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
                         0 if agent_id is None else agent_id, 0 if source is None else source,
                         (_edited_at(extra, now) or 0) if extra else 0))
            summary.add(direction, msg.sent_at, text, conn, answers=source not in AUTOMATIC_SOURCES)
        if rows and pg:
            conn.executemany(_INSERT_MESSAGE_PG, [_pg_row(r) for r in rows])
        elif rows:
            conn.executemany(_INSERT_MESSAGE, rows)
            conn.execute(
                "INSERT INTO messages_fts(rowid, text, subject, author_name)"
                " SELECT id, text, subject, author_name FROM messages WHERE id > ?", (first_new,))
            add_terms(conn, first_new)
        changed = [s for s in summaries.values() if s.changed]
        _Summary.save_all(conn, changed, pg)
        if rows:  # a batch of nothing but a new cursor (a quiet poll) has nothing to score or answer
            after_batch(conn, first_new)  # triage scores and survey answers of the new customer messages
        if set_cursor:
            conn.execute(
                "INSERT INTO sync_cursors(account_id, stream, cursor, updated_at) VALUES (?,?,?,?)"
                " ON CONFLICT(account_id, stream) DO UPDATE SET cursor=excluded.cursor,"
                " updated_at=excluded.updated_at",
                (account_id, stream, cursor, now),
            )
    ids = [s.id for s in changed]
    ids += sorted(edited - set(ids))
    return IngestReport(len(rows), duplicates, tuple(ids), len(edited))


def _pg_row(row: tuple[Any, ...]) -> tuple[Any, ...]:
    values = list(row)
    for i in _NULL_AS_ZERO:
        if values[i] == 0:
            values[i] = None
    values.append(document((row[9], row[8], row[6])))
    return tuple(values)


def _edited_at(extra: dict[str, Any], now: float) -> float | None:
    value = extra.get("edited_at")
    if not value:
        return None
    at, problem = check_time(value, now)
    return None if problem else at


def _apply_edits(conn: sqlite3.Connection, account_id: int, edits: list[InboundMessage],
                 now: float) -> set[int]:
    """Store newer versions of known messages; the text they replace goes to message_versions.

    Returns the ids of the conversations whose messages changed.
    """
    changed: set[int] = set()
    for msg in edits:
        at = _edited_at(msg.extra, now)
        row = conn.execute(
            "SELECT id, conversation_id, text, raw, edited_at, subject, author_name, sent_at, parse_note"
            " FROM messages WHERE account_id = ? AND external_id = ?", (account_id, msg.external_id)).fetchone()
        if row is None or at is None or (row[4] is not None and at <= row[4]):
            continue  # already the newest version we have
        message_id, conversation_id, old_text = row[0], row[1], row[2]
        conn.execute("INSERT INTO message_versions(message_id, text, raw, edited_at, replaced_at)"
                     " VALUES (?,?,?,?,?)", (message_id, old_text, row[3], row[4], now))
        conn.execute("UPDATE messages SET text = ?, raw = ?, edited_at = ?, parse_note = ? WHERE id = ?",
                     (msg.text, msg.raw, at, one_line(msg.parse_note, 300) if msg.parse_note else "",
                      message_id))
        if on_postgres(conn):
            conn.execute("UPDATE messages SET search = to_tsvector('simple', ?) WHERE id = ?",
                         (document((msg.text, row[5], row[6])), message_id))
        else:
            # The search index is an external-content table: the old row's words leave it by hand.
            conn.execute("INSERT INTO messages_fts(messages_fts, rowid, text, subject, author_name)"
                         " VALUES ('delete', ?, ?, ?, ?)", (message_id, old_text, row[5], row[6]))
            conn.execute("INSERT INTO messages_fts(rowid, text, subject, author_name) VALUES (?,?,?,?)",
                         (message_id, msg.text, row[5], row[6]))
            add_terms(conn, message_id - 1, message_id)
        conn.execute("UPDATE conversations SET last_preview = ? WHERE id = ? AND last_message_at = ?",
                     (one_line(msg.text, 160), conversation_id, row[7]))
        changed.add(conversation_id)
    return changed

def _identities(conn: sqlite3.Connection, channel: str, fresh: list[InboundMessage],
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
            conn, "contacts", "display_name, bio, location, created_at",
            [(name or handle, clean(p.bio)[:500], one_line(p.location, 120), now)
             for (_, p), (handle, name) in zip(new, names)])
        identity_ids = _insert_all(
            conn, "identities", "contact_id, channel, external_id, handle, display_name", [(contact_id, channel, external_id, handle, name) for contact_id,
                                    (external_id, _), (handle, name) in zip(contact_ids, new, names)])
        for (external_id, _), identity_id, contact_id in zip(new, identity_ids, contact_ids):
            found[external_id] = (identity_id, contact_id)
    return found

def _summaries(conn: sqlite3.Connection, account_id: int, channel: str,
               fresh: list[InboundMessage], identities: dict[str, tuple[int, int]],
               now: float) -> dict[str, _Summary]:
    """The summary of every conversation the batch touches, creating conversations as needed."""
    summaries = {row[0]: _Summary(row) for row in _select_in_rows(
        conn, f"SELECT {', '.join(_Summary.COLUMNS)} FROM conversations WHERE account_id = ?"
        " AND thread_key", (account_id,), list({m.thread_key for m in fresh}))}
    created: dict[str, list[Any]] = {}  # thread key -> the new conversation's row, inserted below
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
            conn, "conversations", "account_id, channel, kind, thread_key, contact_id, identity_id, subject,"
            " last_message_at, created_at", list(created.values()))
        conn.executemany("INSERT INTO conversation_events(conversation_id, event, at) VALUES (?,?,?)",
                         [(conv_id, "opened", row[7]) for conv_id, row in zip(ids, created.values())])
        for conv_id, (thread_key, row) in zip(ids, created.items()):
            summaries[thread_key] = _Summary.new(conv_id, row[7], row[4])
    return summaries


def _customer_of(msg: InboundMessage) -> Person | None:
    """The customer a message is with: its author when inbound, the recipient when it is ours."""
    if msg.direction == Direction.IN:
        return msg.author
    recipient = msg.extra.get("recipient")
    return recipient if isinstance(recipient, Person) else None


def _insert_all(conn: sqlite3.Connection, table: str, columns: str, rows: list[Any]) -> Sequence[int]:
    """executemany *rows* (values of *columns*) into *table* and return their new ids, in order.

    Inside our write transaction SQLite gives each new row max(id) + 1 (no AUTOINCREMENT, ids far from
    the 64-bit limit), so the ids are the next len(rows) after the largest; the check makes sure.
    PostgreSQL's ids come from the table's sequence, which a rolled-back transaction also advanced:
    they are taken from it first and inserted with the rows.
    """
    marks = ",".join("?" * (columns.count(",") + 1))
    if on_postgres(conn):
        ids = [r[0] for r in conn.execute(
            "SELECT nextval(pg_get_serial_sequence(?, 'id')) FROM generate_series(1, ?)", (table, len(rows)))]
        conn.executemany(f"INSERT INTO {table}(id, {columns}) VALUES (?,{marks})",
                         [(i, *row) for i, row in zip(ids, rows)])
        return ids
    sql = f"INSERT INTO {table}({columns}) VALUES ({marks})"
    first = (conn.execute(f"SELECT max(id) FROM {table}").fetchone()[0] or 0) + 1
    conn.executemany(sql, rows)
    last = conn.execute(f"SELECT max(id) FROM {table}").fetchone()[0]
    if last != first + len(rows) - 1:
        raise RuntimeError(f"{table}: expected ids {first}..{first + len(rows) - 1}, the largest is {last}")
    return range(first, first + len(rows))


def _select_in_rows(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...],
                    values: list[Any]) -> list[sqlite3.Row]:
    """Run `sql IN (values)` in chunks that stay under SQLite's variable limit."""
    rows: list[sqlite3.Row] = []
    for start in range(0, len(values), 500):
        chunk = values[start:start + 500]
        rows.extend(conn.execute(f"{sql} IN ({','.join('?' * len(chunk))})", (*params, *chunk)))
    return rows


def _select_in(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...], values: list[Any]) -> set[Any]:
    return {row[0] for row in _select_in_rows(conn, sql, params, values)}


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

    def __init__(self, row: Sequence[Any]) -> None:
        (_, self.id, self.status, self.needs_reply, self.waiting_since, self.last_in_at, self.last_out_at,
         self.first_customer_at, self.first_response_at, self.last_message_at, self.last_preview,
         self.last_direction, self.message_count, self.customer_count, self.contact_id) = row
        self.last_text: str | None = None
        self.reopened_at: float | None = None
        self.changed = False
        self.loaded = self._indexed()

    def _indexed(self) -> tuple[tuple[Any, ...], ...]:
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
                        "SELECT min(sent_at) FROM messages INDEXED BY messages_conversation"
                        " WHERE conversation_id = ? AND direction = 'out'"
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
                "SELECT min(sent_at) FROM messages INDEXED BY messages_conversation"
                " WHERE conversation_id = ? AND direction = 'in'"
                " AND sent_at > ?", (self.id, at)).fetchone()[0] if (self.last_in_at or 0) > at else None
            self.waiting_since = later
            self.needs_reply = int(later is not None)

    @staticmethod
    def save_all(conn: sqlite3.Connection, summaries: list[_Summary], pg: bool = False) -> None:
        # SQLite rewrites every index naming a SET column even when its value is the same, so a column
        # that an index carries is only written when it changed; status likewise, below.
        shapes: dict[tuple[bool, ...], list[list[Any]]] = {}
        for s in summaries:
            if s.last_text is not None:
                s.last_preview = one_line(s.last_text, 160)
            values = s._indexed()
            flags = tuple(new != old for new, old in zip(values, s.loaded))
            # '' stands for NULL in the nullable time columns (see _set): binding None costs far more in
            # sqlite3; PostgreSQL types its parameters and takes None.
            null = None if pg else ""
            params = [null if s.last_in_at is None else s.last_in_at,
                      null if s.last_out_at is None else s.last_out_at, s.last_preview, s.last_direction,
                      s.message_count, s.customer_count]
            for changed, group in zip(flags, values):
                if changed:
                    params.extend(null if v is None else v for v in group)
            params.append(s.id)
            shapes.setdefault(flags, []).append(params)
        for flags, rows in shapes.items():
            columns = ["last_in_at", "last_out_at", "last_preview", "last_direction", "message_count",
                       "customer_count"]
            columns += [c for changed, group in zip(flags, _SAVE_GROUPS) if changed for c in group]
            sets = ", ".join(f"{c}=?" for c in columns) if pg else ", ".join(map(_set, columns))
            conn.executemany(f"UPDATE conversations SET {sets} WHERE id=?", rows)
        conn.executemany("UPDATE conversations SET status = 'open' WHERE id = ?",
                         [(s.id,) for s in summaries if s.reopened_at is not None])
        conn.executemany("INSERT INTO conversation_events(conversation_id, event, at) VALUES (?,?,?)",
                         [(s.id, "reopened", s.reopened_at) for s in summaries if s.reopened_at is not None])
