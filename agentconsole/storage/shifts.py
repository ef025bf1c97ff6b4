"""Where shifts are kept: their rows, their posts, the accounts' shift settings, away replies and the
hand-off's reads; the interface the shift logic uses and its SQLite implementation."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from agentconsole.domain.records import PostKind, PostStatus, ShiftRow
from agentconsole.storage.store import Store

__all__ = ["AnsweredRow", "PostKind", "PostStatus", "SavedSettings", "ShiftRow", "ShiftStorage", "SqliteShiftStorage"]


@dataclass(frozen=True, slots=True)
class SavedSettings:
    """An account's saved shift settings; None where the agent never chose (the defaults apply)."""

    hello: bool | None
    hello_template: str | None
    goodbye_template: str | None
    away: bool
    away_template: str | None


@dataclass(frozen=True, slots=True)
class AnsweredRow:
    """One reply an agent sent, with the first-response figures of its conversation."""

    conversation_id: int
    sent_at: float
    first_response_at: float | None
    first_customer_at: float | None


SETTING_COLUMNS = ("hello", "hello_template", "goodbye_template", "away", "away_template")


class ShiftStorage(Protocol):
    """Shifts of one workspace. Writes inside transaction() apply together, and checks made inside it
    hold until it ends (a second console waits)."""

    def transaction(self) -> AbstractContextManager[object]: ...

    # settings
    def saved_settings(self) -> dict[int, SavedSettings]: ...
    def save_settings(self, account_id: int, values: Mapping[str, bool | str | None]) -> None:
        """Store the given SETTING_COLUMNS of one account; an empty string clears a template."""
        ...

    # shifts
    def on_shift(self) -> list[ShiftRow]: ...
    def shift(self, shift_id: int) -> ShiftRow | None: ...
    def ended_at(self, shift_id: int) -> float | None: ...
    def last_ended(self) -> ShiftRow | None: ...
    def pending_handoffs(self, limit: int) -> list[ShiftRow]:
        """Ended shifts with a note nobody acknowledged, newest first."""
        ...
    def history(self, limit: int) -> list[ShiftRow]: ...
    def start(self, agent_id: int, at: float, planned_end: float | None) -> int: ...
    def acknowledge(self, shift_ids: Iterable[int], agent_id: int, at: float) -> None: ...
    def end(self, shift_id: int, at: float, next_agent: str, next_start: float | None, note: str,
            answered: int, median_first_response: float | None) -> None: ...
    def set_next(self, shift_id: int, next_agent: str, next_start: float | None) -> None: ...
    def add_post(self, shift_id: int, kind: PostKind, account_id: int, outbox_id: int | None,
                 problem: str) -> None: ...
    def posts(self, shift_id: int, kind: PostKind | None = None) -> tuple[PostStatus, ...]:
        """Hellos before goodbyes, each in the order queued."""
        ...
    def answered(self, agent_id: int, start: float, end: float) -> list[AnsweredRow]:
        """The agent's sent replies (not posts, not away replies) in [start, end]."""
        ...
    def hand_over(self, from_agent: int, to_agent: int | None, shift_id: int, at: float, *,
                  on_shift: bool = True) -> tuple[int, int]:
        """Give the agent's open conversations to *to_agent* (None: unassigned), audited, each move a
        compare-and-set; when *to_agent* is off shift they wait unassigned, held for their next shift.
        (how many moved, how many of them are held)."""
        ...
    def take_handons(self, agent_id: int, at: float) -> int:
        """At shift start: the conversations held for this agent, if still unassigned; how many."""
        ...
    def audit(self, agent_id: int | None, action: str, **detail: object) -> None: ...

    # the hand-off note and away replies
    def waiting_ids(self, limit: int) -> list[int]:
        """Open conversations waiting for a reply, longest wait first."""
        ...
    def answered_open_ids(self, limit: int) -> list[int]:
        """Open conversations not waiting, latest activity first."""
        ...
    def open_count(self) -> int: ...
    def last_note(self, conversation_id: int) -> str | None: ...
    def away_candidates(self, since: float, account_ids: Sequence[int], limit: int
                        ) -> list[tuple[int, int | None]]:
        """(conversation, contact) waiting on these accounts with a customer message since *since*."""
        ...
    def claim_away(self, off_since: float, person: str, conversation_id: int, at: float) -> bool:
        """Record that *person* gets this off period's away reply; False if they already had it."""
        ...
    def set_away_outbox(self, off_since: float, person: str, outbox_id: int) -> None: ...


