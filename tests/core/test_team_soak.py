"""A bounded team soak on one host: scripted agents and a sync process on one database file; no
customer message is answered twice unless someone chose "send anyway"."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
AGENTS = int(os.environ.get("AGENTCONSOLE_SOAK_AGENTS", "4"))
SECONDS = float(os.environ.get("AGENTCONSOLE_SOAK_SECONDS", "12"))


def _run(module_args: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.core.team_soak", *module_args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def soak(db: Path, *, guard: bool, seconds: float = SECONDS, agents: int = AGENTS) -> dict:
    subprocess.run([sys.executable, "-m", "tests.core.team_soak", "setup", str(db)], cwd=ROOT, check=True)
    sync = _run(["sync", str(db), str(seconds + 3)])
    flags = [] if guard else ["--no-guard"]
    workers = [_run(["agent", str(db), f"Agent {i}", str(seconds), str(i), *flags]) for i in range(agents)]
    reports = []
    for proc in workers:
        out, err = proc.communicate(timeout=seconds + 60)
        assert proc.returncode == 0, err
        reports.append(json.loads(out.strip().splitlines()[-1]))
    _, err = sync.communicate(timeout=seconds + 60)
    assert sync.returncode == 0, err
    conn = sqlite3.connect(db)
    try:
        # The customer message each answer replied to is the request's in_reply_to, fixed at queueing.
        answers = conn.execute(
            "SELECT o.conversation_id, json_extract(o.request, '$.in_reply_to') AS msg, count(*) FROM outbox o"
            " WHERE o.action = 'reply' AND o.agent_id IS NOT NULL AND o.state != 'discarded'"
            " GROUP BY o.conversation_id, msg").fetchall()
        anyway = conn.execute("SELECT count(*) FROM audit WHERE action = 'sent_anyway'").fetchone()[0]
        figures = {
            "agents": agents, "seconds": seconds,
            "answered": len(answers),
            "answered_twice": sum(1 for _, _, n in answers if n > 1),
            "sent_anyway": anyway,
            "queued": sum(r["sent"] for r in reports),
            "stopped_by_guard": sum(r["stopped"] for r in reports),
            "locked": sum(r["locked"] for r in reports),
            "sent_by_engine": conn.execute("SELECT count(*) FROM outbox WHERE state = 'sent'").fetchone()[0],
            "integrity": conn.execute("PRAGMA integrity_check").fetchone()[0],
        }
    finally:
        conn.close()
    print("team soak:", json.dumps(figures))
    return figures


@pytest.mark.slow
def test_no_customer_message_is_answered_twice_by_accident(tmp_path):
    figures = soak(tmp_path / "soak.db", guard=True)
    assert figures["integrity"] == "ok" and figures["locked"] == 0
    assert figures["answered"] > 10  # the agents really worked
    assert figures["stopped_by_guard"] > 0  # and really collided: the guard had something to stop
    assert figures["sent_anyway"] == 0
    assert figures["answered_twice"] == 0


@pytest.mark.slow
def test_the_soak_sees_double_answers_when_the_guard_is_off(tmp_path):
    """The measure itself works: the same agents without the guard answer customers twice."""
    figures = soak(tmp_path / "control.db", guard=False, seconds=5)
    assert figures["answered_twice"] > 0
