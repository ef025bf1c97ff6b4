"""What migrate-to does to the server's schema inside its transaction: locks, quiet triggers, indexes and
references set aside during the copy and rebuilt after it (as pg_restore loads), id sequences moved on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from agentconsole.storage.transfer_rows import TransferProblem, TransferRefused


def _names(names: Sequence[str]) -> sql.Composed:
    return sql.SQL(", ").join(sql.Identifier(n) for n in names)


def locked(target: psycopg.Connection[Any], names: Sequence[str], timeout: str) -> None:
    """Writers wait while the copy runs (readers do not); a console holding a table makes this fail."""
    try:
        target.execute(sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(_names(names)))
    except psycopg.errors.LockNotAvailable:
        raise TransferRefused(f"the server database is in use (a table stayed locked for {timeout}): quit "
                              "the consoles using it and run migrate-to again") from None


def triggers(target: psycopg.Connection[Any], names: Sequence[str], on: bool) -> None:
    """The server's own triggers (the change log) stay quiet while the rows are copied as they are."""
    verb = sql.SQL("ENABLE" if on else "DISABLE")
    try:
        for name in names:
            target.execute(sql.SQL("ALTER TABLE {} {} TRIGGER USER").format(sql.Identifier(name), verb))
    except psycopg.errors.InsufficientPrivilege:
        raise TransferRefused("the server role does not own the workspace's tables: run migrate-to as the "
                              "role that created them (the one in the URL of the first console)") from None


@dataclass(frozen=True)
class SetAside:
    """The indexes (other than keys) and the references of the copied tables, as the server defines them."""

    indexes: list[tuple[str, str]]  # (name, CREATE INDEX …)
    references: list[tuple[str, str, str]]  # (table, constraint, its definition)


def set_aside(target: psycopg.Connection[Any], names: Sequence[str]) -> SetAside:
    """Drop the secondary indexes and the foreign keys of *names* until restore(): building an index once
    over the copied rows and checking each reference in one join costs a fraction of keeping them row by
    row (a GIN search index most of all). Primary keys and unique keys stay: they guard the copy."""
    tables = list(names)
    indexes = [(r[0], r[1]) for r in target.execute(
        "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
        " JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace"
        " WHERE n.nspname = current_schema() AND t.relname = ANY(%s)"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)"
        " ORDER BY c.relname", (tables,)).fetchall()]
    references = [(r[0], r[1], r[2]) for r in target.execute(
        "SELECT t.relname, k.conname, pg_get_constraintdef(k.oid) FROM pg_constraint k"
        " JOIN pg_class t ON t.oid = k.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace"
        " WHERE k.contype = 'f' AND n.nspname = current_schema() AND t.relname = ANY(%s)"
        " ORDER BY t.relname, k.conname", (tables,)).fetchall()]
    for table, name, _ in references:
        target.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(sql.Identifier(table), sql.Identifier(name)))
    for name, _ in indexes:
        target.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
    return SetAside(indexes, references)


def restore(target: psycopg.Connection[Any], aside: SetAside) -> None:
    """Build the indexes again and add the references back, each checked over every copied row."""
    for _, definition in aside.indexes:
        target.execute(sql.SQL(definition))  # the server's own text (pg_get_indexdef)
    for table, name, definition in aside.references:
        target.execute("SAVEPOINT reference")
        try:
            target.execute(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(sql.Identifier(table), sql.Identifier(name))
                           + sql.SQL(definition))
        except psycopg.errors.ForeignKeyViolation as exc:
            detail = exc.diag.message_detail or ""
            raise TransferProblem(
                f"{table} holds a reference the workspace lacks the row for ({name}: {detail.strip()}); "
                "nothing was written to the server. SQLite's foreign-key checks were off when it was "
                "written: run `agentconsole db check`, and remove or correct that row") from None
        target.execute("RELEASE SAVEPOINT reference")


def reset_sequences(target: psycopg.Connection[Any], keys: Sequence[tuple[str, str]]) -> None:
    """Each id sequence (of the tables' integer keys) continues after the largest id copied."""
    for table, key in keys:
        row = target.execute("SELECT pg_get_serial_sequence(%s, %s)",
                             (sql.Identifier(table).as_string(target), key)).fetchone()
        if row is None or row[0] is None:
            continue
        target.execute(sql.SQL("SELECT setval(%s, (SELECT coalesce(max({}), 0) + 1 FROM {}), false)").format(
            sql.Identifier(key), sql.Identifier(table)), (row[0],))
