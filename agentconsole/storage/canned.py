"""Where the canned replies are kept: the interface the library uses, and its SQLite implementation."""

from __future__ import annotations

import json
import sqlite3
from contextlib import AbstractContextManager
from typing import Protocol

from agentconsole.domain.records import CannedFields, CannedRecord
from agentconsole.storage.store import Store

__all__ = ["CannedFields", "CannedRecord", "CannedStorage", "SqliteCannedStorage"]


class CannedStorage(Protocol):
    """The canned replies of one workspace. Writes inside transaction() apply together or not at all."""

    def transaction(self) -> AbstractContextManager[object]: ...

    def all(self) -> list[CannedRecord]:
        """Every reply, by shortcut."""
        ...

    def get(self, canned_id: int) -> CannedRecord | None: ...

    def by_shortcut(self, shortcut: str) -> CannedRecord | None: ...

    def insert(self, fields: CannedFields, at: float) -> int: ...

    def update(self, canned_id: int, fields: CannedFields, at: float) -> bool:
        """False when no reply has that id."""
        ...

    def delete(self, canned_id: int) -> None: ...

    def record_use(self, canned_id: int, at: float) -> None: ...

    def ranks(self, words: list[str]) -> dict[int, float]:
        """{id: score} of the replies sharing a word with *words*, lower scores matching better
        (BM25; a word in the name or the tags weighs more than one in the body)."""
        ...


class SqliteCannedStorage:
    """CannedStorage over the store: the canned table and its FTS5 index (on PostgreSQL, its tsvector)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return self.store.transaction()

    def all(self) -> list[CannedRecord]:
        return [_record(r) for r in self.store.conn.execute("SELECT * FROM canned ORDER BY shortcut")]

    def get(self, canned_id: int) -> CannedRecord | None:
        return self._one("SELECT * FROM canned WHERE id = ?", canned_id)

    def by_shortcut(self, shortcut: str) -> CannedRecord | None:
        return self._one("SELECT * FROM canned WHERE shortcut = ?", shortcut)

    def insert(self, fields: CannedFields, at: float) -> int:
        with self.store.transaction() as conn:
            return int(conn.execute(
                "INSERT INTO canned(shortcut, name, body, tags, channels, kinds, created_at, updated_at)"
                " VALUES (?,?,?,?,?,?,?,?) RETURNING id", (*_columns(fields), at, at)).fetchone()[0])

    def update(self, canned_id: int, fields: CannedFields, at: float) -> bool:
        with self.store.transaction() as conn:
            cur = conn.execute(
                "UPDATE canned SET shortcut=?, name=?, body=?, tags=?, channels=?, kinds=?, updated_at=?"
                " WHERE id=?", (*_columns(fields), at, canned_id))
            return cur.rowcount > 0

    def delete(self, canned_id: int) -> None:
        with self.store.transaction() as conn:
            conn.execute("DELETE FROM canned WHERE id = ?", (canned_id,))

    def record_use(self, canned_id: int, at: float) -> None:
        with self.store.transaction() as conn:
            conn.execute("UPDATE canned SET usage_count = usage_count + 1, last_used_at = ? WHERE id = ?",
                         (at, canned_id))

    def ranks(self, words: list[str]) -> dict[int, float]:
        if not words:
            return {}
        if self.store.backend == "postgresql":
            return self._pg_ranks(words)
        match = " OR ".join('"' + w.replace('"', '""') + '"' for w in words)
        rows = self.store.conn.execute(
            "SELECT rowid, bm25(canned_fts, 3.0, 1.0, 4.0) AS score FROM canned_fts"
            " WHERE canned_fts MATCH ? ORDER BY score", (match,))
        return {int(r[0]): float(r[1]) for r in rows}

    def _pg_ranks(self, words: list[str]) -> dict[int, float]:
        """ts_rank with the weights bm25 is given on SQLite (name 3, body 1, tags 4), negated: lower is better."""
        query = " | ".join("'" + w.replace("'", "''") + "'" for w in words)
        rows = self.store.conn.execute(
            "SELECT id, -ts_rank('{0, 0.25, 1.0, 0.75}', search, q) AS score"
            " FROM canned, to_tsquery('agentconsole_stem', ?) AS q WHERE search @@ q ORDER BY score", (query,))
        return {int(r[0]): float(r[1]) for r in rows}

    def _one(self, sql: str, value: object) -> CannedRecord | None:
        row = self.store.conn.execute(sql, (value,)).fetchone()
        return _record(row) if row else None


def _columns(f: CannedFields) -> tuple[str, str, str, str, str, str]:
    return (f.shortcut, f.name, f.body, json.dumps(list(f.tags)), json.dumps(list(f.channels)),
            json.dumps(list(f.kinds)))


def _record(r: sqlite3.Row) -> CannedRecord:
    return CannedRecord(r["id"], r["shortcut"], r["name"], r["body"], tuple(json.loads(r["tags"])),
                        tuple(json.loads(r["channels"])), tuple(json.loads(r["kinds"])), r["usage_count"],
                        r["last_used_at"])
