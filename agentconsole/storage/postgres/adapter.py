"""A psycopg 3 connection behind the sqlite3 surface storage uses: `?` and `:name` placeholders, rows by
index and by column name, execute/executemany/cursor, BEGIN IMMEDIATE as one workspace-wide writer."""

from __future__ import annotations

import functools
import re
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import psycopg
from psycopg import pq
from psycopg.adapt import Loader

# The one writer at a time that SQLite's write lock gives (the collision guard, claims and the outbox
# rely on it): every write transaction takes this transaction-scoped advisory lock first.
WRITER_LOCK = 0x61670001
# Held (session-scoped) by the console that migrates the schema; the others wait for it.
MIGRATION_LOCK = 0x61670002

_INDEXED_BY = re.compile(r"\s+INDEXED\s+BY\s+\w+", re.IGNORECASE)
_PRAGMA = re.compile(r"\s*PRAGMA\s+(\w+)\s*(?:=\s*(\w+))?\s*$", re.IGNORECASE)
_BEGIN_IMMEDIATE = re.compile(r"\s*BEGIN\s+IMMEDIATE\s*;?\s*$", re.IGNORECASE)


class NotPortable(sqlite3.NotSupportedError):
    """A statement that has no PostgreSQL counterpart here: the caller must say what it means."""


class ServerIntegrityError(sqlite3.IntegrityError):
    """sqlite3's IntegrityError, carrying the server's SQLSTATE beside the message."""

    sqlstate: str | None = None


class Row(tuple[Any, ...]):
    """A result row addressable by position and by column name, as sqlite3.Row is (and equal to a tuple)."""

    _index: dict[str, int] = {}

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._index)


@functools.lru_cache(maxsize=256)
def _row_class(names: tuple[str, ...]) -> type[Row]:
    index: dict[str, int] = {}
    for i, name in enumerate(names):
        index.setdefault(name, i)  # like sqlite3.Row: the first column of a repeated name
    return type("Row", (Row,), {"_index": index})


def _row_factory(cursor: psycopg.Cursor[Any]) -> Any:
    names = tuple(c.name for c in cursor.description or ())
    cls = _row_class(names)
    return lambda values: cls(values)


class _NumericLoader(Loader):
    """numeric (what sum() of bigint returns) as int when whole, float otherwise, as SQLite gives them."""

    def load(self, data: Any) -> Any:
        text = bytes(data).decode()
        if "." in text or "e" in text.lower() or text in ("NaN", "Infinity", "-Infinity"):
            return float(text)
        return int(text)


@functools.lru_cache(maxsize=4096)
def translate(sql: str, named: bool) -> str:
    """*sql* with SQLite's placeholders as psycopg's (`?` -> %s, `:name` -> %(name)s) and literal % doubled,
    outside quoted strings; SQLite's index hints (INDEXED BY) dropped: PostgreSQL's planner picks its own."""
    sql = _INDEXED_BY.sub("", sql)
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in "'\"":
            end = sql.find(ch, i + 1)
            while end != -1 and end + 1 < n and sql[end + 1] == ch:  # a doubled quote inside
                end = sql.find(ch, end + 2)
            end = n - 1 if end == -1 else end
            out.append(sql[i:end + 1].replace("%", "%%"))
            i = end + 1
        elif ch == "%":
            out.append("%%")
            i += 1
        elif ch == "?" and not named:
            out.append("%s")
            i += 1
        elif ch == ":" and named and i + 1 < n and (sql[i + 1].isalpha() or sql[i + 1] == "_") and (
                i == 0 or sql[i - 1] != ":"):
            j = i + 1
            while j < n and (sql[j].isalnum() or sql[j] == "_"):
                j += 1
            out.append(f"%({sql[i + 1:j]})s")
            i = j
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _params(params: Any) -> tuple[Any, bool]:
    if params is None:
        return None, False
    if isinstance(params, Mapping):
        return params, True
    return (params if isinstance(params, (list, tuple)) else list(params)), False


