"""The PostgreSQL backend: a connection that speaks the small sqlite3 surface storage uses, its schema, its URL."""

from __future__ import annotations

SCHEMES = ("postgresql://", "postgres://")


def is_url(location: object) -> bool:
    """Whether *location* (a path or a URL) names a PostgreSQL database rather than an SQLite file."""
    return isinstance(location, str) and location.startswith(SCHEMES)


def on_postgres(conn: object) -> bool:
    """Whether *conn* (what Store.conn gave) is a PostgreSQL connection (cheap: no import of psycopg)."""
    return getattr(conn, "dialect", "sqlite") == "postgresql"
