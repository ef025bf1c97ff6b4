"""Driving a real tmux for tests: run a command in a pane, read the screen, ask tmux how wide text is."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

# Prints each string after a clear line and asks the terminal where the cursor went (DSR 6): the answer
# is tmux's own count of the cells that string took.
PROBE = r"""
import json, os, sys, termios, tty
strings = json.load(open(sys.argv[1]))
fd = sys.stdin.fileno()
old = termios.tcgetattr(fd)
tty.setraw(fd)
out = {}
try:
    for s in strings:
        os.write(1, ("\r\x1b[2K" + s).encode())
        os.write(1, b"\x1b[6n")
        buf = b""
        while not buf.endswith(b"R"):
            buf += os.read(fd, 32)
        out[s] = int(buf.rsplit(b";", 1)[1][:-1]) - 1
finally:
    termios.tcsetattr(fd, termios.TCSADRAIN, old)
with open(sys.argv[2] + ".part", "w") as f:
    json.dump(out, f)
os.rename(sys.argv[2] + ".part", sys.argv[2])
"""


def require_tmux() -> str:
    """The tmux binary; a missing one fails under AGENTCONSOLE_TEST_SERVERS=1 (CI installs it)."""
    found = shutil.which("tmux")
    if found is None:
        if os.environ.get("AGENTCONSOLE_TEST_SERVERS"):
            pytest.fail("tmux is not installed (.ci/services/tmux.sh installs it)")
        pytest.skip("tmux is not installed")
    return found


class Tmux:
    """A private tmux server (its own socket), killed on close."""

    def __init__(self) -> None:
        require_tmux()
        self.socket = f"agentconsole-test-{os.getpid()}-{time.monotonic_ns()}"

    def __call__(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True,
                              check=False, timeout=20).stdout

    def start(self, name: str, command: str, width: int = 120, height: int = 36) -> None:
        self("new-session", "-d", "-s", name, "-x", str(width), "-y", str(height), command)

    def screen(self, name: str) -> list[str]:
        """Every row of the pane, trailing blanks kept."""
        return self("capture-pane", "-p", "-N", "-t", name).split("\n")[:-1]

    def wait_for(self, name: str, seen, timeout: float = 20.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while True:
            rows = self.screen(name)
            if seen("\n".join(rows)):
                return rows
            if time.monotonic() > deadline:
                raise AssertionError("the screen never showed what was waited for:\n" + "\n".join(rows))
            time.sleep(0.05)

    def widths(self, strings: set[str]) -> dict[str, int]:
        """How many cells tmux gives each string, measured by tmux itself."""
        with tempfile.TemporaryDirectory() as tmp:
            src, out, script = Path(tmp, "in.json"), Path(tmp, "out.json"), Path(tmp, "probe.py")
            src.write_text(json.dumps(sorted(strings)))
            script.write_text(PROBE)
            self.start("probe", f"{sys.executable} {script} {src} {out}", 200, 5)
            deadline = time.monotonic() + 30
            while not out.exists():
                if time.monotonic() > deadline:
                    raise AssertionError("the width probe never answered")
                time.sleep(0.05)
            return json.loads(out.read_text())

    def close(self) -> None:
        self("kill-server")
