"""The start-up check is skipped only for a file exactly as a checked, cleanly closed process left it."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import pytest

from agentconsole import paths
from agentconsole.domain.clock import FrozenClock
from agentconsole.storage import backup, integrity, soundness
from agentconsole.storage.store import Store
from tests.core.test_fail_loudly import flip_bytes, make_workspace, run
from tests.screens.conftest import START

HOUR = 3600.0


@pytest.fixture
def checks(monkeypatch) -> list[bool]:
    """Each real quick (or full) check run, in order."""
    seen: list[bool] = []
    real = integrity.quick_check

    def counted(conn: sqlite3.Connection, full: bool = False) -> list[str]:
        seen.append(full)
        return real(conn, full)

    monkeypatch.setattr(integrity, "quick_check", counted)
    return seen


def opened(path: Path, clock: FrozenClock) -> Store:
    """A store that has run its start-up check (as the console does) and taken the daily backup."""
    store = Store(path, clock)
    assert store.check_in_background() is False
    return store


def sealed(tmp_path: Path) -> tuple[Path, FrozenClock]:
    """A workspace that one checked session closed cleanly (so it is sealed), and the clock it ran on."""
    path = tmp_path / "ws.db"
    make_workspace(path)
    clock = FrozenClock(START)
    opened(path, clock).close()
    return path, clock


def test_a_clean_close_after_a_check_spares_the_next_start_its_check(tmp_path, checks):
    path = tmp_path / "ws.db"
    make_workspace(path)
    clock = FrozenClock(START)
    store = opened(path, clock)
    store.ensure_agent("Bob")  # the session writes as it works; the seal is taken at the close
    store.close()
    assert len(checks) == 1 and soundness.seal_of(path).exists()
    assert soundness.seal_of(path).stat().st_mode & 0o777 == 0o600

    clock.advance(HOUR)
    store = opened(path, clock)
    assert len(checks) == 1 and store.sound_at == START  # the seal's check, not a new one: it ages
    store.ensure_agent("Ann")
    store.close()
    assert json.loads(soundness.seal_of(path).read_text())["checked_at"] == START

    clock.advance(soundness.AGE_LIMIT)  # a day after the check it rests on: checked again
    opened(path, clock).close()
    assert len(checks) == 2


def test_flipped_bytes_after_a_clean_close_are_found_at_the_next_start(tmp_path, checks):
    path = tmp_path / "ws.db"
    make_workspace(path)
    opened(path, FrozenClock(START)).close()
    flip_bytes(path)
    store = Store(path, FrozenClock(START + HOUR))
    assert store.check_in_background() is True
    assert "failed SQLite's integrity check" in store.damaged
    store.close()
    assert len(checks) == 2 and not soundness.seal_of(path).exists()  # a damaged file is never sealed


@pytest.mark.parametrize("change", ["another program writes", "a crash after writing", "a copy put in its place",
                                    "a restore", "cut short"])
def test_any_change_since_the_seal_brings_the_check_back(tmp_path, checks, change):
    path, clock = sealed(tmp_path)
    if change == "another program writes":
        conn = sqlite3.connect(path)
        conn.execute("UPDATE agents SET name = name")
        conn.commit()
        conn.close()
    elif change == "a crash after writing":
        store = opened(path, clock)  # trusted: no check, then it writes and never closes (kill -9)
        store.ensure_agent("Bob")
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    elif change == "a copy put in its place":
        copy = tmp_path / "copy.db"
        copy.write_bytes(path.read_bytes())
        copy.replace(path)
    elif change == "a restore":
        taken = backup.backups(path)[0]
        backup.restore(taken, path, clock.now() + 60, force=True)
    else:
        with path.open("r+b") as file:
            file.truncate(path.stat().st_size - 4096)
        with pytest.raises(integrity.DatabaseDamaged):  # SQLite sees it as it opens: no seal is read
            Store(path, clock)
        return
    clock.advance(HOUR)
    store = Store(path, clock)
    store.check_in_background()
    store.close()
    assert len(checks) == 2


def test_no_seal_while_a_connection_of_the_store_is_still_open_in_a_running_thread(tmp_path, checks):
    path = tmp_path / "ws.db"
    make_workspace(path)
    store = opened(path, FrozenClock(START))
    inside, leave = threading.Event(), threading.Event()

    def worker() -> None:
        store.conn.execute("SELECT 1")
        inside.set()
        leave.wait(5)

    thread = threading.Thread(target=worker)
    thread.start()
    inside.wait(5)
    store.close()  # that connection could still write after the close: the file is not sealed
    leave.set()
    thread.join()
    assert not soundness.seal_of(path).exists()


def test_damage_noticed_mid_session_removes_the_seal(tmp_path, checks):
    path, clock = sealed(tmp_path)
    store = opened(path, clock)
    assert store.notice(sqlite3.DatabaseError("database disk image is malformed"))
    assert not soundness.seal_of(path).exists()
    store.close()
    assert not soundness.seal_of(path).exists()


def test_the_check_runs_while_the_daily_backup_is_due(tmp_path, checks):
    path, clock = sealed(tmp_path)
    for taken in backup.backups(path):
        taken.unlink()  # a backup is only taken right after a check of its own
    store = opened(path, clock)
    store.close()
    assert len(checks) == 2 and len(backup.backups(path)) == 1


def test_a_seal_that_is_not_ours_is_ignored(tmp_path, checks):
    path = tmp_path / "ws.db"
    make_workspace(path)
    opened(path, FrozenClock(START)).close()
    soundness.seal_of(path).write_text("{not json")
    opened(path, FrozenClock(START + HOUR)).close()
    assert len(checks) == 2


def test_sync_once_from_cron_checks_once_and_backs_up_daily(capsys, checks):
    path = paths.database_path(False)
    path.parent.mkdir(parents=True)
    make_workspace(path)
    for _ in range(3):
        code, _out, err = run(capsys, "sync", "--once")
        assert "backup" not in err and "integrity" not in err  # (the seeded email account has no secret here)
    assert len(checks) == 1 and len(backup.backups(path)) == 1
    flip_bytes(path)
    code, out, err = run(capsys, "sync", "--once")
    assert code == 1 and "failed SQLite's integrity check" in err
    assert len(checks) == 2
