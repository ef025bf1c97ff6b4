"""A closed terminal or a SIGTERM ends the real console as `q` does: the store closes cleanly, drafts kept."""

from __future__ import annotations

import os
import signal
import sqlite3
import sys
import time
from pathlib import Path

import pytest

from agentconsole.domain.clock import SystemClock
from agentconsole.domain.models import InboundMessage, Kind, Person
from agentconsole.storage import soundness
from agentconsole.storage.store import Store
from tests.screens.tmux_tools import Tmux


def seed(data: Path) -> Path:
    data.mkdir(parents=True, exist_ok=True)
    store = Store(data / "agentconsole.db", SystemClock())
    account = store.ensure_account("shop", "mastodon", "none")
    now = store.clock.now()
    store.ingest(account, [InboundMessage(f"m{i}", f"t{i}", Kind.PUBLIC, Person(f"p{i}", f"@cust{i}", f"Customer {i}"),
                                          f"where is my order {i}", now - 600 + i) for i in range(3)], "c")
    store.close()
    return data / "agentconsole.db"


@pytest.fixture
def console(tmp_path):
    """(tmux, database, log file, what the pane was sent): the real command in a tmux pane kept after it
    exits, its start-up check passed."""
    tmux = Tmux()
    db = seed(tmp_path / "data")
    state = tmp_path / "state"
    env = (f"AGENTCONSOLE_DATA_DIR={db.parent} AGENTCONSOLE_CONFIG={tmp_path / 'none.toml'}"
           f" AGENTCONSOLE_STATE_DIR={state} TERM=xterm-256color TEXTUAL_ANIMATIONS=none"
           f" PYTHON_KEYRING_BACKEND=keyring.backends.fail.Keyring HOME={tmp_path} PATH={os.environ.get('PATH', '')}")
    tmux.start("app", "sleep 30")
    tmux("set-option", "-t", "app", "remain-on-exit", "on")
    tmux("respawn-pane", "-k", "-t", "app", f"env -i {env} {sys.executable} -m agentconsole")
    output = tmp_path / "pane.out"  # the screen after exit can show tmux's own line over the last one
    tmux("pipe-pane", "-t", "app", f"cat >> {output}")
    tmux.wait_for("app", lambda s: "where is my order" in s and "Conversations" in s)
    # The seal is written only after a check passed: the check (then the daily backup) runs once the
    # inbox has been quiet for a moment.
    deadline = time.monotonic() + 30
    while not any((db.parent / "backups").glob("*")):
        assert time.monotonic() < deadline, "the start-up check and backup never ran"
        time.sleep(0.1)
    yield tmux, db, state / "agentconsole.log", output
    tmux.close()


def pid_of(tmux: Tmux) -> int:
    return int(tmux("list-panes", "-t", "app", "-F", "#{pane_pid}").split()[0])


def gone(pid: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        assert time.monotonic() < deadline, "the console did not exit"
        time.sleep(0.05)


def exit_status(tmux: Tmux) -> str:
    """The pane command's exit status, or "signal N" if a signal ended it. tmux marks a pane dead when its
    terminal closes, which can come before it has reaped the process: wait for the status too."""
    deadline = time.monotonic() + 15
    while True:
        dead, status, sig = tmux("list-panes", "-t", "app", "-F",
                                 "#{pane_dead}|#{pane_dead_status}|#{pane_dead_signal}").split()[0].split("|")
        if dead == "1" and (status or sig):
            return status or f"signal {sig}"
        assert time.monotonic() < deadline, "the pane's command did not end"
        time.sleep(0.05)


def test_a_closed_terminal_closes_the_store_cleanly_so_the_next_start_skips_the_check(console):
    tmux, db, log, _output = console
    pid = pid_of(tmux)
    tmux.close()  # the terminal goes away: the console gets SIGHUP
    gone(pid)
    assert soundness.trusted_since(db) is not None
    assert "closing on SIGHUP" in log.read_text()
    assert "ERROR" not in log.read_text()  # Textual's writer finding the terminal gone is expected then


def test_sigterm_with_a_draft_open_keeps_it_in_the_store_and_exits_cleanly(console):
    tmux, db, log, output = console
    tmux("send-keys", "-t", "app", "r")
    tmux.wait_for("app", lambda s: "Send" in s)
    tmux("send-keys", "-t", "app", "-l", "on its way")
    tmux.wait_for("app", lambda s: "on its way" in s)
    os.kill(pid_of(tmux), signal.SIGTERM)
    assert exit_status(tmux) == "0"
    assert "closing on SIGTERM" in log.read_text() and "lost" not in log.read_text()
    assert "error" not in output.read_text(errors="replace").rsplit("\x1b[?1049l", 1)[-1]
    assert soundness.trusted_since(db) is not None  # first: the last connection to close changes the file
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT mode, text FROM drafts").fetchall() == [("reply", "on its way")]


def test_sigterm_without_a_draft_is_a_clean_exit(console):
    tmux, db, _log, _output = console
    os.kill(pid_of(tmux), signal.SIGTERM)
    assert exit_status(tmux) == "0"
    assert soundness.trusted_since(db) is not None
