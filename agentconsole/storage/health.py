"""The store's health: is the workspace sound, why writes stopped, and its backups (SQLite files only)."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from agentconsole.domain.clock import Clock
from agentconsole.storage import integrity as db  # DatabaseProblem, HINT, quick_check
from agentconsole.storage import soundness

if TYPE_CHECKING:
    from agentconsole.storage.postgres.server import Server

_PG_CORRUPTED = ("XX001", "XX002")  # PostgreSQL's data_corrupted, index_corrupted
LOW_PRIORITY = 19  # the nice value of a background check's thread: it runs on what the console leaves idle

T = TypeVar("T")


def at_low_priority(work: Callable[[], T]) -> T:
    """*work*'s result, computed in a thread of its own at the lowest CPU priority (Linux gives each thread
    its own nice value; elsewhere it runs at the normal one). SQLite's check and backup release the GIL
    but take a core for about a second at a million messages: at nice 19 a busy machine gives that core
    to the console's own threads first. Its own thread, because lowering a pooled thread's priority could
    not be undone for the next task it runs."""
    result: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), LOW_PRIORITY)
        except (AttributeError, OSError):  # no per-thread priority here: run at the normal one
            pass
        try:
            result.append(work())
        except BaseException as exc:  # handed to the caller's thread, where it is reported
            failure.append(exc)

    thread = threading.Thread(target=run, name="agentconsole-low-priority", daemon=True)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return result[0]


_EVENTS = threading.Lock()  # guards the lazy creation of a store's interrupt event


class Health:
    """Mixed into Store: the integrity check, the damaged state and backups, on either backend."""

    path: Path | str
    clock: Clock
    damaged: str
    _server: Server | None
    conn: Any
    _checking: sqlite3.Connection | None = None  # the connection a background check runs on, meanwhile
    # When the check this process relies on found the file sound (its own, or the one a matching seal
    # rests on); None until then. A clean close seals the file with it (soundness.py).
    sound_at: float | None = None
    sealed_at: float | None = None  # what a matching seal said when the store opened (None: no good seal)

    def _interrupt(self) -> threading.Event:
        with _EVENTS:
            event: threading.Event | None = self.__dict__.get("_interrupt_event")
            if event is None:
                event = self.__dict__["_interrupt_event"] = threading.Event()
        return event

    def check_in_background(self) -> bool | None:
        """The console's start-up check: SQLite's quick check, then the daily backup of a sound file.
        True when it found damage, False when sound; None when interrupt_check() stopped it (a key was
        pressed): nothing was marked or written, and it is run again later."""
        interrupt = self._interrupt()
        self._checking = self.conn if self._server is None else None
        try:
            if interrupt.is_set():
                return None
            if self.check_unless_sealed():
                return True
            self.backup_if_due(stop=interrupt.is_set)
            return False
        except db.CheckInterrupted:
            return None
        finally:
            self._checking = None
            interrupt.clear()  # a request met by this run (or one that came as it ended) is spent

    def interrupt_check(self) -> None:
        """Stop a running check_in_background at once (from any thread); one about to start stops too."""
        self._interrupt().set()
        conn = self._checking
        if conn is not None:
            try:
                conn.interrupt()  # SQLite stops the quick check within a few pages
            except sqlite3.Error:  # the check has just ended and its connection gone
                pass

    def _backup_before_migration(self, version: int) -> None:
        from agentconsole.storage import backup

        backup.make(self.conn, Path(self.path), self.clock.now(), f"before-migration-{version}")

    @property
    def where(self) -> str:
        """The workspace for messages: its file, or its server URL without a password."""
        return str(self.path) if self._server is None else self._server.where

    def schema_version(self) -> int:
        if self._server is not None:
            from agentconsole.storage.postgres import schema

            return schema.version(self.conn)
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def check(self, full: bool = False) -> list[str]:
        """SQLite's quick (or full) check; on a failure the store stops writing and says why. A server
        checks its own pages: there, the schema version and the tables are what is checked."""
        if self._server is not None:
            from agentconsole.storage.postgres import schema

            try:
                schema.check_schema(self.conn, self.where)
            except db.DatabaseProblem as exc:
                self.mark_damaged(str(exc))
                return [str(exc)]
            return []
        problems = db.quick_check(self.conn, full)
        if problems:
            self.mark_damaged(f"{self.path} failed SQLite's integrity check ({problems[0]}); "
                              + db.HINT.format(backups=Path(self.path).parent / "backups"))
        return problems

    @property
    def _in_a_file(self) -> bool:
        """SQLite on a file: the only workspace a seal (soundness.py) or a backup is for."""
        return self._server is None and str(self.path) != ":memory:"

    def check_unless_sealed(self) -> list[str]:
        """The start-up check (the console's and `sync --once`'s): skipped while the file is exactly as a
        clean close sealed it, less than a day after the check that seal rests on, and no daily backup is
        due (a backup is taken only right after a check); else check() itself."""
        if not self._in_a_file:
            return self.check()
        from agentconsole.storage import backup

        since, now = self.sealed_at, self.clock.now()
        if since is not None and 0 <= now - since < soundness.AGE_LIMIT and not backup.daily_due(Path(self.path), now):
            self.sound_at = since
            return []
        problems = self.check()
        if not problems:
            self.sound_at = now
        return problems

    def _seal_if_sound(self) -> None:
        """After the last connection closed: seal the file when a check found it sound (soundness.py)."""
        if self.sound_at is not None and not self.damaged and self._in_a_file:
            soundness.write(Path(self.path), self.sound_at)

    def mark_damaged(self, why: str) -> None:
        self.damaged = why
        self.sound_at = None
        if self._in_a_file:
            soundness.remove(Path(self.path))  # never trusted again without a check

    def notice(self, error: BaseException) -> bool:
        """Called with any failure of a store call: True when it shows the file is damaged (SQLite found
        it in the middle of a session), which then stops writes as a failed check would."""
        if not self.damaged and self._server is not None and getattr(error, "sqlstate", "") in _PG_CORRUPTED:
            self.mark_damaged(f"the server reports the workspace on {self.where} damaged ({error}); ask its "
                              "administrator to check it (pg_amcheck) and restore it from the server's backups")
            return True
        if self.damaged or not isinstance(error, sqlite3.DatabaseError) or "malformed" not in str(error):
            return False
        self.mark_damaged(f"{self.path} is damaged ({error}); see `agentconsole db check`")
        return True

    def backup(self, reason: str = "manual", stop: Callable[[], bool] | None = None) -> Path:
        """A backup now; with *stop*, copied in steps and abandoned (CheckInterrupted) once it says so."""
        if self._server is not None:
            raise db.DatabaseProblem(f"the workspace on {self.where} is backed up by the server's own tools"
                                     " (pg_dump), not by agentconsole")
        from agentconsole.storage import backup

        return backup.make(self.conn, Path(self.path), self.clock.now(), reason, stop=stop)

    def backup_if_due(self, stop: Callable[[], bool] | None = None) -> Path | None:
        """The daily automatic backup, only of a database that passed its check."""
        from agentconsole.storage import backup

        if self._server is not None:
            return None  # a server's backups are its administrator's (pg_dump, base backups)
        if self.damaged or not self._in_a_file or not backup.daily_due(Path(self.path), self.clock.now()):
            return None
        return self.backup("daily", stop)

