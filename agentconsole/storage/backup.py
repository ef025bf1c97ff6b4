"""Consistent copies of the database (SQLite's online backup API): daily, before migrations, on demand."""

from __future__ import annotations

import calendar
import logging
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from agentconsole.storage import db
from agentconsole.storage.integrity import CheckInterrupted

log = logging.getLogger(__name__)

KEEP = 7
DAY = 86_400.0
STAMP = len("20261201-093000")


def backup_dir_for(database: Path) -> Path:
    return database.parent / "backups"


STEP_PAGES = 1024  # pages copied between two looks at a backup's stop (4 MiB at SQLite's default page)


def copy_to(conn: sqlite3.Connection, target: Path, stop: Callable[[], bool] | None = None) -> Path:
    """Write a consistent copy of *conn*'s database to the new file *target*, mode 0600; with *stop*, in
    steps, abandoned (the file removed, CheckInterrupted raised) as soon as *stop()* says so."""
    from agentconsole.paths import private_dir

    private_dir(target.parent)
    fd = os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)
    try:
        dest = sqlite3.connect(str(target))
        try:
            if stop is None:
                conn.backup(dest)  # pages are copied under a read snapshot: writers may go on meanwhile
            else:
                def progress(_status: int, _remaining: int, _total: int) -> None:
                    if stop():
                        raise CheckInterrupted("backup")

                conn.backup(dest, pages=STEP_PAGES, progress=progress)
            dest.execute("PRAGMA journal_mode = DELETE")  # a backup is one self-contained file
        finally:
            dest.close()
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target


def _prefix(database: Path) -> str:
    return f"{database.stem}-"  # agentconsole-... and demo-...: the demo's never push the real ones out


def backups(database: Path) -> list[Path]:
    """The backups of *database*, oldest first (their names carry a UTC timestamp)."""
    folder, prefix = backup_dir_for(database), _prefix(database)
    if not folder.is_dir():
        return []
    found = [p for p in folder.glob(f"{prefix}*.db") if p.is_file() and taken_at(p, prefix) is not None]
    return sorted(found, key=lambda p: (p.name[:len(prefix) + STAMP], p.stat().st_mtime_ns))


def make(conn: sqlite3.Connection, database: Path, now: float, reason: str,
         stop: Callable[[], bool] | None = None) -> Path:
    """A new backup of *database* named for *now* and *reason*; only the newest KEEP are kept."""
    folder = backup_dir_for(database)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now))
    prefix = _prefix(database)
    target = folder / f"{prefix}{stamp}-{reason}.db"
    counter = 1
    while target.exists():
        counter += 1
        target = folder / f"{prefix}{stamp}-{reason}-{counter}.db"
    copy_to(conn, target, stop)
    for old in backups(database)[:-KEEP]:
        old.unlink(missing_ok=True)
    log.info("database backed up to %s (%s)", target, reason)
    return target


def taken_at(backup: Path, prefix: str) -> float | None:
    """When *backup* was made, from the UTC timestamp in its name (the injected clock's time)."""
    try:
        return calendar.timegm(time.strptime(backup.name[len(prefix):len(prefix) + STAMP], "%Y%m%d-%H%M%S"))
    except ValueError:
        return None


def daily_due(database: Path, now: float) -> bool:
    """True when no backup of *database* is younger than a day."""
    times = [taken_at(p, _prefix(database)) or 0.0 for p in backups(database)]
    return not times or now - max(times) >= DAY


def verify(path: Path) -> int:
    """Check that *path* is a sound agentconsole database this version can open; returns its schema."""
    db.check_file(path)
    if not path.exists():
        raise db.DatabaseProblem(f"{path} does not exist")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        version = db.check_schema(conn, path)
        problems = db.quick_check(conn, full=True)
    finally:
        conn.close()
    if problems:
        raise db.DatabaseDamaged(f"{path} fails SQLite's integrity check ({problems[0]}); "
                                 + db.HINT.format(backups=backup_dir_for(path)))
    return version


class InUse(db.DatabaseProblem):
    """A console is still running on the database a restore would replace."""


def consoles_using(database: Path, now: float) -> list[str]:
    """The consoles whose presence in *database* is live ("Alice Ng (pid 4242)"); a console of this host
    whose process is gone does not count. Empty when the file cannot be read."""
    from agentconsole.team.console import alive, describe

    try:
        conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=2.0)
    except sqlite3.Error:
        return []
    try:
        rows = conn.execute("SELECT p.console, COALESCE(a.name, '') FROM presence p"
                            " LEFT JOIN agents a ON a.id = p.agent_id WHERE p.expires_at > ?", (now,)).fetchall()
    except sqlite3.Error:  # no presence table yet, or not a database: nobody we can see
        return []
    finally:
        conn.close()
    return [f"{name} ({describe(console)})" if name else describe(console) for console, name in rows
            if alive(console)]


def restore(source: Path, database: Path, now: float, *, force: bool = False) -> Path | None:
    """Replace *database* with the backup *source*; what was there is kept first (as a backup when it is
    sound, else renamed aside). Returns where the old content went. Refused (InUse) while a console runs
    on *database*, unless *force*: its next write would land on top of the restored content."""
    verify(source)
    running = [] if force or not database.exists() else consoles_using(database, now)
    if running:
        raise InUse(f"{len(running)} console(s) still use {database}: {', '.join(running)}; quit them first "
                    "(or pass --force to restore anyway)")
    kept: Path | None = None
    if database.exists():
        try:
            db.check_file(database)
            current = db.connect(database)
            try:
                if db.quick_check(current):
                    raise db.DatabaseDamaged("damaged")
                kept = make(current, database, now, "before-restore")
            finally:
                current.close()
        except (db.DatabaseProblem, sqlite3.DatabaseError):
            stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now))
            kept = database.with_name(f"{database.name}.damaged-{stamp}")
            database.rename(kept)
            for suffix in ("-wal", "-shm"):
                side = database.with_name(database.name + suffix)
                if side.exists():
                    side.rename(kept.with_name(kept.name + suffix))
    from agentconsole.storage import soundness

    soundness.remove(database)  # the restored file is checked at the next start, whatever its times say
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dest = db.connect(database)
        try:
            src.backup(dest)  # through SQLite's locks: a running console sees the restored content
        finally:
            dest.close()
    finally:
        src.close()
    return kept
