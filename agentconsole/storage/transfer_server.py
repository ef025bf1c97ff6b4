"""The server side of migrate-to: reaching the PostgreSQL database, its schema, and its search index."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from agentconsole.storage.integrity import DatabaseProblem

# Source tables the server derives itself instead of copying them, and why.
REBUILT_ON_SERVER: dict[str, str] = {}


def display_url(url: str) -> str:
    """*url* as it may be printed: never its password."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "the given server URL"
    user = f"{parts['user']}@" if parts.get("user") else ""
    port = f":{parts['port']}" if parts.get("port") else ""
    return f"postgresql://{user}{parts.get('host', '')}{port}/{parts.get('dbname', '')}"


def connect_for_transfer(url: str) -> psycopg.Connection[Any]:
    """A connection to the server database with its schema brought up to this version."""
    try:
        conn = psycopg.connect(url, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise DatabaseProblem(f"cannot reach {display_url(url)}: {' '.join(str(exc).split())}; check the "
                              "URL, that the server runs, and the password (keyring, PGPASSWORD or ~/.pgpass)"
                              ) from None
    return conn


def after_transfer(conn: psycopg.Connection[Any]) -> None:
    """Build the server's search index over the copied rows (inside the copy's transaction)."""
