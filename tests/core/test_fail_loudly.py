"""Damaged, missing and unusable files, full disks and bugs: one line each, the right exit code, no traceback."""

from __future__ import annotations

import errno
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from agentconsole import logs, paths
from agentconsole.cli import main
from agentconsole.domain.clock import FrozenClock
from agentconsole.storage import db
from agentconsole.storage.store import Store
from tests.screens.conftest import START, seed

HINT = ("check it with `agentconsole db check`, or restore a backup with `agentconsole db restore FILE` "
        "(backups are in {backups})")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out and "Traceback" not in err
    return code, out, err


def real_db() -> Path:
    return paths.database_path(False)


def hint() -> str:
    return HINT.format(backups=paths.data_dir() / "backups")


def make_workspace(path: Path) -> None:
    """A real workspace with messages, checkpointed into the one file."""
    store = Store(path, FrozenClock(START))
    seed(store, store.clock)
    store.ensure_account("shop-mail", "email", "email", settings={"host": "127.0.0.1"})
    store.close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def test_an_empty_database_file_is_refused_not_replaced_by_the_demo(capsys):
    path = real_db()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"")
    code, out, err = run(capsys, "sync", "--once")
    assert code == 1 and out == ""
    assert err == (f"agentconsole: error: {path} is empty (0 bytes), not the workspace database; "
                   f"agentconsole will not start over in its place: {hint()}\n")
    assert path.stat().st_size == 0 and not paths.database_path(True).exists()


def test_a_folder_in_place_of_the_database(capsys):
    path = real_db()
    path.mkdir(parents=True)
    code, _, err = run(capsys, "sync", "--once")
    assert code == 1
    assert err == f"agentconsole: error: {path} is a folder, not a database file; move it away, or {hint()}\n"


def test_a_zeroed_header_is_not_an_sqlite_database(capsys):
    path = real_db()
    path.parent.mkdir(parents=True)
    make_workspace(path)
    with path.open("r+b") as file:
        file.write(bytes(100))
    code, _, err = run(capsys, "sync", "--once")
    assert code == 1
    assert err == (f"agentconsole: error: {path} is not an SQLite database (its first bytes are "
                   f"{bytes(16)!r}); {hint()}\n")


