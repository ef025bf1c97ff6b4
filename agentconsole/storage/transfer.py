"""Copying an SQLite workspace to a PostgreSQL database in one transaction, and proving both hold the same rows."""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
from psycopg import sql

from agentconsole.storage import integrity
from agentconsole.storage import transfer_ddl as ddl
from agentconsole.storage.migrations import MIGRATIONS
from agentconsole.storage.transfer_rows import (
    BINARY_TYPES, KINDS, Adjusted, Checksum, TransferProblem, TransferRefused, coercer, read_source, tolerant_text)

SCHEMA_VERSION = len(MIGRATIONS)
LOCK_TIMEOUT = "10s"  # waiting longer than this for a table means a console is using the server database
# FTS5 keeps a virtual table's data in these tables of its own; the server has its own search index.
_FTS_SHADOWS = ("_data", "_idx", "_content", "_docsize", "_config")
# Taken by migrate-to for its whole transaction, so two copies to one database never interleave.
_ADVISORY_KEY = 0x61637472  # "actr"


@dataclass(frozen=True)
class Table:
    """One table to copy: its columns (as both sides name them), primary key and references."""

    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    parents: frozenset[str]
    self_refs: tuple[str, ...] = ()  # columns that reference this same table: set once every row is in
    kinds: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()  # what each column is read as from SQLite (a column, or an expression)
    types: tuple[str, ...] = ()  # the server's type names


@dataclass(frozen=True)
class Derived:
    """A server column computed on the server from a text the copy makes of each row (a search vector)."""

    column: str
    expression: str  # SQL with {} where the text goes, e.g. "to_tsvector('simple', {})"
    inputs: tuple[str, ...]  # the row's columns the text is made of, in order
    make: Callable[[Sequence[str]], str]


@dataclass(frozen=True)
class ServerSide:
    """Where the server's schema differs from the SQLite file's, and what the copy does about it."""

    rebuilt: dict[str, str] = field(default_factory=dict)  # source tables not copied -> why
    moved: dict[str, dict[str, str]] = field(default_factory=dict)  # table -> {server column: SQLite expression over t}
    derived: dict[str, Derived] = field(default_factory=dict)  # table -> its derived column
    after_copy: Callable[[psycopg.Connection[Any]], None] | None = None  # inside the copy's transaction


@dataclass
class TableReport:
    name: str
    source_rows: int = 0
    target_rows: int = 0
    source_sum: str = ""
    target_sum: str = ""
    copied: int = 0
    seconds: float = 0.0
    adjusted: Adjusted = field(default_factory=Adjusted)

    @property
    def same(self) -> bool:
        return self.source_rows == self.target_rows and self.source_sum == self.target_sum


@dataclass
class Report:
    """What migrate-to did: 'copied', 'replaced' or 'verified' (the server already held this workspace)."""

    outcome: str
    tables: list[TableReport]
    seconds: float
    server_only: list[str] = field(default_factory=list)  # the server's own tables (search index, …)
    not_copied: dict[str, str] = field(default_factory=dict)  # source tables left out, and why

    @property
    def rows(self) -> int:
        return sum(t.source_rows for t in self.tables)

    @property
    def copied(self) -> int:
        return sum(t.copied for t in self.tables)

    @property
    def verified(self) -> bool:
        return all(t.same for t in self.tables)


def open_source(path: Path) -> sqlite3.Connection:
    """The workspace file opened read-only (SQLite refuses every write), in one read transaction so
    every table is read from the same moment even while a console keeps writing to it."""
    if not path.is_file():
        raise integrity.DatabaseProblem(f"there is no workspace database at {path}; agentconsole creates it "
                                        "on first use (or set AGENTCONSOLE_DATA_DIR to the folder holding it)")
    integrity.check_file(path)
    conn = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True, isolation_level=None,
                           check_same_thread=False)
    conn.execute("PRAGMA query_only = ON")
    conn.execute("BEGIN")
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version != SCHEMA_VERSION:
        conn.close()
        newer = version > SCHEMA_VERSION
        raise integrity.DatabaseProblem(
            f"{path} has schema {version}, this agentconsole writes schema {SCHEMA_VERSION}: "
            + ("upgrade agentconsole first" if newer else
               "open it once with this version (`agentconsole db check` then `agentconsole`), which "
               "upgrades it, then run migrate-to again"))
    return conn


