"""Where the team's shared state is kept: presence rows, leases, the change log and the reads of the
collision guard; the interface the team logic uses and its one implementation, in SQL that SQLite and
PostgreSQL both accept."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

if TYPE_CHECKING:
    from agentconsole.storage.store import Store

__all__ = ["AnswerRow", "ChangeRow", "LeaseRow", "PresenceRow", "SqlTeamStorage", "TeamStorage", "for_store",
           "prune_changes_in"]


class PresenceRow(NamedTuple):
    conversation_id: int
    agent_id: int
    name: str
    initials: str
    activity: str
    since: float


class LeaseRow(NamedTuple):
    name: str
    owner: str
    label: str
    acquired_at: float
    expires_at: float


class ChangeRow(NamedTuple):
    seq: int
    conversation_id: int | None
    what: str


class AnswerRow(NamedTuple):
    """An answer in a conversation: sent (at = when it was sent) or on its way (at = when queued)."""

    who: str
    text: str
    at: float
    agent_id: int | None


class TeamStorage(Protocol):
    """The team's rows of one workspace. Every write that decides who gets something (a lease, a
    claim) is one compare-and-set statement, so it holds under any isolation level and any number of
    hosts; writes inside transaction() apply together."""

    def transaction(self) -> AbstractContextManager[object]: ...

    # presence
    def beat(self, console: str, agent_id: int, conversation_id: int | None, activity: str, now: float,
             expires_at: float, moved: bool) -> None:
        """Upsert the console's row; *since* becomes *now* only when it *moved* (place or activity)."""
        ...
    def leave(self, console: str) -> None: ...
    def present(self, now: float, not_agent: int | None, conversation_id: int | None) -> list[PresenceRow]:
        """Live rows on a conversation of agents other than *not_agent*."""
        ...
    def sweep_presence(self, now: float) -> int: ...

    # leases
    def lease(self, name: str) -> LeaseRow | None: ...
    def insert_lease(self, row: LeaseRow) -> bool:
        """Take a lease nobody holds; False when a row already exists."""
        ...
    def renew_lease(self, name: str, owner: str, expires_at: float) -> bool:
        """Extend *owner*'s lease; False when someone else holds it now."""
        ...
    def take_lease(self, seen: LeaseRow, row: LeaseRow) -> bool:
        """Replace exactly the holder that was *seen* (same owner, same heartbeat) by *row*."""
        ...
    def release_lease(self, name: str, owner: str) -> None: ...
    def release_all(self, owner: str) -> None: ...

    # the collision guard's reads
    def answers_since(self, conversation_id: int, stored_after: float, limit: int) -> list[AnswerRow]:
        """Outbound messages stored after *stored_after*, newest first."""
        ...
    def answers_on_their_way(self, conversation_id: int, states: Sequence[str], limit: int) -> list[AnswerRow]:
        """Queued replies and DMs in one of *states*, newest first."""
        ...

    # the change log
    def last_seq(self) -> int: ...
    def first_seq(self) -> int | None: ...
    def changes_after(self, seq: int, limit: int) -> list[ChangeRow]: ...
    def prune_changes(self, keep: int) -> int:
        """Forget all but the newest *keep* rows; the newest always stays, so seq never goes back."""
        ...


