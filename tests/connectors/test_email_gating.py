"""When CI asks for the mail servers, their absence fails the run; elsewhere those tests skip."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ONE_SERVER_TEST = "tests/connectors/test_email_servers.py::test_find_sent_is_none_for_a_reply_that_never_went_out"


def run_without_servers(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != "AGENTCONSOLE_TEST_SERVERS"}
    environ.update(env, AGENTCONSOLE_MAIL_DIR=str(tmp_path / "no-servers-here"))
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", ONE_SERVER_TEST],
                          cwd=ROOT, env=environ, capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_missing_servers_skip_locally_and_fail_in_ci(tmp_path: Path) -> None:
    local = run_without_servers(tmp_path)
    assert local.returncode == 0 and "1 skipped" in local.stdout, local.stdout + local.stderr
    ci = run_without_servers(tmp_path, AGENTCONSOLE_TEST_SERVERS="1")
    assert ci.returncode == 1, ci.stdout + ci.stderr
    assert "mail test servers are not running" in ci.stdout
