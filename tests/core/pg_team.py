"""The team tests' PostgreSQL: a fresh database of their own on the shared test server (dropped after),
and a TCP proxy in front of it that a test stops and starts to take the server away safely."""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

HOST, PORT = "127.0.0.1", 55432
ROLE, PASSWORD = "agentconsole", "agentconsole-test"
PREFIX = "pgteam"


def _admin():  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(host=HOST, port=PORT, user=ROLE, password=PASSWORD, dbname="postgres",
                           autocommit=True, connect_timeout=3)


def require_server() -> None:
    """Skip without the test server (fail instead when AGENTCONSOLE_TEST_SERVERS=1)."""
    try:
        _admin().close()
    except Exception as exc:
        if os.environ.get("AGENTCONSOLE_TEST_SERVERS") == "1":
            pytest.fail(f"PostgreSQL test server not reachable on {HOST}:{PORT}: {exc}")
        pytest.skip(f"no PostgreSQL test server on {HOST}:{PORT} (.ci/services/postgres.sh)")



def url(name: str, port: int = PORT) -> str:
    """The workspace URL; the password comes from PGPASSWORD, as on a host without a keyring."""
    return f"postgresql://{ROLE}@{HOST}:{port}/{name}"


@contextmanager
def database() -> Iterator[str]:
    """A new empty database named pgteam_<random>; its name, dropped (with every connection) after."""
    require_server()
    os.environ.setdefault("PGPASSWORD", PASSWORD)
    name = f"{PREFIX}_{uuid.uuid4().hex[:12]}"
    with _admin() as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield name
    finally:
        with _admin() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def terminate(name: str, application_name: str | None = None) -> int:
    """pg_terminate_backend on the connections to database *name* (only ours: the test's database)."""
    assert name.startswith(PREFIX + "_")
    sql = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s AND pid != pg_backend_pid()"
    params: list[str] = [name]
    if application_name is not None:
        sql += " AND application_name = %s"
        params.append(application_name)
    with _admin() as conn:
        row = conn.execute(sql, params).fetchone()
    return int(row[0]) if row else 0


class Proxy:
    """127.0.0.1:<port> forwarded to the server; stop() closes every connection through it and stops
    listening (the server is away), start() listens on the same port again."""

    def __init__(self) -> None:
        self._listener: socket.socket | None = None
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        probe = socket.socket()
        probe.bind((HOST, 0))
        self.port = probe.getsockname()[1]
        probe.close()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((HOST, self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection((HOST, PORT), timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self._lock:
                self._pairs.append((client, server))
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=_pump, args=(a, b), daemon=True).start()

    def stop(self) -> None:
        if self._listener is not None:
            try:  # wakes the accept() of the other thread, which close() alone does not
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._listener.close()
            self._listener = None
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for s in pair:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
