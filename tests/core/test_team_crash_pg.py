"""kill -9 of a console mid-ingest and mid-send with the workspace on PostgreSQL, then restart:
nothing lost, nothing stored twice, nothing posted twice (the SQLite versions are in test_crash.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from agentconsole.domain.clock import FrozenClock
from agentconsole.storage.store import Store

from tests.core import pg_team
from tests.core.crash_worker import BATCHES, PER_BATCH

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def workspace(request):
    with pg_team.database() as name:
        yield pg_team.url(name)


def _start(location: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.core.crash_worker", location], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_kill_9_mid_ingest_on_postgresql_loses_and_duplicates_nothing(workspace):
    kills = 0
    for stop_after in (7, 60, 150):
        proc = _start(workspace)
        seen = 0
        for _ in proc.stdout:
            seen += 1
            if seen >= stop_after // 3 + 1:
                os.kill(proc.pid, signal.SIGKILL)
                kills += 1
                break
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
    proc = _start(workspace)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0 and out.strip().endswith("done")
    assert kills == 3

    store = Store(workspace, FrozenClock())
    try:
        conn = store.conn
        total = BATCHES * PER_BATCH
        assert conn.execute("SELECT count(*) FROM messages").fetchone()[0] == total
        assert conn.execute("SELECT count(DISTINCT external_id) FROM messages").fetchone()[0] == total
        bad = conn.execute(
            "SELECT count(*) FROM conversations c WHERE message_count !="
            " (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id)").fetchone()[0]
        assert bad == 0
        assert store.cursor(store.accounts()[0].id) == str(BATCHES)
    finally:
        store.close()


def _outbox_worker(location: str, platform: Path, mode: str, hang: bool) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.core.outbox_worker", location, str(platform), mode,
                             "hang" if hang else "no"], cwd=ROOT, stdout=subprocess.PIPE, text=True)


@pytest.mark.slow
@pytest.mark.parametrize("mode, final_state", [("idempotent", "sent"), ("plain", "unsure")])
def test_kill_9_between_post_and_mark_sent_on_postgresql_never_posts_twice(workspace, tmp_path, mode,
                                                                            final_state):
    from agentconsole.domain.models import InboundMessage, Kind, Person
    from agentconsole.replies.outbox import Outbox

    platform = tmp_path / "platform.log"
    store = Store(workspace)
    account = store.ensure_account("m", "mastodon", "file")
    store.ingest(account, [InboundMessage("s1", "s1", Kind.PUBLIC, Person("u1", "dana"), "help", 1.0)])
    item = Outbox(store).enqueue_reply(store.conversation_ids()[0], "We're on it", agent_id=None)
    store.close()

    proc = _outbox_worker(workspace, platform, mode, hang=True)
    assert proc.stdout.readline().strip() == "posted"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)

    proc = _outbox_worker(workspace, platform, mode, hang=False)
    out, _ = proc.communicate(timeout=60)
    assert "settled" in out
    store = Store(workspace)
    try:
        assert Outbox(store).item(item).state == final_state
        assert len(platform.read_text().splitlines()) == 1  # the customer got it exactly once
    finally:
        store.close()


def _console(location: str, name: str, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.core.lease_worker", location, name, str(log)],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_kill_9_of_the_polling_console_hands_the_account_to_the_other_one_never_both(workspace, tmp_path):
    """Two consoles' engines on one PostgreSQL workspace: one polls, the other stands by; kill -9 the
    one polling mid-ingest and the other takes the lease over (its holder is provably gone), resumes
    from the committed cursor, and every message is stored once; the two never fetched side by side."""
    import time

    from tests.core.lease_worker import PAGES, PER_PAGE

    log = tmp_path / "fetches.log"
    Store(workspace).close()  # migrated before the two race to open it
    first = _console(workspace, "first", log)
    assert first.stdout.readline().strip() == "started"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (log.exists() and log.read_text().count("first ") >= 3):
        time.sleep(0.01)
    second = _console(workspace, "second", log)
    assert second.stdout.readline().strip() == "started"
    while time.monotonic() < deadline and log.read_text().count("first ") < 12:
        time.sleep(0.01)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    out, _ = second.communicate(timeout=120)
    assert out.strip().endswith("done")

    fetches = [line.split() for line in log.read_text().splitlines()]
    who = [name for name, _ in fetches]
    assert "second" in who and who.index("second") > len(who) - 1 - who[::-1].index("first")  # never side by side
    store = Store(workspace, FrozenClock())
    try:
        total = PAGES * PER_PAGE
        assert store.conn.execute("SELECT count(*), count(DISTINCT external_id) FROM messages").fetchone() == (
            total, total)
        bad = store.conn.execute(
            "SELECT count(*) FROM conversations c WHERE message_count !="
            " (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id)").fetchone()[0]
        assert bad == 0
        taken = store.conn.execute("SELECT count(*) FROM audit WHERE action = 'lease_taken'").fetchone()[0]
        assert taken == 1
    finally:
        store.close()
