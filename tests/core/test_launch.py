"""The start path stays light: what the first frame does not need is imported after it, never before."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from agentconsole.domain.models import Channel, InboundMessage, Kind, Person
from agentconsole.storage.store import Store
from agentconsole.domain.clock import SystemClock  # the real command reads the system clock
from benchmarks.launch_probe import first_frame, probe

ROOT = Path(__file__).resolve().parents[2]

# Made lazy for the launch (issue 20): the engine and every connector are built after the first paint
# (Session.attach_engine), the rest is imported by the verbs and screens that use it.
AFTER_THE_FIRST_FRAME = (
    "agentconsole.sync.engine", "agentconsole.sync.sending", "agentconsole.listening.poller",
    "agentconsole.channels.registry", "agentconsole.channels.contract", "agentconsole.accounts",
    "agentconsole.team.leases", "connectors", "connectors.demo",
    "agentconsole.replies.escalation", "agentconsole.replies.canned", "agentconsole.replies.reply_all",
    "agentconsole.metrics", "agentconsole.shifts.service", "agentconsole.storage.shifts",
    "importlib.metadata", "email", "statistics",
    # the ingest chain (Store.ingest imports it on the first batch) and TOML (only when a file is read)
    "agentconsole.storage.ingest", "agentconsole.storage.inbound", "agentconsole.storage.surveys",
    "agentconsole.satisfaction.parse", "agentconsole.storage.triage", "tomllib",
    # the send guard and the templates: the composer asks for its verdict once a reply is being written
    "agentconsole.replies.guard", "agentconsole.replies.templates",
    # the dialogs (search, help, confirmations): read when one first opens
    "screens.common.modals",
    # [notify]: built with the background work after the first frame
    "agentconsole.notify", "screens.common.notifications",
)


def test_importing_the_start_path_loads_none_of_the_lazy_modules():
    code = ("import sys\n"
            "import agentconsole.cli\n"
            "from agentconsole.session.session import Session\n"
            "import screens.app\n"
            f"print(','.join(m for m in {AFTER_THE_FIRST_FRAME!r} if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


def _workspace(tmp_path, monkeypatch) -> Path:
    for name in ("HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    data = tmp_path / "data"
    data.mkdir()
    store = Store(data / "agentconsole.db")
    account = store.ensure_account("shop-m", Channel.MASTODON, "mastodon", handle="@shop")  # a real account
    store.ingest(account, [InboundMessage("p1", "t1", Kind.PUBLIC, Person("u1", "dana_k", "Dana Kim"),
                                          "my order never arrived", SystemClock().now() - 600)])
    store.close()
    return data


def test_the_real_start_paints_its_first_rows_before_importing_them(tmp_path, monkeypatch):
    """The agentconsole command on a pty (benchmarks/launch_probe.py): sys.modules at the first frame
    with rows, which the inbox reaches before anything it starts afterwards."""
    frame = first_frame(_workspace(tmp_path, monkeypatch))
    assert frame["rows"] == 1
    assert [m for m in AFTER_THE_FIRST_FRAME if m in frame["modules"]] == []
    assert "agentconsole.session.engine_link" in frame["modules"]  # the probe did see the start path


def test_the_start_opens_the_real_workspace_once(tmp_path, monkeypatch):
    """use_demo opens the real workspace to see whether it has a real account; the console keeps that
    store instead of opening (and checking, and migrating) the same file a second time."""
    import argparse

    from agentconsole import cli
    from agentconsole.config import Config

    monkeypatch.setenv("AGENTCONSOLE_DATA_DIR", str(tmp_path))
    store = Store(tmp_path / "agentconsole.db")
    store.ensure_account("shop-m", Channel.MASTODON, "mastodon", handle="@shop")
    store.close()
    opened: list[object] = []

    class Counted(Store):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            opened.append(self)

    monkeypatch.setattr(cli, "Store", Counted)
    ctx = cli.CliContext(Config())
    demo = cli.use_demo(argparse.Namespace(demo=False, storage_url=""), ctx)
    assert demo is False
    assert ctx.store(demo) is opened[0]
    assert len(opened) == 1
    ctx.close()


def test_opening_a_workspace_again_does_not_scan_the_migrations_again(tmp_path, monkeypatch):
    """The tables the schema steps create are a constant: the check at every open reads them once."""
    from agentconsole.storage import db

    Store(tmp_path / "a.db").close()
    scans: list[str] = []
    findall = db.re.findall
    monkeypatch.setattr(db.re, "findall", lambda pattern, text, *a: scans.append(text) or findall(pattern, text, *a))
    Store(tmp_path / "a.db").close()
    Store(tmp_path / "b.db").close()
    assert [s for s in scans if s in db.MIGRATIONS] == []


def test_the_probe_starts_another_tree_in_the_same_loop(tmp_path, monkeypatch):
    """--against: the other tree's ratio against the same floor, and the paired difference."""
    report = probe(["--dir", str(_workspace(tmp_path, monkeypatch)), "--runs", "1", "--against", str(ROOT)])
    assert report["rows"] == 1 and len(report["against_cpu_ms_runs"]) == 1 and len(report["floor_cpu_ms_runs"]) == 2
    assert report["against_cpu_ratio"] > 0 and report["cpu_ratio"] > 0
    one_pair = report["cpu_ms_runs"][0] - report["against_cpu_ms_runs"][0]
    assert abs(report["paired_difference_ms_median"] - one_pair) <= 1  # rounded on both sides