def test_a_truncated_database_is_damaged(capsys):
    path = real_db()
    path.parent.mkdir(parents=True)
    make_workspace(path)
    with path.open("r+b") as file:
        file.truncate(path.stat().st_size // 2)
    code, _, err = run(capsys, "sync", "--once")
    assert code == 1
    assert err == (f"agentconsole: error: {path} is damaged (database disk image is malformed); "
                   f"{hint()}\n")


def test_a_file_cut_inside_its_header(capsys):
    path = real_db()
    path.parent.mkdir(parents=True)
    path.write_bytes(db.HEADER + b"\x10\x00")
    code, _, err = run(capsys, "sync", "--once")
    assert code == 1 and err == f"agentconsole: error: {path} is cut short (18 bytes); {hint()}\n"


def flip_bytes(path: Path) -> None:
    """Overwrite part of a table page in the middle of the file, as a failing disk might."""
    size = path.stat().st_size
    # The middle of the file may be a blob's overflow page, which no check can judge: hit a b-tree
    # page of the messages table too, the one nearest the middle.
    conn = sqlite3.connect(path)
    pages = [r[0] for r in conn.execute("SELECT pageno FROM dbstat WHERE name = 'messages' AND pagetype = 'leaf'")]
    conn.close()
    middle = min(pages, key=lambda n: abs(n * 4096 - size // 2))
    with path.open("r+b") as file:
        file.seek((middle - 1) * 4096)
        file.write(b"\xff" * 64)
        file.seek(size // 2)
        file.write(b"\xff" * 64)
        file.seek(4096 * 3 + 200)
        file.write(b"\x00\x13" * 100)


def test_flipped_bytes_fail_the_check_and_sync_writes_nothing(capsys):
    path = real_db()
    path.parent.mkdir(parents=True)
    make_workspace(path)
    flip_bytes(path)
    before = path.read_bytes()
    code, out, err = run(capsys, "sync", "--once")
    assert code == 1 and out == ""
    assert err.startswith(f"agentconsole: error: {path} failed SQLite's integrity check (")
    assert err.endswith(f"); {hint()}\n") and err.count("\n") == 1
    assert path.read_bytes() == before
    code, out, err = run(capsys, "db", "check")
    assert code == 1 and out == ""
    assert err.startswith(f"agentconsole: error: {path} fails SQLite's integrity check (")


def test_a_store_that_failed_its_check_refuses_every_write(tmp_path):
    path = tmp_path / "ws.db"
    make_workspace(path)
    flip_bytes(path)
    store = Store(path, FrozenClock(START))
    assert store.check()
    with pytest.raises(db.DatabaseDamaged, match="not saved: .* failed SQLite's integrity check"):
        store.ensure_agent("Bob")
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        store.conn.execute("DELETE FROM notes")
    assert store.backup_if_due() is None  # a damaged copy never pushes a good backup out
    store.close()


def test_a_database_from_a_newer_version(capsys):
    path = real_db()
    path.parent.mkdir(parents=True)
    make_workspace(path)
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {db.SCHEMA_VERSION + 3}")
    conn.close()
    code, _, err = run(capsys, "sync", "--once")
    assert code == 1
    assert err == (f"agentconsole: error: {path} was written by a newer agentconsole (schema "
                   f"{db.SCHEMA_VERSION + 3}; this one understands up to {db.SCHEMA_VERSION}); upgrade "
                   f"agentconsole, or {hint()}\n")


def test_another_programs_database(capsys):
    path = real_db()
    path.parent.mkdir(parents=True)
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE recipes (name TEXT)")
    conn.close()
    code, _, err = run(capsys, "sync", "--once")
    assert code == 1
    assert err == (f"agentconsole: error: {path} is an SQLite database but not agentconsole's (it holds "
                   f"recipes); point AGENTCONSOLE_DATA_DIR elsewhere, or {hint()}\n")


def test_a_file_where_the_data_folder_should_be(capsys, tmp_path):
    data = paths.data_dir()
    data.parent.mkdir(parents=True, exist_ok=True)
    data.write_text("not a folder")
    code, _, err = run(capsys, "sync", "--once")
    assert code == 1
    assert err == (f"agentconsole: error: a file is in the way of the folder {data}; move it away or set "
                   "AGENTCONSOLE_DATA_DIR\n")


@pytest.mark.parametrize("number, words", [
    (errno.ENOSPC, "the disk is full ({where}); free some space and try again"),
    (errno.EROFS, "{where} is on a read-only file system; set AGENTCONSOLE_DATA_DIR to a writable folder"),
    (errno.EACCES, "permission denied for {where}; make it readable and writable by you (or set "
                   "AGENTCONSOLE_DATA_DIR to a folder of yours)"),
])
def test_a_full_or_read_only_data_dir_at_open(capsys, monkeypatch, number, words):
    # Running as root, chmod cannot make a folder read-only, and no small tmpfs can be mounted here:
    # the OSError the kernel would give is injected where the database file is created.
    def refuse(path, *args, **kwargs):
        raise OSError(number, os.strerror(number), str(path))

    monkeypatch.setattr(db.os, "open", refuse)
    code, _, err = run(capsys, "sync", "--once", "--demo")
    assert code == 1
    assert err == "agentconsole: error: " + words.format(where=paths.database_path(True)) + "\n"


def test_a_full_disk_while_syncing_says_so_per_account(capsys, monkeypatch):
    def full(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(Store, "ingest", full)
    code, out, err = run(capsys, "sync", "--once", "--demo")
    assert code == 1
    lines = err.splitlines()
    assert lines and all(line.startswith("agentconsole: error: demo-") for line in lines)
    assert lines[0].endswith(": sync failed: the disk holding the database is full; free some space and "
                             "try again")


def test_a_locked_database(capsys, monkeypatch):
    def locked(*args, **kwargs):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(Store, "accounts", locked)
    code, _, err = run(capsys, "sync", "--once", "--demo")
    assert code == 1
    assert err == ("agentconsole: error: the database is busy (locked by another agentconsole process for "
                   "more than 5 s); try again in a moment\n")


def test_a_missing_secret_and_an_unreachable_server(capsys, monkeypatch):
    path = real_db()
    path.parent.mkdir(parents=True)
    store = Store(path, FrozenClock(START))
    store.ensure_account("nosecret", "email", "email",
                         settings={"imap_host": "127.0.0.1", "imap_port": 1, "smtp_host": "127.0.0.1",
                                   "smtp_port": 1, "username": "u", "address": "u@example.test"})
    store.close()
    code, _, err = run(capsys, "sync", "--once")
    assert code == 1
    assert err.startswith("agentconsole: error: nosecret: sync failed: no secret for 'nosecret' (this host has "
                          "no OS keyring): export AGENTCONSOLE_SECRET_NOSECRET=<the secret> before starting ")
    assert err.count("\n") == 1
    monkeypatch.setenv("AGENTCONSOLE_SECRET_NOSECRET", "pw")
    code, _, err = run(capsys, "sync", "--once")
    assert code == 1
    assert err == ("agentconsole: error: nosecret: sync failed: IMAP 127.0.0.1:1 (STARTTLS): connection lost "
                   "during connect: [Errno 111] Connection refused; check the server and the network, or try "
                   "again later (`agentconsole account test nosecret` tries the sign-in)\n")


def test_a_bug_is_one_line_naming_the_log_and_the_traceback_is_in_the_log(capsys, monkeypatch):
    import agentconsole.cli as cli

    def boom(args, ctx):
        raise ValueError("boom \x1b[31mred")

    monkeypatch.setattr(cli, "run_config", boom)
    code, out, err = run(capsys, "config", "path")
    log = paths.log_path()
    assert code == 1 and out == ""
    assert err == (f"agentconsole: error: unexpected ValueError: boom red; the details are in {log} "
                   "(please report it)\n")
    text = log.read_text()
    assert "Traceback (most recent call last)" in text and "ValueError: boom" in text


def test_usage_errors_name_the_problem_first(capsys):
    code, out, err = run(capsys, "sync")
    assert code == 2 and out == ""
    assert err.splitlines() == ["agentconsole: error: the following arguments are required: --once",
                                "usage: agentconsole sync [-h] --once [--demo]",
                                "run `agentconsole sync --help` for every option"]


def test_config_path_names_the_log_too(capsys):
    code, out, _ = run(capsys, "config", "path")
    assert code == 0
    assert out == f"{paths.config_path()}\nlog: {paths.log_path()}\n"


def test_folders_are_private_even_under_umask_000(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTCONSOLE_DATA_DIR", str(tmp_path / "a" / "data"))
    monkeypatch.setenv("AGENTCONSOLE_STATE_DIR", str(tmp_path / "b" / "state"))
    old = os.umask(0)
    try:
        Store(paths.database_path(True)).close()
        assert logs.setup("info") == tmp_path / "b" / "state" / "agentconsole.log"
    finally:
        os.umask(old)
        logs.setup("info", tmp_path / "restore.log")
    for folder in (tmp_path / "a", tmp_path / "a" / "data", tmp_path / "b", tmp_path / "b" / "state"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    assert stat.S_IMODE(paths.database_path(True).stat().st_mode) == 0o600
    assert stat.S_IMODE(paths.log_path().stat().st_mode) == 0o600


def test_the_log_level_default_keeps_protocol_chatter_out(tmp_path):
    import logging

    log = tmp_path / "x.log"
    logs.setup("info", log)
    logging.getLogger("aioimaplib").info("A001 LOGIN support secret-password")
    logging.getLogger("agentconsole.test").info("state changed")
    logs.setup("info", tmp_path / "other.log")
    text = log.read_text()
    assert "secret-password" not in text and "state changed" in text


def test_a_keyring_that_refuses_is_a_secret_problem_not_a_crash(monkeypatch):
    from agentconsole import secrets

    class Locked:
        def set_password(self, *args):
            raise RuntimeError("collection is locked")

        def get_password(self, *args):
            raise RuntimeError("collection is locked")

    monkeypatch.setattr(secrets, "keyring_backend", lambda: Locked())
    with pytest.raises(secrets.SecretUnavailable, match=r"^the OS keyring refused to keep the secret of "
                                                         r"'shop' \(collection is locked\); unlock it"):
        secrets.store_secret("shop", "pw")
    with pytest.raises(secrets.SecretUnavailable, match=r"^the OS keyring could not be read for 'shop' "
                                                         r"\(collection is locked\); unlock it, or export "):
        secrets.load_secret("shop", {}, environ={})


@pytest.fixture
def small_disk(tmp_path, request):
    """A real 1 MB tmpfs (or the size given as the fixture's parameter) where the runner may mount one
    (root in a container that allows it)."""
    import subprocess

    size = getattr(request, "param", "1m")

    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount_point)],
                          capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here; the injected-OSError tests above cover this")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_a_really_full_disk(capsys, monkeypatch, small_disk):
    monkeypatch.setenv("AGENTCONSOLE_DATA_DIR", str(small_disk / "data"))
    monkeypatch.setenv("AGENTCONSOLE_STATE_DIR", str(small_disk / "state"))  # the log is full too
    code, out, err = run(capsys, "sync", "--once", "--demo")
    assert code == 1
    lines = err.splitlines()
    assert lines and all(line.startswith("agentconsole: error: ") for line in lines)
    assert any(line.endswith("the disk holding the database is full; free some space and try again")
               for line in lines)


# A new workspace and the write-ahead log of its migrations take more than 1 MB: the disk is read-only, not full.
@pytest.mark.parametrize("small_disk", ["2m"], indirect=True)
def test_a_really_read_only_data_dir(capsys, monkeypatch, small_disk):
    import subprocess

    monkeypatch.setenv("AGENTCONSOLE_DATA_DIR", str(small_disk / "data"))
    Store(paths.database_path(True), FrozenClock(START)).close()
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    code, _, err = run(capsys, "sync", "--once", "--demo")
    assert code == 1
    assert err == (f"agentconsole: error: {paths.database_path(True)} is on a read-only file system; "
                   "agentconsole needs to write it (and its -wal and -shm files beside it): set "
                   "AGENTCONSOLE_DATA_DIR to a writable folder\n")
    monkeypatch.setenv("AGENTCONSOLE_DATA_DIR", str(small_disk / "elsewhere"))
    code, _, err = run(capsys, "sync", "--once", "--demo")
    assert code == 1
    assert err == (f"agentconsole: error: {small_disk / 'elsewhere'} is on a read-only file system; set "
                   "AGENTCONSOLE_DATA_DIR to a writable folder\n")


def test_cli_output_passes_through_the_sanitiser(capsys):
    import io

    from agentconsole.cli import SafeStream

    buffer = io.StringIO()
    stream = SafeStream(buffer)
    print("name \x1b]8;;http://evil\x07shop\x1b[2J\rover", file=stream)
    stream.write("a,b\r\nc,d\r\n")
    assert buffer.getvalue() == "name shop\nover\na,b\r\nc,d\r\n"
    ascii_only = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    SafeStream(ascii_only).write("Zoë – ok")
    ascii_only.seek(0)
    assert ascii_only.read() == "Zo? ? ok"


def test_the_log_masks_tokens_and_passwords_whatever_logs_them(tmp_path):
    import logging

    log = tmp_path / "x.log"
    logs.setup("debug", log)
    logging.getLogger("httpx").debug("Authorization: Bearer ZA-Yj3aBD8U8Cm7lKUp")
    logging.getLogger("agentconsole.test").warning("POST /oauth/token code=abc123&client_secret=s3cr3t")
    try:
        raise ValueError("login failed for password='hunter2'")
    except ValueError:
        logging.getLogger("agentconsole.test").exception("boom")
    logs.setup("info", tmp_path / "other.log")
    text = log.read_text()
    for secret in ("ZA-Yj3aBD8U8Cm7lKUp", "abc123", "s3cr3t", "hunter2"):
        assert secret not in text
    assert text.count("[redacted]") == 5  # the traceback quotes the raising line too
