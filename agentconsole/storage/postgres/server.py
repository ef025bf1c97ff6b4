"""The connections of one Store to a PostgreSQL server: a psycopg pool that lends each thread one."""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from agentconsole.storage.integrity import DatabaseProblem
from agentconsole.storage.postgres import schema
from agentconsole.storage.postgres.adapter import Connection
from agentconsole.storage.postgres.url import without_password

log = logging.getLogger(__name__)

# Threads that hold a connection at once: the console's workers, its engine and its sync threads. A thread
# past this waits up to TIMEOUT_S for one to come back (the store returns those of threads that ended).
MAX_CONNECTIONS = 24
TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 10


class Server:
    """One workspace database on a PostgreSQL server, migrated on first open."""

    def __init__(self, url: str, password: str | None = None) -> None:
        self.url = url
        self.where = without_password(url)
        self._kwargs: dict[str, Any] = {"autocommit": True, "connect_timeout": CONNECT_TIMEOUT_S,
                                        "application_name": "agentconsole"}
        if password is not None:
            self._kwargs["password"] = password
        first = self._connect()  # the real reason (refused, wrong password, no such database) if it fails
        try:
            self.found_version = schema.migrate(first, self.where)
        finally:
            first.close()
        self.pool: ConnectionPool[Any] = ConnectionPool(
            url, kwargs=self._kwargs, min_size=1, max_size=MAX_CONNECTIONS, timeout=TIMEOUT_S,
            reset=_reset, open=True, name=f"agentconsole {self.where}")

    def _connect(self) -> Connection:
        try:
            return Connection(psycopg.connect(self.url, **self._kwargs))
        except psycopg.OperationalError as exc:
            raise DatabaseProblem(f"cannot open the workspace on {self.where}: {str(exc).strip()}") from exc

    def connect(self) -> Connection:
        """A connection for the calling thread; close() gives it back to the pool."""
        return Connection(self.pool.getconn(), release=self.pool.putconn)

    def close(self) -> None:
        self.pool.close()


def _reset(raw: psycopg.Connection[Any]) -> None:
    """A connection going back to the pool forgets its session settings (a read-only workspace's)."""
    raw.execute("RESET ALL")
