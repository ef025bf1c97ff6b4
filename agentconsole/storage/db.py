"""Opening the SQLite database: pragmas, file mode, and forward migrations by PRAGMA user_version."""

from __future__ import annotations

import functools
import logging
import os
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

# The open checks live in integrity.py; their names stay importable from here.
from agentconsole.storage import integrity
from agentconsole.storage.integrity import (
    HEADER as HEADER, HINT as HINT, DatabaseDamaged as DatabaseDamaged, DatabaseProblem as DatabaseProblem,
    as_problem as _as_problem, check_file as check_file, quick_check as quick_check,
    unopenable as _unopenable)
from agentconsole.storage.migrations import MIGRATIONS  # the schema steps; importable from here too

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000
WAL_AUTOCHECKPOINT_PAGES = 10_000

SCHEMA_VERSION = len(MIGRATIONS)

DEFAULT_CACHE_MB = 8.0  # [storage] cache_mb: a 3M-message workspace browses in ~86 MB RSS (150 MB budget)


class _Memory:
    """How much memory SQLite may keep for the whole process ([storage] cache_mb), set once at start-up."""

    cache_mb = DEFAULT_CACHE_MB


def set_cache_mb(mb: float) -> None:
    """Bound SQLite's memory for every connection opened from now on (the CLI applies [storage] cache_mb)."""
    if not mb > 0:
        raise ValueError(f"cache_mb must be more than 0, not {mb!r}")
    _Memory.cache_mb = float(mb)


def memory_pragmas() -> tuple[str, ...]:
    """The pragmas that bound a connection's memory by configuration, not by the size of the file.

    The page cache of one connection is at most cache_mb; the soft heap limit (process-wide in SQLite)
    makes every connection's cache together give pages back once all of SQLite holds cache_mb, so the
    number of thread connections does not multiply the budget; no memory-mapped I/O, whose mapped pages
    of a large file would count in the RSS."""
    kib = max(64, round(_Memory.cache_mb * 1024))
    return (f"PRAGMA cache_size = -{kib}", f"PRAGMA soft_heap_limit = {kib * 1024}", "PRAGMA mmap_size = 0")


def connect(path: Path | str) -> sqlite3.Connection:
    """Open *path* with our pragmas, creating it with mode 0600 first when it does not exist."""
    if str(path) != ":memory:":
        path = Path(path)
        from agentconsole.paths import private_dir

        private_dir(path.parent)
        if not path.exists():
            fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                           check_same_thread=False)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        for pragma in memory_pragmas():
            conn.execute(pragma).fetchall()
        # Checkpoint every ~40 MB of WAL instead of SQLite's 4 MB: an ingest batch dirties hundreds of
        # pages (conversation rows and their indexes), mostly the same ones batch after batch, so fewer
        # checkpoints copy each hot page back to the database fewer times (-40% commit time on ingest).
        conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")
    except sqlite3.OperationalError as exc:
        conn.close()
        text = str(exc)
        if isinstance(path, Path) and ("unable to open" in text or "readonly" in text):
            raise _unopenable(exc, path) from exc
        raise
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise _as_problem(exc, path) from exc
    return conn


def _tables_expected() -> set[str]:
    return set(_tables_created())


@functools.cache  # the steps are constants: scanned once per process, not at every open
def _tables_created() -> frozenset[str]:
    created: set[str] = set()
    for script in MIGRATIONS:
        for kind, name in re.findall(r"(CREATE|DROP)\s+(?:VIRTUAL\s+)?TABLE\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?"
                                     r"(\w+)", script, re.IGNORECASE):
            (created.add if kind.upper() == "CREATE" else created.discard)(name)
    return frozenset(created)


def check_schema(conn: sqlite3.Connection, path: Path | str) -> int:
    """The schema version, after checking it is one we understand and that our tables are all there."""
    return integrity.check_schema(conn, path, SCHEMA_VERSION, _tables_expected())


def migrate(conn: sqlite3.Connection, before: Callable[[int], None] | None = None) -> int:
    """Bring the schema forward to SCHEMA_VERSION; returns the version found before.

    *before* is called with the version found, ahead of the first step (the store backs the file up).
    """
    path = _main_file(conn)
    found = check_schema(conn, path)
    if found == SCHEMA_VERSION:
        _protect_wal_files(conn)
        return found
    if before is not None and found > 0:
        before(found)
    import sqlite_utils  # only when there is a migration to run: it costs ~100 ms of start-up

    db = sqlite_utils.Database(conn)
    for version in range(found, SCHEMA_VERSION):
        log.info("migrating database schema %d -> %d", version, version + 1)
        conn.execute("BEGIN IMMEDIATE")
        try:
            # user_version is re-read inside the write lock so two processes never both migrate.
            if conn.execute("PRAGMA user_version").fetchone()[0] != version:
                conn.execute("ROLLBACK")
                continue
            for statement in _split(MIGRATIONS[version]):
                db.execute(statement)
            conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    _protect_wal_files(conn)
    return found


def _main_file(conn: sqlite3.Connection) -> str:
    row = conn.execute("PRAGMA database_list").fetchone()
    return (row[2] if row else "") or ":memory:"


def _split(script: str) -> list[str]:
    return [s.strip() for s in script.split(";\n") if s.strip()]


def _protect_wal_files(conn: sqlite3.Connection) -> None:
    """The -wal and -shm files hold the same data as the database: keep them 0600 too."""
    row = conn.execute("PRAGMA database_list").fetchone()
    main = row[2] if row else ""
    for suffix in ("", "-wal", "-shm"):
        candidate = Path(main + suffix) if main else None
        if candidate is not None and candidate.exists():
            try:
                if candidate.stat().st_mode & 0o777 != 0o600:  # not every time: a chmod moves the file's ctime,
                    candidate.chmod(0o600)  # which its seal (soundness.py) reads
            except OSError:  # another user's file on a shared host: leave it to its owner
                log.warning("could not set mode 0600 on %s", candidate)