def source_tables(conn: sqlite3.Connection) -> list[Table]:
    """The workspace's tables (not SQLite's own, not the FTS5 search indexes) in dependency order."""
    found = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name").fetchall()
    virtual = [n for n, text in found if re.match(r"\s*CREATE\s+VIRTUAL", text or "", re.IGNORECASE)]
    shadows = {v + s for v in virtual for s in _FTS_SHADOWS}
    tables: dict[str, Table] = {}
    for name, _ in found:
        if name in virtual or name in shadows or name.startswith("sqlite_"):
            continue
        info = conn.execute(f'PRAGMA table_info("{name}")').fetchall()
        columns = tuple(r[1] for r in info)
        key = tuple(r[1] for r in sorted((r for r in info if r[5]), key=lambda r: r[5])) or columns
        refs = conn.execute(f'PRAGMA foreign_key_list("{name}")').fetchall()
        parents = frozenset(r[2] for r in refs if r[2] != name)
        self_refs = tuple(r[3] for r in refs if r[2] == name)
        tables[name] = Table(name, columns, key, parents, self_refs)
    return _in_dependency_order(tables)


def _in_dependency_order(tables: dict[str, Table]) -> list[Table]:
    ordered: list[Table] = []
    placed: set[str] = set()
    pending = dict(sorted(tables.items()))
    while pending:
        ready = [t for t in pending.values() if all(p in placed or p not in tables for p in t.parents)]
        if not ready:
            raise TransferProblem("the workspace's tables reference each other in a circle ("
                                  + ", ".join(pending) + "); migrate-to cannot order them")
        for table in ready:
            ordered.append(table)
            placed.add(table.name)
            del pending[table.name]
    return ordered


def server_tables(conn: psycopg.Connection[Any]) -> dict[str, dict[str, str]]:
    """Each table of the server's schema with its writable columns and their pg_type names
    (generated columns, such as a search vector, are the server's own)."""
    rows = conn.execute(
        "SELECT c.table_name, c.column_name, c.udt_name FROM information_schema.columns c"
        " JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name"
        " WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'"
        " AND c.is_generated = 'NEVER' ORDER BY c.table_name, c.ordinal_position").fetchall()
    out: dict[str, dict[str, str]] = {}
    for table, column, udt in rows:
        out.setdefault(table, {})[column] = udt
    return out


def plan(source: list[Table], server: dict[str, dict[str, str]],
         side: ServerSide) -> tuple[list[Table], dict[str, str]]:
    """The tables to copy with their server types, and the source tables left out because the server
    builds them itself. Refuses a server schema missing a table or a column the workspace has: those
    rows would be lost."""
    missing: list[str] = []
    copied: list[Table] = []
    left: dict[str, str] = {}
    for table in source:
        if table.name in side.rebuilt:
            left[table.name] = side.rebuilt[table.name]
            continue
        there = server.get(table.name)
        if there is None:
            missing.append(table.name)
            continue
        moved = side.moved.get(table.name, {})
        columns = (*table.columns, *moved)
        gone = [c for c in columns if c not in there]
        if gone:
            missing.extend(f"{table.name}.{c}" for c in gone)
            continue
        unknown = [f"{table.name}.{c} ({there[c]})" for c in columns if there[c] not in KINDS]
        if unknown:
            raise TransferProblem("the server's schema has column types migrate-to does not copy: "
                                  + ", ".join(unknown))
        copied.append(Table(table.name, columns, table.key, table.parents, table.self_refs,
                            tuple(KINDS[there[c]] for c in columns),
                            (*(f't."{c}"' for c in table.columns), *moved.values()),
                            tuple(there[c] for c in columns)))
    if missing:
        raise TransferProblem(
            "the server database lacks what the workspace holds (" + ", ".join(missing[:8])
            + (", …" if len(missing) > 8 else "") + "): its schema is not this version's; nothing was copied")
    return copied, left


def _ident(*names: str) -> sql.Composed:
    return sql.SQL(", ").join(sql.Identifier(n) for n in names)


def _order(table: Table, server: bool) -> str:
    """ORDER BY the primary key; on the server text sorts by code point ("C"), as SQLite's BINARY does."""
    parts = []
    for column in table.key:
        kind = table.kinds[table.columns.index(column)] if table.kinds else ""
        quoted = f'"{column}"' if server else f't."{column}"'
        parts.append(f'{quoted} COLLATE "C"' if server and kind == "text" else quoted)
    return ", ".join(parts)


def _source_select(table: Table) -> str:
    return f'SELECT {", ".join(table.sources)} FROM "{table.name}" t ORDER BY {_order(table, False)}'