class SqlTeamStorage:
    """TeamStorage on a Store's connections (SQLite, or PostgreSQL through its adapter)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def transaction(self) -> AbstractContextManager[Any]:
        return self.store.transaction()

    def _rows(self, sql: str, params: Sequence[object] = ()) -> list[Any]:
        return list(self.store.conn.execute(sql, tuple(params)).fetchall())

    # ---------------------------------------------------------------- presence

    def beat(self, console: str, agent_id: int, conversation_id: int | None, activity: str, now: float,
             expires_at: float, moved: bool) -> None:
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT INTO presence(console, agent_id, conversation_id, activity, since, expires_at)"
                " VALUES (?,?,?,?,?,?) ON CONFLICT (console) DO UPDATE SET agent_id = excluded.agent_id,"
                " conversation_id = excluded.conversation_id, activity = excluded.activity,"
                " since = CASE WHEN ? = 1 THEN excluded.since ELSE presence.since END,"
                " expires_at = excluded.expires_at",
                (console, agent_id, conversation_id, activity, now, expires_at, int(moved)))

    def leave(self, console: str) -> None:
        with self.store.transaction() as conn:
            conn.execute("DELETE FROM presence WHERE console = ?", (console,))

    def present(self, now: float, not_agent: int | None, conversation_id: int | None) -> list[PresenceRow]:
        sql = ("SELECT p.conversation_id, p.agent_id, a.name, a.initials, p.activity, p.since FROM presence p"
               " JOIN agents a ON a.id = p.agent_id WHERE p.expires_at > ? AND p.conversation_id IS NOT NULL")
        params: list[object] = [now]
        if not_agent is not None:
            sql += " AND p.agent_id != ?"
            params.append(not_agent)
        if conversation_id is not None:
            sql += " AND p.conversation_id = ?"
            params.append(conversation_id)
        return [PresenceRow(r[0], r[1], r[2], r[3] or "", r[4], r[5]) for r in self._rows(sql, params)]

    def sweep_presence(self, now: float) -> int:
        with self.store.transaction() as conn:
            return int(conn.execute("DELETE FROM presence WHERE expires_at <= ?", (now,)).rowcount)

    # ---------------------------------------------------------------- leases

    def lease(self, name: str) -> LeaseRow | None:
        rows = self._rows("SELECT name, owner, label, acquired_at, expires_at FROM leases WHERE name = ?", (name,))
        return LeaseRow(*rows[0]) if rows else None

    def insert_lease(self, row: LeaseRow) -> bool:
        with self.store.transaction() as conn:
            got = conn.execute(
                "INSERT INTO leases(name, owner, label, acquired_at, expires_at) VALUES (?,?,?,?,?)"
                " ON CONFLICT (name) DO NOTHING RETURNING name",
                (row.name, row.owner, row.label, row.acquired_at, row.expires_at)).fetchall()
        return bool(got)

    def renew_lease(self, name: str, owner: str, expires_at: float) -> bool:
        with self.store.transaction() as conn:
            return int(conn.execute("UPDATE leases SET expires_at = ? WHERE name = ? AND owner = ?",
                                    (expires_at, name, owner)).rowcount) == 1

    def take_lease(self, seen: LeaseRow, row: LeaseRow) -> bool:
        import json

        with self.store.transaction() as conn:
            done = int(conn.execute(
                "UPDATE leases SET owner = ?, label = ?, acquired_at = ?, expires_at = ?"
                " WHERE name = ? AND owner = ? AND expires_at = ?",
                (row.owner, row.label, row.acquired_at, row.expires_at, seen.name, seen.owner,
                 seen.expires_at)).rowcount) == 1
            if done:
                conn.execute("INSERT INTO audit(action, detail, at) VALUES ('lease_taken', ?, ?)",
                             (json.dumps({"lease": row.name, "from": seen.owner, "to": row.owner}),
                              row.acquired_at))
        return done

    def release_lease(self, name: str, owner: str) -> None:
        with self.store.transaction() as conn:
            conn.execute("DELETE FROM leases WHERE name = ? AND owner = ?", (name, owner))

    def release_all(self, owner: str) -> None:
        with self.store.transaction() as conn:
            conn.execute("DELETE FROM leases WHERE owner = ?", (owner,))

    # ---------------------------------------------------------------- the collision guard's reads

    def answers_since(self, conversation_id: int, stored_after: float, limit: int) -> list[AnswerRow]:
        return [AnswerRow(*r) for r in self._rows(
            "SELECT coalesce(a.name, ''), m.text, m.sent_at, m.agent_id FROM messages m INDEXED BY messages_conversation"
            " LEFT JOIN agents a ON a.id = m.agent_id WHERE m.conversation_id = ? AND m.direction = 'out'"
            " AND m.stored_at > ? ORDER BY m.stored_at DESC LIMIT ?", (conversation_id, stored_after, limit))]

    def answers_on_their_way(self, conversation_id: int, states: Sequence[str], limit: int) -> list[AnswerRow]:
        marks = ",".join("?" * len(states))
        return [AnswerRow(*r) for r in self._rows(
            f"SELECT coalesce(a.name, ''), o.text, o.created_at, o.agent_id FROM outbox o"
            f" LEFT JOIN agents a ON a.id = o.agent_id WHERE o.conversation_id = ? AND o.state IN ({marks})"
            f" AND o.action IN ('reply', 'dm') ORDER BY o.id DESC LIMIT ?", (conversation_id, *states, limit))]

    # ---------------------------------------------------------------- the change log

    def last_seq(self) -> int:
        return int(self._rows("SELECT coalesce(max(seq), 0) FROM changes")[0][0])

    def first_seq(self) -> int | None:
        first = self._rows("SELECT min(seq) FROM changes")[0][0]
        return None if first is None else int(first)

    def changes_after(self, seq: int, limit: int) -> list[ChangeRow]:
        return [ChangeRow(int(r[0]), r[1], r[2]) for r in self._rows(
            "SELECT seq, conversation_id, what FROM changes WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit))]

    def prune_changes(self, keep: int) -> int:
        with self.store.transaction() as conn:
            return prune_changes_in(conn, keep)


def prune_changes_in(conn: Any, keep: int) -> int:
    """prune_changes inside the caller's transaction on *conn*."""
    last = conn.execute("SELECT max(seq) FROM changes").fetchone()[0]
    if last is None:
        return 0
    return int(conn.execute("DELETE FROM changes WHERE seq <= ?", (last - keep,)).rowcount)


def for_store(store: Store) -> TeamStorage:
    """The team storage of *store*'s workspace, whichever engine holds it."""
    return store.team_storage()
