"""`sync --once` stopped by SIGTERM or SIGHUP mid-sync lets go of its leases and closes the store cleanly."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from agentconsole.domain.clock import SystemClock
from agentconsole.storage import soundness
from agentconsole.storage.store import Store

ROOT = Path(__file__).resolve().parents[2]


class SilentServer:
    """Accepts connections and never answers: a sync against it waits until it is stopped."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.accepted = threading.Event()
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            self.accepted.set()

    def close(self) -> None:
        for conn in self.conns:
            conn.close()
        self.sock.close()


@pytest.fixture
def server():
    silent = SilentServer()
    yield silent
    silent.close()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_stopped_sync_releases_its_leases_and_seals_the_store(tmp_path, server, sig):
    db = tmp_path / "agentconsole.db"
    store = Store(db, SystemClock())
    store.ensure_account("shop", "mastodon", "mastodon", settings={"instance": f"http://127.0.0.1:{server.port}"})
    store.close()
    env = {**os.environ, "AGENTCONSOLE_DATA_DIR": str(tmp_path), "AGENTCONSOLE_CONFIG": str(tmp_path / "none.toml"),
           "AGENTCONSOLE_STATE_DIR": str(tmp_path / "state"), "AGENTCONSOLE_SECRET_SHOP": "token",
           "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    proc = subprocess.Popen([sys.executable, "-m", "agentconsole", "sync", "--once"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert server.accepted.wait(30), "the sync never reached the server"
        time.sleep(0.2)  # the request is on its way: the sync waits for an answer that never comes
        with sqlite3.connect(db) as conn:
            assert conn.execute("SELECT count(*) FROM leases").fetchone()[0] == 1  # held while it syncs
        started = time.monotonic()
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=15)
    finally:
        proc.kill()
    assert time.monotonic() - started < 5
    assert proc.returncode == 1
    assert f"stopped by {sig.name} before the sync finished" in err
    assert soundness.trusted_since(db) is not None  # first: the last connection to close changes the file
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM leases").fetchone()[0] == 0
