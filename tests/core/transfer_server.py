"""A fresh database on the test PostgreSQL server (.ci/services/postgres.sh) for the migrate-to tests."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

HOST = os.environ.get("AGENTCONSOLE_TEST_PG_HOST", "127.0.0.1")
PORT = os.environ.get("AGENTCONSOLE_TEST_PG_PORT", "55432")
USER, PASSWORD = "agentconsole", "agentconsole-test"


@contextmanager
def server_database() -> Iterator[tuple[str, object]]:
    """(URL without the password, a connection) for a new empty database, dropped afterwards; the
    password reaches libpq through PGPASSWORD, as a person's would."""
    psycopg = pytest.importorskip("psycopg")
    admin_url = f"postgresql://{USER}:{PASSWORD}@{HOST}:{PORT}/postgres"
    try:
        admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        if os.environ.get("AGENTCONSOLE_TEST_SERVERS") == "1":
            raise
        pytest.skip(f"no PostgreSQL test server at {HOST}:{PORT}: {exc}")
    name = f"pgmove_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    old = os.environ.get("PGPASSWORD")
    os.environ["PGPASSWORD"] = PASSWORD
    url = f"postgresql://{USER}@{HOST}:{PORT}/{name}"
    conn = psycopg.connect(url)
    try:
        yield url, conn
    finally:
        conn.close()
        if old is None:
            os.environ.pop("PGPASSWORD", None)
        else:
            os.environ["PGPASSWORD"] = old
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