class Cursor:
    """sqlite3.Cursor's surface over a psycopg cursor."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._cur = conn.raw.cursor(row_factory=_row_factory)
        self.row_factory: object = None  # accepted for sqlite3 code; rows are tuples already

    def execute(self, sql: str, params: Any = None) -> Cursor:
        self._conn._run(self._cur, sql, params)
        return self

    def executemany(self, sql: str, seq: Any) -> Cursor:
        self._conn._run_many(self._cur, sql, seq)
        return self

    def fetchone(self) -> Any:
        return self._cur.fetchone() if self._cur.description is not None else None

    def fetchall(self) -> list[Any]:
        return self._cur.fetchall() if self._cur.description is not None else []

    def fetchmany(self, size: int = 1) -> list[Any]:
        return self._cur.fetchmany(size) if self._cur.description is not None else []

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())

    @property
    def rowcount(self) -> int:
        return self._cur.rowcount

    @property
    def description(self) -> Any:
        return self._cur.description

    @property
    def lastrowid(self) -> int:
        raise NotPortable("cursor.lastrowid has no PostgreSQL counterpart: write INSERT ... RETURNING id")

    def close(self) -> None:
        self._cur.close()


class Connection:
    """sqlite3.Connection's surface (as storage uses it) over one psycopg connection in autocommit mode,
    with explicit BEGIN/COMMIT as the SQLite side has with isolation_level=None."""

    dialect = "postgresql"

    def __init__(self, raw: psycopg.Connection[Any],
                 release: Callable[[psycopg.Connection[Any]], None] | None = None) -> None:
        self.raw = raw
        self.read_only = False
        self._release = release
        raw.adapters.register_loader("numeric", _NumericLoader)

    @property
    def broken(self) -> bool:
        """The server closed it or went away (the store then takes a fresh one from the pool)."""
        return bool(self.raw.broken or self.raw.closed)

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != pq.TransactionStatus.IDLE

    def cursor(self) -> Cursor:
        return Cursor(self)

    def execute(self, sql: str, params: Any = None) -> Cursor:
        return Cursor(self).execute(sql, params)

    def executemany(self, sql: str, seq: Any) -> Cursor:
        return Cursor(self).executemany(sql, seq)

    def commit(self) -> None:
        if self.in_transaction:
            self.raw.execute("COMMIT")

    def rollback(self) -> None:
        if self.in_transaction:
            self.raw.execute("ROLLBACK")

    def close(self) -> None:
        """Back to its pool when it came from one (rolled back if a transaction was left open)."""
        if self._release is not None:
            release, self._release = self._release, None
            release(self.raw)
        elif not self.raw.closed:
            self.raw.close()

    def _statement(self, cur: psycopg.Cursor[Any], sql: str) -> str | None:
        """Handle the statements that are SQLite's own; None when *sql* was one of them and has run."""
        if _BEGIN_IMMEDIATE.match(sql):
            cur.execute("BEGIN")
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (WRITER_LOCK,))
            return None
        pragma = _PRAGMA.match(sql)
        if pragma:
            name, value = pragma.group(1).lower(), (pragma.group(2) or "").lower()
            if name == "query_only" and value in ("on", "1", "true"):
                # A damaged workspace is never written again (see Store.conn): the session refuses writes.
                cur.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
                self.read_only = True
                return None
            raise NotPortable(f"PRAGMA {name} is SQLite's; on PostgreSQL say what it is for instead")
        return sql

    def _run(self, cur: psycopg.Cursor[Any], sql: str, params: Any) -> None:
        if self._statement(cur, sql) is None:
            return
        values, named = _params(params)
        try:
            cur.execute(translate(sql, named), values)
        except psycopg.errors.IntegrityError as exc:
            raise _integrity(exc) from exc

    def _run_many(self, cur: psycopg.Cursor[Any], sql: str, seq: Any) -> None:
        rows = list(seq)
        if not rows:
            return
        named = isinstance(rows[0], Mapping)
        try:
            cur.executemany(translate(sql, named), [r if isinstance(r, (Mapping, tuple, list)) else tuple(r)
                                                    for r in rows])
        except psycopg.errors.IntegrityError as exc:
            raise _integrity(exc) from exc


def _integrity(exc: psycopg.errors.IntegrityError) -> sqlite3.IntegrityError:
    """A broken unique key or reference raises what it raises on SQLite, so callers catch one class
    (the psycopg error stays attached as the cause)."""
    error = ServerIntegrityError(str(exc).strip())
    error.sqlstate = exc.sqlstate
    return error
