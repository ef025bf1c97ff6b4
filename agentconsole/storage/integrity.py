"""Is this file our database, in one piece? Cheap checks at open, SQLite's own check on demand."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

HEADER = b"SQLite format 3\x00"
HINT = ("check it with `agentconsole db check`, or restore a backup with `agentconsole db restore FILE` "
        "(backups are in {backups})")


class DatabaseProblem(RuntimeError):
    """The database file cannot be used as it is; the message says what was found and what to do."""


class DatabaseDamaged(DatabaseProblem):
    """The file is an SQLite database but its content is damaged: nothing more is written to it."""


class CheckInterrupted(Exception):
    """A background check or backup was stopped before it finished: nothing is known yet, run it again."""


def backups_of(path: Path) -> Path:
    return path.parent / "backups"


def check_file(path: Path) -> None:
    """Refuse, before SQLite sees it, anything at *path* that is not an SQLite database (cheap: one read).

    A missing file is fine (a new workspace); an empty one is not: SQLite would silently treat it as new.
    """
    hint = HINT.format(backups=backups_of(path))
    if path.is_dir():
        raise DatabaseProblem(f"{path} is a folder, not a database file; move it away, or {hint}")
    if not path.exists():
        return
    with path.open("rb") as file:
        head = file.read(100)
    if not head:
        raise DatabaseProblem(f"{path} is empty (0 bytes), not the workspace database; agentconsole "
                              f"will not start over in its place: {hint}")
    if not head.startswith(HEADER):
        raise DatabaseProblem(f"{path} is not an SQLite database (its first bytes are "
                              f"{head[:16]!r}); {hint}")
    if len(head) < 100:
        raise DatabaseDamaged(f"{path} is cut short ({len(head)} bytes); {hint}")


def unopenable(exc: sqlite3.OperationalError, path: Path) -> Exception:
    """SQLite says only "unable to open" or "readonly": find out why, and name the file."""
    folder = path.parent
    try:
        read_only_fs = bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        read_only_fs = False
    if read_only_fs:
        return DatabaseProblem(f"{path} is on a read-only file system; agentconsole needs to write it (and "
                               f"its -wal and -shm files beside it): set AGENTCONSOLE_DATA_DIR to a writable "
                               "folder")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.R_OK | os.W_OK)):
        return DatabaseProblem(f"{path} cannot be opened for writing ({exc}); make it and its folder "
                               "readable and writable by you")
    return exc


def as_problem(exc: sqlite3.DatabaseError, path: Path | str) -> Exception:
    """SQLite's own words for a damaged file, turned into what happened and what to do."""
    text = str(exc)
    hint = HINT.format(backups=backups_of(Path(path)))
    if "malformed" in text or "not a database" in text or "corrupt" in text:
        return DatabaseDamaged(f"{path} is damaged ({text}); {hint}")
    return exc


def check_schema(conn: sqlite3.Connection, path: Path | str, understood: int, tables_expected: set[str]) -> int:
    """The schema version, after checking it is one we understand and that our tables are all there."""
    hint = HINT.format(backups=backups_of(Path(path)))
    try:
        found: int = conn.execute("PRAGMA user_version").fetchone()[0]
        tables: set[str] = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise as_problem(exc, path) from exc
    if found > understood:
        raise DatabaseProblem(
            f"{path} was written by a newer agentconsole (schema {found}; this one understands up to "
            f"{understood}); upgrade agentconsole, or {hint}")
    if found == 0 and tables:
        raise DatabaseProblem(f"{path} is an SQLite database but not agentconsole's (it holds "
                              f"{', '.join(sorted(tables)[:5])}); point AGENTCONSOLE_DATA_DIR elsewhere, or {hint}")
    if found == understood:
        missing = tables_expected - tables
        if missing:
            raise DatabaseDamaged(f"{path} lacks the tables {', '.join(sorted(missing))}; {hint}")
    return found


def quick_check(conn: sqlite3.Connection, full: bool = False) -> list[str]:
    """SQLite's own consistency check; an empty list means the file is sound."""
    pragma = "integrity_check" if full else "quick_check"
    try:
        rows = [str(r[0]) for r in conn.execute(f"PRAGMA {pragma}(20)")]
    except sqlite3.OperationalError as exc:
        if str(exc) == "interrupted":  # Connection.interrupt(): stopped, not a finding
            raise CheckInterrupted(pragma) from exc
        return [str(exc)]
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    if rows == ["ok"]:
        return []
    lines = [line.strip() for row in rows for line in row.splitlines()]
    return [line for line in lines if line and not line.startswith("***")] or ["unknown problem"]
