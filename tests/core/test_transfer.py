"""`agentconsole db migrate-to`: an SQLite workspace copied to a real PostgreSQL server, verified, re-run,
refused, interrupted by an exception and by kill -9, and the source never changed."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from agentconsole import cli, paths
from tests import pg
from tests.core.transfer_fill import OUTBOX_STATES, counts, fill

pytestmark = pytest.mark.usefixtures("isolated_dirs")


def _digest(path: Path) -> str:
    """The database file's bytes and what its write-ahead log holds (a reader may create an empty one)."""
    wal = Path(f"{path}-wal")
    return hashlib.sha256(path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")).hexdigest()


def _migrate(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(["db", "migrate-to", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def _server_counts(conn, names) -> dict[str, int]:
    return {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}


def _copied(tables: dict[str, int]) -> dict[str, int]:
    """The tables the server holds too: FTS5's prefix word list has no counterpart there."""
    return {k: v for k, v in tables.items() if k != "search_terms"}


@pytest.fixture
def workspace() -> dict[str, int]:
    """Rows per table of a workspace with every table filled (the tables the server holds too)."""
    store = fill(paths.database_path(False))
    try:
        found = counts(store)
    finally:
        store.close()
    assert all(n > 0 for n in found.values()), {k: v for k, v in found.items() if not v}
    return _copied(found)


def _open(url: str):
    import psycopg

    return psycopg.connect(url)


@pytest.fixture
def server():
    """A new migrated database on the test server, and a connection to look at it."""
    url = pg.fresh_database("pgmove")
    conn = _open(url)
    yield url, conn
    conn.close()
    pg.drop(url)


@pytest.fixture
def bare_server():
    """A new database with nothing in it: migrate-to creates the schema."""
    url = pg.empty_database("pgmove")
    yield url
    pg.drop(url)


def test_every_table_is_copied_with_its_ids_and_verified(capsys, workspace, server):
    url, conn = server
    source = paths.database_path(False)
    before = _digest(source)
    code, out, err = _migrate(capsys, url)
    assert code == 0, err
    for name, rows in workspace.items():
        line = next(x for x in out.splitlines() if x.split()[:1] == [name])
        assert f"{rows:,}" in line and line.endswith("same")
    assert "search_terms" in out and "not copied: the server finds prefixes in its own search index" in out
    assert "every count and checksum on the server is the same as here" in out
    assert _server_counts(conn, workspace) == workspace
    assert _digest(source) == before  # read-only: the workspace file is untouched
    src = sqlite3.connect(source)
    for table, key in (("messages", "id"), ("outbox", "id"), ("conversations", "id"), ("sync_cursors", "stream")):
        here = [tuple(r) for r in src.execute(f"SELECT {key}, * FROM {table} ORDER BY {key}, 2")]
        there = [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r)
                 for r in conn.execute(f'SELECT {key}, * FROM {table} ORDER BY {key} COLLATE "C", 2'
                                       if key == "stream" else f"SELECT {key}, * FROM {table} ORDER BY {key}")]
        assert len(here) == len(there) and [r[0] for r in here] == [r[0] for r in there]
    states = {r[0] for r in conn.execute("SELECT state FROM outbox")}
    assert states == set(OUTBOX_STATES)
    questions = conn.execute("SELECT count(*) FROM knowledge_pairs WHERE question <> ''").fetchone()[0]
    assert questions == workspace["knowledge_pairs"]  # FTS5 kept them in knowledge_fts
    assert conn.execute("SELECT count(*) FROM messages WHERE search IS NULL").fetchone()[0] == 0
    raws = {bytes(r[0]) for r in conn.execute("SELECT raw FROM messages WHERE raw IS NOT NULL")}
    assert bytes(range(256)) in raws and any(b"\x00\xff" in r for r in raws)
    assert conn.execute("SELECT after_id FROM outbox WHERE id = 1").fetchone()[0] == 8  # a later row's id
    # The id sequences continue after the copied ids.
    top = conn.execute("SELECT max(id) FROM notes").fetchone()[0]
    new = conn.execute("INSERT INTO notes(conversation_id, text, created_at) VALUES (1, 'next', 0) RETURNING id")
    assert new.fetchone()[0] == top + 1
    conn.rollback()


def test_a_second_run_verifies_and_copies_nothing(capsys, workspace, server):
    url, conn = server
    assert _migrate(capsys, url)[0] == 0
    written = conn.execute("SELECT sum(n_tup_ins) FROM pg_stat_user_tables").fetchone()[0]
    conn.rollback()
    code, out, err = _migrate(capsys, url)
    assert code == 0, err
    assert "already holds this workspace" in out and "nothing was copied" in out
    assert _server_counts(conn, workspace) == workspace
    conn.execute("SELECT pg_stat_force_next_flush()")
    conn.rollback()
    assert conn.execute("SELECT sum(n_tup_ins) FROM pg_stat_user_tables").fetchone()[0] == written
    conn.rollback()


def test_a_server_holding_another_workspace_is_refused_unless_replace(capsys, workspace, server, tmp_path):
    url, conn = server
    assert _migrate(capsys, url)[0] == 0
    db = sqlite3.connect(paths.database_path(False))
    db.execute("UPDATE notes SET text = 'changed since' WHERE id = 1")
    db.execute("DELETE FROM leases")
    db.commit()
    db.close()
    code, out, err = _migrate(capsys, url)
    assert code == 1
    assert "already holds a different workspace" in err and "--replace" in err
    assert "notes (3 rows on both, different content)" in err and "leases (rows: 1 there, 0 here)" in err
    assert conn.execute("SELECT text FROM notes WHERE id = 1").fetchone()[0] != "changed since"
    conn.rollback()
    code, out, err = _migrate(capsys, url, "--replace")
    assert code == 0, err
    assert "replaced what the server held" in out, out
    assert conn.execute("SELECT text FROM notes WHERE id = 1").fetchone()[0] == "changed since"
    assert conn.execute("SELECT count(*) FROM leases").fetchone()[0] == 0
    conn.rollback()


def test_a_failure_mid_copy_leaves_the_server_empty_and_a_rerun_copies(capsys, workspace, server):
    url, conn = server
    db = sqlite3.connect(paths.database_path(False))
    # SQLite lets any value into any column: a late table (outbox) holds one the server cannot take.
    db.execute("UPDATE outbox SET attempts = 'three' WHERE id = 2")
    db.commit()
    code, out, err = _migrate(capsys, url)
    assert code == 1
    assert "outbox.attempts of the row whose id is 2 holds 'three'" in err and "nothing was written" in err
    assert "copying messages" in err  # the earlier tables were copied before it failed …
    assert set(_server_counts(conn, workspace).values()) == {0}  # … and none of them was kept
    conn.rollback()
    db.execute("UPDATE outbox SET attempts = 3 WHERE id = 2")
    db.commit()
    db.close()
    code, out, err = _migrate(capsys, url)
    assert code == 0, err
    assert _server_counts(conn, workspace) == workspace


def test_odd_values_are_stored_as_the_server_can_and_counted(capsys, workspace, server):
    url, conn = server
    db = sqlite3.connect(paths.database_path(False))
    db.execute("UPDATE notes SET text = ? WHERE id = 1", ("nul\x00inside",))
    db.execute("UPDATE notes SET text = CAST(X'6F6BFF' AS TEXT) WHERE id = 2")  # not UTF-8
    db.execute("UPDATE messages SET raw = 'text in a blob' WHERE id = 3")
    db.execute("UPDATE audit SET at = 1764061200 WHERE id = 1")  # an integer where a REAL belongs
    db.commit()
    db.close()
    code, out, err = _migrate(capsys, url)
    assert code == 0, err
    assert "1 value(s) stored changed: NUL in text became U+FFFD" in out
    assert "1 value(s) stored changed: text that was not UTF-8 had its bad bytes made U+FFFD" in out
    assert "1 value(s) stored changed: text in a blob column was stored as its UTF-8 bytes" in out
    rows = dict(conn.execute("SELECT id, text FROM notes WHERE id IN (1, 2)").fetchall())
    assert rows == {1: "nul\ufffdinside", 2: "ok\ufffd"}
    assert bytes(conn.execute("SELECT raw FROM messages WHERE id = 3").fetchone()[0]) == b"text in a blob"
    conn.rollback()


def test_kill_9_mid_copy_leaves_nothing_and_a_rerun_copies(capsys, tmp_path, server):
    url, conn = server
    store = fill(paths.database_path(False), conversations=1500)
    expected = _copied(counts(store))
    store.close()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "agentconsole", "db", "migrate-to", url],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    seen = []
    assert proc.stderr is not None
    for line in proc.stderr:
        seen.append(line)
        if "copying messages" in line:
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "".join(seen)
    assert set(_server_counts(conn, expected).values()) == {0}
    conn.rollback()
    code, out, err = _migrate(capsys, url)
    assert code == 0, err
    assert _server_counts(conn, expected) == expected
    code, out, err = _migrate(capsys, url)
    assert code == 0 and "already holds this workspace" in out


def test_the_demo_workspace_moves_to_a_new_database(capsys, bare_server):
    url = bare_server
    assert cli.main(["sync", "--once", "--demo"]) == 0
    capsys.readouterr()
    code, out, err = _migrate(capsys, url, "--demo")
    assert code == 0, err
    assert str(paths.database_path(True)) in out
    demo = sqlite3.connect(paths.database_path(True))
    messages = demo.execute("SELECT count(*) FROM messages").fetchone()[0]
    assert messages > 50
    conn = _open(url)
    assert conn.execute("SELECT count(*) FROM messages").fetchone()[0] == messages
    assert conn.execute("SELECT count(*) FROM accounts WHERE is_demo = 1").fetchone()[0] > 0
    # The server's search finds what SQLite's finds.
    word = demo.execute("SELECT text FROM messages WHERE direction = 'in' ORDER BY id LIMIT 1").fetchone()[0].split()[0]
    from agentconsole.storage.store import Store

    here, there = Store(paths.database_path(True)), Store(url)
    try:
        assert [h.message_id for h in here.search(word, 50)] == [h.message_id for h in there.search(word, 50)]
        assert here.search(word, 50)
    finally:
        here.close()
        there.close()
    conn.close()


def test_what_is_not_a_server_url_or_holds_a_password_is_a_usage_error(capsys, workspace):
    code, out, err = _migrate(capsys, "sqlite:///elsewhere.db")
    assert code == 2 and "is not a PostgreSQL URL" in err
    code, out, err = _migrate(capsys, "postgresql://agentconsole:secret@127.0.0.1:55432/x")
    assert code == 2 and "must not contain a password" in err and "secret" not in err


def test_a_reference_to_a_missing_row_is_named_and_nothing_is_kept(capsys, workspace, server):
    url, conn = server
    db = sqlite3.connect(paths.database_path(False))  # foreign-key checks are off on a plain connection
    db.execute("UPDATE notes SET conversation_id = 99999 WHERE id = 2")
    db.commit()
    db.close()
    code, out, err = _migrate(capsys, url)
    assert code == 1
    assert "notes holds a reference the workspace lacks the row for" in err and "99999" in err
    assert set(_server_counts(conn, workspace).values()) == {0}
    conn.rollback()


def test_the_configured_server_is_the_default_target(capsys, workspace, server, tmp_path):
    url, conn = server
    (tmp_path / "config.toml").write_text(f'[storage]\nurl = "{url}"\n')
    code, out, err = _migrate(capsys)
    assert code == 0, err
    assert _server_counts(conn, workspace) == workspace
    conn.rollback()
