"""Where an account's own rows are found and removed: the interface account removal uses, and its SQL
implementation (the schema's foreign keys read from SQLite's catalogue or PostgreSQL's information_schema)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from agentconsole.storage import search
from agentconsole.storage.store import Store

__all__ = ["AccountStorage", "References", "SqlAccountStorage"]

CHUNK = 500  # ids bound per statement: well under SQLite's and PostgreSQL's parameter limits

# referenced table -> [(referencing table, column, NOT NULL)]
References = dict[str, list[tuple[str, str, bool]]]


class AccountStorage(Protocol):
    """The accounts of one workspace, as far as removing one goes."""

    def transaction(self) -> AbstractContextManager[object]: ...

    def conversation_count(self, account_id: int) -> int: ...

    def remove(self, account_id: int) -> None:
        """Delete the account and every row that cannot exist without it (its conversations, their
        messages and search entries, notes, events, outbox items, ...); references to those rows from
        rows that stay (audit, links between conversations, contacts) are cleared."""
        ...


class SqlAccountStorage:
    """AccountStorage over the store's connection; the deletes follow the schema's own foreign keys,
    so a table added later is covered without being named here."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def transaction(self) -> AbstractContextManager[object]:
        return self.store.transaction()

    def conversation_count(self, account_id: int) -> int:
        row = self.store.conn.execute("SELECT count(*) FROM conversations WHERE account_id = ?",
                                      (account_id,)).fetchone()
        return int(row[0])

    def remove(self, account_id: int) -> None:
        with self.store.transaction() as conn:
            references, with_id = _schema(conn)
            doomed = _doomed(conn, references, with_id, account_id)
            for parent, ids in doomed.items():
                for child, column, required in references.get(parent, []):
                    if not required:
                        for part in _chunks(ids):
                            conn.execute(f'UPDATE "{child}" SET "{column}" = NULL WHERE "{column}" IN ({_marks(part)})',
                                         part)
                    elif child not in with_id:  # keyed by the reference itself: never referenced in turn
                        for part in _chunks(ids):
                            conn.execute(f'DELETE FROM "{child}" WHERE "{column}" IN ({_marks(part)})', part)
            search.forget(conn, doomed.get("messages", ()))
            # Children before parents, so no foreign key is broken at any point (no deferred checks needed).
            for table in _children_first(doomed, references):
                for part in _chunks(doomed[table]):
                    conn.execute(f'DELETE FROM "{table}" WHERE id IN ({_marks(part)})', part)


def _doomed(conn: Any, references: References, with_id: set[str], account_id: int) -> dict[str, set[int]]:
    """The ids, per table, of the rows whose NOT NULL reference leads to the account, until nothing is added."""
    doomed: dict[str, set[int]] = defaultdict(set)
    doomed["accounts"].add(account_id)
    frontier: dict[str, set[int]] = {"accounts": {account_id}}
    while frontier:
        found: dict[str, set[int]] = defaultdict(set)
        for parent, ids in frontier.items():
            for child, column, required in references.get(parent, []):
                if not required or child not in with_id:
                    continue
                for part in _chunks(ids):
                    rows = conn.execute(f'SELECT id FROM "{child}" WHERE "{column}" IN ({_marks(part)})',
                                        part).fetchall()
                    found[child].update(r[0] for r in rows if r[0] not in doomed[child])
        frontier = {table: ids for table, ids in found.items() if ids}
        for table, ids in frontier.items():
            doomed[table] |= ids
    return {table: ids for table, ids in doomed.items() if ids}


def _children_first(doomed: dict[str, set[int]], references: References) -> list[str]:
    """The doomed tables, each after every doomed table that references it with a NOT NULL column."""
    order: list[str] = []
    placed: set[str] = set()

    def place(table: str, path: frozenset[str]) -> None:
        if table in placed or table in path:  # a cycle of NOT NULL references cannot be inserted either
            return
        for child, _column, required in references.get(table, []):
            if required and child in doomed and child != table:
                place(child, path | {table})
        placed.add(table)
        order.append(table)

    for table in sorted(doomed):
        place(table, frozenset())
    return order


def _schema(conn: Any) -> tuple[References, set[str]]:
    """Every foreign key of the schema, and the tables that have an id column."""
    if getattr(conn, "dialect", "sqlite") == "postgresql":
        return _schema_postgresql(conn)
    return _schema_sqlite(conn)


def _schema_sqlite(conn: Any) -> tuple[References, set[str]]:
    # SQLite's catalogue is only readable through its table-valued pragma functions.
    found: References = defaultdict(list)
    with_id: set[str] = set()
    tables = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%'").fetchall()]
    for table in tables:
        columns = conn.execute("SELECT name, \"notnull\", pk FROM pragma_table_info(?)", (table,)).fetchall()
        required = {c[0]: bool(c[1]) or bool(c[2]) for c in columns}
        if "id" in required:
            with_id.add(table)
        for fk in conn.execute('SELECT "table", "from" FROM pragma_foreign_key_list(?)', (table,)).fetchall():
            found[fk[0]].append((table, fk[1], required.get(fk[1], False)))
    return dict(found), with_id


def _schema_postgresql(conn: Any) -> tuple[References, set[str]]:
    found: References = defaultdict(list)
    rows = conn.execute(
        "SELECT ccu.table_name, kcu.table_name, kcu.column_name, c.is_nullable"
        " FROM information_schema.table_constraints tc"
        " JOIN information_schema.key_column_usage kcu"
        "  ON kcu.constraint_name = tc.constraint_name AND kcu.table_schema = tc.table_schema"
        " JOIN information_schema.constraint_column_usage ccu"
        "  ON ccu.constraint_name = tc.constraint_name AND ccu.table_schema = tc.table_schema"
        " JOIN information_schema.columns c ON c.table_schema = kcu.table_schema"
        "  AND c.table_name = kcu.table_name AND c.column_name = kcu.column_name"
        " WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema = current_schema()"
        " ORDER BY kcu.table_name, kcu.column_name").fetchall()
    for parent, child, column, nullable in rows:
        found[parent].append((child, column, nullable == "NO"))
    with_id = {r[0] for r in conn.execute(
        "SELECT table_name FROM information_schema.columns WHERE table_schema = current_schema()"
        " AND column_name = 'id'").fetchall()}
    return dict(found), with_id


def _chunks(ids: Iterable[int]) -> Iterator[list[int]]:
    ordered = sorted(ids)
    for i in range(0, len(ordered), CHUNK):
        yield ordered[i:i + CHUNK]


def _marks(part: Sequence[int]) -> str:
    return ",".join("?" * len(part))