def _stream(conn: sqlite3.Connection, table: Table, report: TableReport, tolerant: bool,
            write: Callable[[tuple[Any, ...]], object] | None = None) -> list[tuple[Any, ...]]:
    """Read a source table in key order, converting, counting and checksumming its rows, and hand each
    to *write*; returns the rows whose references to their own table are written afterwards (those
    columns go in as NULL first, since a row may point at one further on)."""
    key_index = table.columns.index(table.key[0]) if len(table.key) == 1 else None
    refs = [table.columns.index(c) for c in table.self_refs]
    checksum, report.adjusted = Checksum(), Adjusted()
    convert = coercer(table.name, table.columns, table.kinds, key_index, report.adjusted)
    late: list[tuple[Any, ...]] = []
    conn.text_factory = tolerant_text if tolerant else str
    try:
        for batch in read_source(conn, _source_select(table)):
            rows = [convert(r) for r in batch]
            checksum.add(rows)
            if write is None:
                continue
            for row in rows:
                if refs and any(row[i] is not None for i in refs):
                    late.append(row)
                    row = tuple(None if i in refs else v for i, v in enumerate(row))
                write(row)
    except sqlite3.OperationalError as exc:
        if tolerant or "decode" not in str(exc).lower():
            raise
        raise Undecodable(table.name) from exc
    finally:
        conn.text_factory = str
    report.source_rows, report.source_sum = checksum.rows, checksum.hexdigest()
    return late


class Undecodable(Exception):
    """A table held text that is not UTF-8: it is read again with the tolerant text factory."""


def source_checksum(conn: sqlite3.Connection, table: Table, report: TableReport) -> None:
    """Count and checksum a source table's rows as the server would store them (nothing is written)."""
    try:
        _stream(conn, table, report, False)
    except Undecodable:
        _stream(conn, table, report, True)


def target_checksum(conn: psycopg.Connection[Any], table: Table, report: TableReport) -> None:
    """Count and checksum the server's copy of *table* the same way."""
    checksum = Checksum()
    # A type psycopg has no binary loader for (an extension's, citext) is read as text.
    columns = sql.SQL(", ").join(
        sql.Identifier(c) if t in BINARY_TYPES else sql.SQL("{}::text").format(sql.Identifier(c))
        for c, t in zip(table.columns, table.types))
    query = sql.SQL("SELECT {} FROM {} ORDER BY {}").format(
        columns, sql.Identifier(table.name), sql.SQL(_order(table, True)))
    with conn.cursor(name=f"verify_{table.name}", binary=True) as cursor:
        cursor.itersize = 5000
        cursor.execute(query)
        while batch := cursor.fetchmany(5000):
            checksum.add(batch)
    report.target_rows, report.target_sum = checksum.rows, checksum.hexdigest()


def _with_text(write: Callable[[Sequence[Any]], None], table: Table,
               derived: Derived) -> Callable[[tuple[Any, ...]], None]:
    at = [table.columns.index(c) for c in derived.inputs]
    make = derived.make
    return lambda row: write((*row, make([row[i] or "" for i in at])))


def copy_table(source: sqlite3.Connection, target: psycopg.Connection[Any], table: Table,
               report: TableReport, derived: Derived | None = None) -> None:
    """COPY one table (binary, streamed in batches) inside the caller's transaction, then fill in the
    references to its own rows. A table with a *derived* column is copied through a temporary table
    that carries each row's text, and the server computes the column from it on the way in."""
    started = time.perf_counter()
    into, columns, types = table.name, list(table.columns), list(table.types)
    if derived is not None:
        into = f"transfer_{table.name}"
        target.execute(sql.SQL("CREATE TEMPORARY TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA").format(
            sql.Identifier(into), _ident(*table.columns), sql.Identifier(table.name)))
        target.execute(sql.SQL("ALTER TABLE {} ADD COLUMN transfer_text text").format(sql.Identifier(into)))
        columns.append("transfer_text")
        types.append("text")
    # Binary COPY needs each type's binary form; an extension's type (citext) goes as text.
    binary = all(t in BINARY_TYPES for t in types)
    copy_sql = sql.SQL("COPY {} ({}) FROM STDIN" + (" (FORMAT BINARY)" if binary else "")).format(
        sql.Identifier(into), _ident(*columns))
    for tolerant in (False, True):
        target.execute("SAVEPOINT copy_table")
        try:
            with target.cursor() as cursor, cursor.copy(copy_sql) as copy:
                if binary:
                    copy.set_types(types)
                write = copy.write_row if derived is None else _with_text(copy.write_row, table, derived)
                late = _stream(source, table, report, tolerant, write)
        except Undecodable:
            target.execute("ROLLBACK TO SAVEPOINT copy_table")
            continue
        target.execute("RELEASE SAVEPOINT copy_table")
        break
    if derived is not None:
        target.execute(sql.SQL("INSERT INTO {} ({}, {}) SELECT {}, {} FROM {}").format(
            sql.Identifier(table.name), _ident(*table.columns), sql.Identifier(derived.column),
            _ident(*table.columns), sql.SQL(derived.expression.format("transfer_text")), sql.Identifier(into)))
        target.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(into)))
    key = table.key[0]
    ki = table.columns.index(key)
    for column in table.self_refs:
        ci = table.columns.index(column)
        pairs = [(row[ci], row[ki]) for row in late if row[ci] is not None]
        if pairs:
            with target.cursor() as cursor:
                cursor.executemany(sql.SQL("UPDATE {} SET {} = %s WHERE {} = %s").format(
                    sql.Identifier(table.name), sql.Identifier(column), sql.Identifier(key)), pairs)
    report.copied = report.source_rows
    report.seconds = time.perf_counter() - started


