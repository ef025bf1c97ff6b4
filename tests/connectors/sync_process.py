"""Runs the real `agentconsole sync --once` in a subprocess and kill -9s it at a chosen moment."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from agentconsole.sync.sending import PAUSE_ENV

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Run:
    returncode: int
    out: str
    err: str
    killed: bool


class SyncProcess:
    """One workspace (data dir, config, secrets in the environment) that `sync --once` runs against."""

    def __init__(self, data_dir: Path, secrets: dict[str, str]) -> None:
        self.env = {**os.environ, "AGENTCONSOLE_DATA_DIR": str(data_dir),
                    "AGENTCONSOLE_CONFIG": str(data_dir / "no-config.toml"), **secrets}
        self.env.pop(PAUSE_ENV, None)
        self.kills = 0

    def run(self, *, pause_at: str = "", kill_when: Callable[[str], bool] | None = None,
            timeout: float = 60.0) -> Run:
        """Run once; with *pause_at* (a phase boundary) the worker stops there and is killed; with
        *kill_when*, it is killed as soon as that predicate of its output so far holds."""
        env = dict(self.env)
        if pause_at:
            env[PAUSE_ENV] = f"{pause_at}:60"
        proc = subprocess.Popen([sys.executable, "-m", "agentconsole", "sync", "--once"], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lines: queue.Queue[str | None] = queue.Queue()

        def pump() -> None:
            for line in proc.stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        out: list[str] = []
        deadline = time.monotonic() + timeout
        killed = False
        want_kill = kill_when or ((lambda text: f"paused at {pause_at}" in text) if pause_at else None)
        while True:
            try:
                line = lines.get(timeout=0.05)
            except queue.Empty:
                line = ""
            if line is None:
                break
            out.append(line)
            if want_kill is not None and want_kill("".join(out)):
                os.kill(proc.pid, signal.SIGKILL)
                killed = True
                self.kills += 1
                break
            if time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(f"sync --once did not finish or pause in {timeout} s: {''.join(out)}")
        proc.wait(timeout=30)
        err = proc.stderr.read()
        proc.stdout.close()
        proc.stderr.close()
        if killed:
            assert proc.returncode == -signal.SIGKILL
        return Run(proc.returncode, "".join(out), err, killed)
