"""Whether a workspace file can skip its start-up check: it is byte for byte as an agentconsole process left it
at a clean close, and that process had found it sound (or trusted it so) less than a day before.

SQLite's quick check reads every page: ~3 s of CPU and the whole file (1.1 GB) at 300k conversations, at
every start of the console and every `sync --once` from cron. Damage comes from outside a clean run: a disk
or file system fault, another program writing the file, a file cut short or copied while written. So a
process that closes the file cleanly after a check passed writes a seal beside it: the file's and its
WAL's size, change time and inode, and when the check ran. The next start skips the check while that
seal matches and the check is less than a day old; any write since (ours included), a crash before the
seal, a restore or a copy changes the fingerprint, and the check runs as before. Damage that leaves the
file's times alone (bit rot) is found by the check within the day, or by SQLite when it reads the page."""

from __future__ import annotations

import json
import os
from pathlib import Path

AGE_LIMIT = 86_400.0  # seconds: a seal older than this is not trusted; the check runs at least daily
SUFFIX = ".sound"


def seal_of(database: Path) -> Path:
    return database.with_name(database.name + SUFFIX)


def fingerprint(database: Path) -> list[int]:
    """The file's and its WAL's size, modification and change times (ns) and inode (-1s for a missing one)."""
    out: list[int] = []
    for path in (database, database.with_name(database.name + "-wal")):
        try:
            st = os.stat(path)
        except FileNotFoundError:
            out.extend((-1, -1, -1, -1))
            continue
        out.extend((st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino))
    return out


def trusted_since(database: Path) -> float | None:
    """When the check that the seal rests on ran, if the file is still exactly as sealed; else None (the
    check must run). How old that check may be is the caller's rule (AGE_LIMIT)."""
    try:
        seal = json.loads(seal_of(database).read_text())
        checked_at = float(seal["checked_at"])
        sealed = [int(x) for x in seal["fingerprint"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None  # no seal, or not one we wrote: check
    return checked_at if sealed == fingerprint(database) else None


def write(database: Path, checked_at: float) -> None:
    """Seal the file as it is now (call once every connection to it is closed): sound at *checked_at*."""
    target = seal_of(database)
    partial = target.with_name(target.name + ".partial")
    text = json.dumps({"checked_at": checked_at, "fingerprint": fingerprint(database)})
    try:
        fd = os.open(partial, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(text)
        os.replace(partial, target)
    except OSError:  # a full disk or a read-only folder: no seal, so the next start checks
        remove(database)


def remove(database: Path) -> None:
    """No seal: the next start checks the file (it was found damaged, or replaced)."""
    seal = seal_of(database)
    for path in (seal, seal.with_name(seal.name + ".partial")):
        try:
            path.unlink(missing_ok=True)
        except OSError:  # a read-only folder: it cannot have been sealed since either
            pass