_SHIFT_SELECT = """
SELECT s.*, a.name AS agent_name, a.initials AS initials, a.timezone AS timezone,
       COALESCE(ack.name, '') AS acknowledged_name
FROM shifts s JOIN agents a ON a.id = s.agent_id LEFT JOIN agents ack ON ack.id = s.acknowledged_by
"""


class SqliteShiftStorage:
    """ShiftStorage over the SQLite store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return self.store.transaction()

    def _all(self, sql: str, *params: object) -> list[sqlite3.Row]:
        return self.store.conn.execute(sql, params).fetchall()

    def saved_settings(self) -> dict[int, SavedSettings]:
        return {r["account_id"]: SavedSettings(None if r["hello"] is None else bool(r["hello"]),
                                               r["hello_template"], r["goodbye_template"], bool(r["away"]),
                                               r["away_template"])
                for r in self._all("SELECT * FROM shift_accounts")}

    def save_settings(self, account_id: int, values: Mapping[str, bool | str | None]) -> None:
        with self.store.transaction() as conn:
            conn.execute("INSERT INTO shift_accounts(account_id) VALUES (?) ON CONFLICT (account_id) DO NOTHING",
                         (account_id,))
            for column, value in values.items():
                if column not in SETTING_COLUMNS:
                    raise ValueError(f"no shift setting {column!r}")
                stored = int(value) if isinstance(value, bool) else (value or None)
                conn.execute(f"UPDATE shift_accounts SET {column} = ? WHERE account_id = ?",
                             (stored, account_id))

    def on_shift(self) -> list[ShiftRow]:
        return [_shift(r) for r in self._all(f"{_SHIFT_SELECT} WHERE s.ended_at IS NULL"
                                             " ORDER BY s.started_at, s.id")]

    def shift(self, shift_id: int) -> ShiftRow | None:
        rows = self._all(f"{_SHIFT_SELECT} WHERE s.id = ?", shift_id)
        return _shift(rows[0]) if rows else None

    def ended_at(self, shift_id: int) -> float | None:
        rows = self._all("SELECT ended_at FROM shifts WHERE id = ?", shift_id)
        return rows[0][0] if rows else None

    def last_ended(self) -> ShiftRow | None:
        rows = self._all(f"{_SHIFT_SELECT} WHERE s.ended_at IS NOT NULL ORDER BY s.ended_at DESC, s.id DESC"
                         " LIMIT 1")
        return _shift(rows[0]) if rows else None

    def pending_handoffs(self, limit: int) -> list[ShiftRow]:
        return [_shift(r) for r in self._all(
            f"{_SHIFT_SELECT} WHERE s.ended_at IS NOT NULL AND s.acknowledged_by IS NULL"
            " AND s.handoff_note != '' ORDER BY s.ended_at DESC, s.id DESC LIMIT ?", limit)]

    def history(self, limit: int) -> list[ShiftRow]:
        return [_shift(r) for r in self._all(f"{_SHIFT_SELECT} ORDER BY s.started_at DESC, s.id DESC LIMIT ?",
                                             limit)]

    def start(self, agent_id: int, at: float, planned_end: float | None) -> int:
        with self.store.transaction() as conn:
            return int(conn.execute("INSERT INTO shifts(agent_id, started_at, planned_end) VALUES (?,?,?)"
                                    " RETURNING id", (agent_id, at, planned_end)).fetchone()[0])

    def acknowledge(self, shift_ids: Iterable[int], agent_id: int, at: float) -> None:
        with self.store.transaction() as conn:
            conn.executemany("UPDATE shifts SET acknowledged_by = ?, acknowledged_at = ?"
                             " WHERE id = ? AND acknowledged_by IS NULL",
                             [(agent_id, at, sid) for sid in shift_ids])

    def end(self, shift_id: int, at: float, next_agent: str, next_start: float | None, note: str,
            answered: int, median_first_response: float | None) -> None:
        with self.store.transaction() as conn:
            conn.execute(
                "UPDATE shifts SET ended_at = ?, next_agent = ?, next_start = ?, handoff_note = ?, answered = ?,"
                " median_first_response = ? WHERE id = ?",
                (at, next_agent, next_start, note, answered, median_first_response, shift_id))

    def set_next(self, shift_id: int, next_agent: str, next_start: float | None) -> None:
        with self.store.transaction() as conn:
            conn.execute("UPDATE shifts SET next_agent = ?, next_start = ? WHERE id = ?",
                         (next_agent, next_start, shift_id))

    def add_post(self, shift_id: int, kind: PostKind, account_id: int, outbox_id: int | None,
                 problem: str) -> None:
        with self.store.transaction() as conn:
            conn.execute("INSERT INTO shift_posts(shift_id, kind, account_id, outbox_id, problem)"
                         " VALUES (?,?,?,?,?)", (shift_id, str(kind), account_id, outbox_id, problem))

    def posts(self, shift_id: int, kind: PostKind | None = None) -> tuple[PostStatus, ...]:
        wanted = None if kind is None else str(kind)
        # In the order they were added; shift_posts has no id column, so that is SQLite's rowid, and on
        # PostgreSQL the row's place in the table (ctid), which insertion order fills (rows never change).
        added = "p.ctid" if self.store.backend == "postgresql" else "p.rowid"
        rows = self.store.conn.execute(
            "SELECT p.account_id, a.name, a.channel, p.kind, p.outbox_id, COALESCE(o.state, 'skipped'),"
            " CASE WHEN p.problem != '' THEN p.problem ELSE COALESCE(o.last_error, '') END"
            " FROM shift_posts p JOIN accounts a ON a.id = p.account_id"
            " LEFT JOIN outbox o ON o.id = p.outbox_id WHERE p.shift_id = ?"
            f" AND (CAST(? AS TEXT) IS NULL OR p.kind = ?) ORDER BY p.kind DESC, {added}",
            (shift_id, wanted, wanted))
        return tuple(PostStatus(*r) for r in rows)

    def answered(self, agent_id: int, start: float, end: float) -> list[AnsweredRow]:
        return [AnsweredRow(*r) for r in self._all(
            "SELECT o.conversation_id, m.sent_at, c.first_response_at, c.first_customer_at FROM outbox o"
            " JOIN messages m ON m.id = o.message_id JOIN conversations c ON c.id = o.conversation_id"
            " WHERE o.agent_id = ? AND o.state = 'sent' AND o.action != 'post'"
            " AND COALESCE(o.source, '') != 'away' AND m.sent_at >= ? AND m.sent_at <= ?",
            agent_id, start, end)]

    def hand_over(self, from_agent: int, to_agent: int | None, shift_id: int, at: float, *,
                  on_shift: bool = True) -> tuple[int, int]:
        to = to_agent if on_shift else None
        with self.store.transaction() as conn:
            ids = [r[0] for r in conn.execute("SELECT id FROM conversations WHERE assignee_id = ?"
                                              " AND status = 'open'", (from_agent,))]
            # Compare-and-set: one another console reassigned meanwhile stays where it is.
            moved = [cid for cid in ids if conn.execute(
                "UPDATE conversations SET assignee_id = ? WHERE id = ? AND assignee_id = ?",
                (to, cid, from_agent)).rowcount]
            detail: dict[str, object] = {"to": to, "from": from_agent, "handover": shift_id}
            held = to_agent is not None and not on_shift
            if held:
                detail["held_for"] = to_agent
                conn.executemany("INSERT INTO handons(conversation_id, to_agent_id, shift_id, at) VALUES (?,?,?,?)"
                                 " ON CONFLICT (conversation_id) DO UPDATE SET to_agent_id = excluded.to_agent_id,"
                                 " shift_id = excluded.shift_id, at = excluded.at", [(cid, to_agent, shift_id, at) for cid in moved])
            conn.executemany(
                "INSERT INTO audit(agent_id, action, conversation_id, detail, at) VALUES (?,?,?,?,?)",
                [(from_agent, "assigned" if to is not None else "unassigned", cid, json.dumps(detail), at)
                 for cid in moved])
            return len(moved), len(moved) if held else 0

    def take_handons(self, agent_id: int, at: float) -> int:
        with self.store.transaction() as conn:
            ids = [r[0] for r in conn.execute(
                "SELECT h.conversation_id FROM handons h JOIN conversations c ON c.id = h.conversation_id"
                " WHERE h.to_agent_id = ? AND c.status = 'open'", (agent_id,))]
            taken = [cid for cid in ids if conn.execute(
                "UPDATE conversations SET assignee_id = ? WHERE id = ? AND assignee_id IS NULL",
                (agent_id, cid)).rowcount]
            conn.executemany(
                "INSERT INTO audit(agent_id, action, conversation_id, detail, at) VALUES (?,?,?,?,?)",
                [(agent_id, "assigned", cid, json.dumps({"to": agent_id, "handon": True}), at) for cid in taken])
            conn.execute("DELETE FROM handons WHERE to_agent_id = ?", (agent_id,))
            return len(taken)

    def audit(self, agent_id: int | None, action: str, **detail: object) -> None:
        self.store.audit(agent_id, action, None, **detail)

    def waiting_ids(self, limit: int) -> list[int]:
        return [r[0] for r in self._all(
            "SELECT id FROM conversations INDEXED BY conv_waiting WHERE status = 'open' AND needs_reply = 1"
            " ORDER BY waiting_since, id LIMIT ?", limit)]

    def answered_open_ids(self, limit: int) -> list[int]:
        return [r[0] for r in self._all(
            "SELECT id FROM conversations WHERE status = 'open' AND needs_reply = 0"
            " ORDER BY last_message_at DESC, id DESC LIMIT ?", limit)]

    def open_count(self) -> int:
        return int(self._all("SELECT count(*) FROM conversations WHERE status = 'open'")[0][0])

    def last_note(self, conversation_id: int) -> str | None:
        rows = self._all("SELECT text FROM notes WHERE conversation_id = ? ORDER BY created_at DESC,"
                         " id DESC LIMIT 1", conversation_id)
        return rows[0][0] if rows else None

    def away_candidates(self, since: float, account_ids: Sequence[int], limit: int
                        ) -> list[tuple[int, int | None]]:
        if not account_ids:
            return []
        marks = ",".join("?" * len(account_ids))
        return [(r[0], r[1]) for r in self._all(
            "SELECT id, contact_id FROM conversations INDEXED BY conv_waiting WHERE status = 'open'"
            f" AND needs_reply = 1 AND last_in_at >= ? AND account_id IN ({marks})"
            " ORDER BY waiting_since, id LIMIT ?", since, *account_ids, limit)]

    def claim_away(self, off_since: float, person: str, conversation_id: int, at: float) -> bool:
        with self.store.transaction() as conn:
            return conn.execute(
                "INSERT INTO away_replies(off_since, person, conversation_id, at) VALUES (?,?,?,?)"
                " ON CONFLICT (off_since, person) DO NOTHING",
                (off_since, person, conversation_id, at)).rowcount > 0

    def set_away_outbox(self, off_since: float, person: str, outbox_id: int) -> None:
        with self.store.transaction() as conn:
            conn.execute("UPDATE away_replies SET outbox_id = ? WHERE off_since = ? AND person = ?",
                         (outbox_id, off_since, person))


def _shift(r: sqlite3.Row) -> ShiftRow:
    return ShiftRow(r["id"], r["agent_id"], r["agent_name"], r["initials"], r["timezone"], r["started_at"],
                    r["planned_end"], r["ended_at"], r["next_agent"], r["next_start"], r["handoff_note"],
                    r["acknowledged_name"], r["answered"], r["median_first_response"])
