"""The built wheel installs into a fresh virtual environment and the console starts from it: a package file
missing from the wheel (a TCSS file, the starter canned replies) fails here, not on a user's machine."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agentconsole import __version__
from tests.screens.tmux_tools import Tmux

ROOT = Path(__file__).resolve().parent.parent


def _uv() -> str:
    found = shutil.which("uv")
    if found is None:
        if os.environ.get("AGENTCONSOLE_TEST_SERVERS"):
            pytest.fail("uv is not installed (.ci/run installs it)")
        pytest.skip("uv is not installed")
    return found


def run(*command: str, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, **kwargs)
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The bin folder of a fresh virtual environment with only the wheel (and its dependencies) in it."""
    uv = _uv()
    where = tmp_path_factory.mktemp("wheel")
    run(uv, "build", "--wheel", "--out-dir", str(where / "dist"), str(ROOT))
    wheels = list((where / "dist").glob("agentconsole-*.whl"))
    assert len(wheels) == 1, wheels
    run(uv, "venv", "--quiet", "--python", sys.executable, str(where / "venv"))
    python = where / "venv" / "bin" / "python"
    run(uv, "pip", "install", "--quiet", "--python", str(python), str(wheels[0]))
    return where / "venv" / "bin"


@pytest.mark.slow
def test_the_wheel_holds_every_package_file(installed):
    site = next((installed.parent / "lib").glob("python3*/site-packages"))
    for package in ("agentconsole", "connectors", "screens", "themes"):
        here = {p.relative_to(ROOT).as_posix() for p in (ROOT / package).rglob("*")
                if p.is_file() and "__pycache__" not in p.parts}
        there = {p.relative_to(site).as_posix() for p in (site / package).rglob("*")
                 if p.is_file() and "__pycache__" not in p.parts}
        assert here - there == set(), f"missing from the wheel: {sorted(here - there)}"


@pytest.mark.slow
def test_the_installed_command_runs_version_and_opens_the_demo(installed, tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("VIRTUAL_ENV", "PYTHON"))}
    env.update(AGENTCONSOLE_DATA_DIR=str(tmp_path / "data"), AGENTCONSOLE_STATE_DIR=str(tmp_path / "state"),
               AGENTCONSOLE_CONFIG=str(tmp_path / "config.toml"), PATH=f"{installed}{os.pathsep}/usr/bin:/bin")
    done = run(str(installed / "agentconsole"), "--version", env=env, cwd=tmp_path)
    assert done.stdout.strip() == f"agentconsole {__version__}"
    # The console itself, in a real terminal (tmux), from outside the checkout: first screen, then quit.
    tmux = Tmux()
    exports = " ".join(f"{k}={v}" for k, v in env.items() if k.startswith("AGENTCONSOLE_"))
    try:
        tmux.start("wheel", f"cd {tmp_path} && env {exports} TERM=xterm-256color {installed / 'agentconsole'} --demo;"
                            f" echo exit=$? > {tmp_path / 'exit'}; sleep 30", width=100, height=30)
        rows = tmux.wait_for("wheel", lambda text: "DEMO" in text and "Waiting" in text, timeout=60)
        assert any("Conversations" in row or "Waiting" in row for row in rows)
        tmux("send-keys", "-t", "wheel", "C-q")
        deadline = time.monotonic() + 30
        while not (tmp_path / "exit").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert (tmp_path / "exit").read_text().strip() == "exit=0"
        assert (tmp_path / "data" / "demo.db").exists()
    finally:
        tmux("kill-server")
