"""The server side of migrate-to: reaching the PostgreSQL database, migrating it, and where its schema
differs from the SQLite file's (its search index, the answers index's questions)."""

from __future__ import annotations

from typing import Any

import psycopg

from agentconsole.storage.integrity import DatabaseProblem
from agentconsole.storage.postgres import schema
from agentconsole.storage.postgres.adapter import Connection
from agentconsole.storage.postgres.url import refuse_password, without_password
from agentconsole.storage.search import document
from agentconsole.storage.transfer import Derived, ServerSide
from agentconsole.storage.transfer_rows import TransferProblem

CONNECT_TIMEOUT_S = 10


def _check_search(conn: psycopg.Connection[Any]) -> None:
    """Every copied message is in the search index, and the planner knows the new tables' sizes."""
    row = conn.execute("SELECT count(*) FROM messages WHERE search IS NULL").fetchone()
    if row is None or row[0]:
        raise TransferProblem(f"{row[0] if row else '?'} copied messages have no search words on the server; "
                              "nothing was kept")
    conn.execute("ANALYZE")


SIDE = ServerSide(
    # The server answers a prefix from its GIN index's own word tree: FTS5's word list has no place there.
    rebuilt={"search_terms": "the server finds prefixes in its own search index"},
    # FTS5 keeps each question of the answers index in knowledge_fts; the server keeps it beside its pair.
    moved={"knowledge_pairs": {
        "question": "coalesce((SELECT f.question FROM knowledge_fts f WHERE f.rowid = t.id), '')"}},
    # A message's search words, as ingest writes them on the server (storage/search.py's document()).
    derived={"messages": Derived("search", "to_tsvector('simple', {})", ("text", "subject", "author_name"),
                                 document)},
    after_copy=_check_search,
)


def display_url(url: str) -> str:
    return without_password(url)


def connect_for_transfer(url: str, password: str | None = None) -> psycopg.Connection[Any]:
    """A connection (outside any transaction) to the server database, its schema brought up to this
    version first, as a console's first open would (under the migration lock). *password*: the
    keyring's, else libpq finds one (PGPASSWORD, ~/.pgpass)."""
    refuse_password(url)
    where = without_password(url)
    kwargs: dict[str, Any] = {"connect_timeout": CONNECT_TIMEOUT_S, "application_name": "agentconsole migrate-to"}
    if password is not None:
        kwargs["password"] = password
    try:
        first = Connection(psycopg.connect(url, autocommit=True, **kwargs))
        try:
            schema.migrate(first, where)
        finally:
            first.close()
        return psycopg.connect(url, **kwargs)
    except psycopg.OperationalError as exc:
        raise DatabaseProblem(f"cannot reach {where}: {' '.join(str(exc).split())}; check the URL, that the "
                              "server runs, and the password (`agentconsole db set-password`, PGPASSWORD or ~/.pgpass)") from None
