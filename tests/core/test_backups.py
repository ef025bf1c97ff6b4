"""Backups: consistent, private, seven kept, before migrations and restores; a round trip loses nothing."""

from __future__ import annotations

import shutil
import sqlite3
import stat
from pathlib import Path

from agentconsole.domain.clock import FrozenClock
from agentconsole.storage import backup, db
from agentconsole.storage.store import Store
from tests.core.test_fail_loudly import START, flip_bytes, make_workspace, real_db, run


def dump(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def test_backup_and_restore_round_trip_loses_nothing(capsys, tmp_path):
    path = real_db()
    path.parent.mkdir(parents=True)
    make_workspace(path)
    saved = dump(path)
    code, out, _ = run(capsys, "db", "backup")
    assert code == 0
    [copy] = backup.backups(path)
    assert out == f"backed up {path} to {copy}\n"
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600 and dump(copy) == saved
    store = Store(path, FrozenClock(START + 60))
    store.ensure_agent("Bob after the backup")
    store.close()
    changed = dump(path)
    assert changed != saved
    code, out, _ = run(capsys, "db", "restore", str(copy))
    assert code == 0
    assert dump(path) == saved
    kept = out.splitlines()[1].removeprefix("what was there before is kept as ")
    assert dump(Path(kept)) == changed  # what the restore replaced is kept too
    code, out, _ = run(capsys, "db", "check")
    assert code == 0 and out.startswith(f"{path}: sound (schema {db.SCHEMA_VERSION}, SQLite integrity "
                                        "check passed)\n")


def test_restoring_over_a_damaged_file_moves_it_aside(capsys):
    path = real_db()
    path.parent.mkdir(parents=True)
    make_workspace(path)
    code, _, _ = run(capsys, "db", "backup")
    [copy] = backup.backups(path)
    saved = dump(copy)
    path.write_bytes(b"")
    code, out, _ = run(capsys, "db", "restore", str(copy))
    assert code == 0 and dump(path) == saved
    assert "damaged-" in out.splitlines()[1]


def test_restoring_from_a_damaged_backup_is_refused(capsys, tmp_path):
    path = real_db()
    path.parent.mkdir(parents=True)
    make_workspace(path)
    bad = tmp_path / "bad.db"
    shutil.copy(path, bad)
    flip_bytes(bad)
    before = dump(path)
    code, _, err = run(capsys, "db", "restore", str(bad))
    assert code == 1 and err.startswith(f"agentconsole: error: {bad} fails SQLite's integrity check (")
    assert dump(path) == before


def test_daily_backups_keep_the_newest_seven(tmp_path):
    path = tmp_path / "ws.db"
    make_workspace(path)
    store = Store(path, FrozenClock(START))
    made = []
    for day in range(9):
        store.clock = FrozenClock(START + day * backup.DAY + 1)
        made.append(store.backup_if_due())
        assert store.backup_if_due() is None  # at most one a day
    kept = backup.backups(path)
    assert len(kept) == backup.KEEP and kept == made[-backup.KEEP:]
    store.close()


def test_a_migration_is_preceded_by_a_backup(tmp_path):
    path = tmp_path / "old.db"
    conn = db.connect(path)
    for step in db.MIGRATIONS[:-1]:
        conn.executescript(step)
    conn.execute(f"PRAGMA user_version = {db.SCHEMA_VERSION - 1}")
    conn.close()
    old = dump(path)
    Store(path, FrozenClock(START)).close()
    [copy] = backup.backups(path)
    assert copy.name.endswith(f"-before-migration-{db.SCHEMA_VERSION - 1}.db")
    assert dump(copy) == old


def test_the_demo_workspaces_backups_never_push_out_the_real_ones(tmp_path):
    real, demo = tmp_path / "agentconsole.db", tmp_path / "demo.db"
    make_workspace(real)
    make_workspace(demo)
    real_store, demo_store = Store(real, FrozenClock(START)), Store(demo, FrozenClock(START))
    first = real_store.backup("manual")
    for _ in range(backup.KEEP + 2):
        demo_store.backup("manual")
    assert backup.backups(real) == [first] and len(backup.backups(demo)) == backup.KEEP
    real_store.close()
    demo_store.close()


def test_restore_is_refused_while_a_console_runs_on_the_database(capsys):
    import os
    import socket

    path = real_db()
    path.parent.mkdir(parents=True)
    make_workspace(path)
    run(capsys, "db", "backup")
    [copy] = backup.backups(path)
    store = Store(path, FrozenClock(START))
    agent = store.ensure_agent("Bob Li")
    gone = f"{socket.gethostname()}:999999999:dead"  # a console of this host whose process has ended
    here = f"{socket.gethostname()}:{os.getpid()}:live"
    with store.transaction() as conn:
        conn.execute("INSERT INTO presence(console, agent_id, conversation_id, activity, since, expires_at)"
                     " VALUES (?, ?, NULL, 'viewing', ?, ?)", (gone, agent, START, START + 10**9))
    store.close()
    code, out, err = run(capsys, "db", "restore", str(copy))
    assert code == 0, err  # only a dead console's row: nothing runs, the restore goes ahead
    store = Store(path, FrozenClock(START))
    agent = store.ensure_agent("Bob Li")  # the restored backup is from before Bob
    with store.transaction() as conn:
        conn.execute("INSERT INTO presence(console, agent_id, conversation_id, activity, since, expires_at)"
                     " VALUES (?, ?, NULL, 'viewing', ?, ?)", (here, agent, START, START + 10**9))
    store.close()
    before = dump(path)
    code, _, err = run(capsys, "db", "restore", str(copy))
    assert code == 1 and "1 console(s) still use" in err and f"pid {os.getpid()}" in err and "--force" in err
    assert dump(path) == before  # nothing was touched
    code, _, err = run(capsys, "db", "restore", "--force", str(copy))
    assert code == 0, err