def _differences(reports: Sequence[TableReport]) -> str:
    parts = []
    for r in reports:
        if r.same:
            continue
        counts = (f"rows: {r.target_rows:,} there, {r.source_rows:,} here" if r.source_rows != r.target_rows
                  else f"{r.source_rows:,} rows on both, different content")
        parts.append(f"{r.name} ({counts})")
    return ", ".join(parts[:6]) + (", …" if len(parts) > 6 else "")


def migrate_to(path: Path, target: psycopg.Connection[Any], *, replace: bool = False,
               side: ServerSide | None = None, progress: Callable[[str], None] | None = None) -> Report:
    """Copy the SQLite workspace at *path* into *target* (a migrated, empty server database) and verify
    every table, all in one transaction: a failure or a mismatch leaves the server as it was.

    A server that already holds exactly this workspace is verified and left alone; one holding
    anything else is refused unless *replace*, which empties its tables first. *side* says how the
    server's schema differs (its own search index, columns that moved)."""
    if target.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        # Inside a transaction of the caller's, ours would be a mere savepoint that commits nothing.
        raise ValueError("migrate_to needs a connection outside any transaction")
    say = progress or (lambda _text: None)
    side = side or ServerSide()
    started = time.perf_counter()
    source = open_source(path)
    try:
        wanted = source_tables(source)
        with target.transaction():
            target.execute("SELECT pg_advisory_xact_lock(%s)", (_ADVISORY_KEY,))
            target.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
            target.execute("SET LOCAL maintenance_work_mem = '256MB'")  # the index builds after the copy
            server = server_tables(target)
            tables, left = plan(wanted, server, side)
            names = [t.name for t in tables]
            server_only = sorted(set(server) - set(names))
            ddl.locked(target, names, LOCK_TIMEOUT)
            reports = [TableReport(t.name) for t in tables]
            held = [t.name for t in tables if target.execute(
                sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(sql.Identifier(t.name))).fetchone() == (True,)]
            outcome = "copied"
            if held:
                say("the server database is not empty: comparing it with the workspace")
                for table, report in zip(tables, reports):
                    source_checksum(source, table, report)
                    target_checksum(target, table, report)
                if all(r.same for r in reports):
                    return Report("verified", reports, time.perf_counter() - started, server_only, left)
                if not replace:
                    raise TransferRefused(
                        "the server database already holds a different workspace, or an older copy of this "
                        f"one ({_differences(reports)}); nothing was changed. If the console kept working "
                        "on this workspace after an earlier copy, quit every console first. Run again "
                        "with --replace to empty the server database and copy this workspace over it")
                say("emptying the server database's tables (--replace)")
                target.execute(sql.SQL("TRUNCATE {} CASCADE").format(_ident(*names)))
                reports = [TableReport(t.name) for t in tables]
                outcome = "replaced"
            ddl.triggers(target, names, on=False)
            aside = ddl.set_aside(target, names)
            for table, report in zip(tables, reports):
                say(f"copying {table.name}")
                copy_table(source, target, table, report, side.derived.get(table.name))
            say(f"building {len(aside.indexes)} indexes and checking {len(aside.references)} references")
            ddl.restore(target, aside)
            ddl.triggers(target, names, on=True)
            ddl.reset_sequences(target, [(t.name, t.key[0]) for t in tables
                                         if len(t.key) == 1 and t.kinds[t.columns.index(t.key[0])] == "int"])
            if side.after_copy is not None:
                side.after_copy(target)
            say("verifying every table on the server")
            for table, report in zip(tables, reports):
                target_checksum(target, table, report)
            if not all(r.same for r in reports):
                raise TransferProblem("the server's copy does not match the workspace ("
                                      f"{_differences(reports)}); nothing was kept on the server")
        return Report(outcome, reports, time.perf_counter() - started, server_only, left)
    finally:
        source.close()
