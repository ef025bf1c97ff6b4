"""The core and the connectors run without any UI library: checked two ways, as Harlequin does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_linter_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "broken" not in done.stdout.lower() or "0 broken" in done.stdout.lower()


def test_core_and_connectors_import_no_ui_modules():
    code = (
        "import sys, pkgutil, importlib\n"
        # httpx's own command-line module imports rich whenever rich is installed (it is, for the
        # UI), so what httpx loads by itself is the baseline; our modules must add no UI module.
        "import httpx\n"
        "baseline = set(sys.modules)\n"
        "import agentconsole, connectors\n"
        "for pkg in (agentconsole, connectors):\n"
        "    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "        if m.name != 'agentconsole.cli' and not m.name.endswith('__main__'):\n"
        "            importlib.import_module(m.name)\n"
        "bad = sorted(n for n in set(sys.modules) - baseline\n"
        "             if n.split('.')[0] in ('textual', 'rich', 'screens', 'themes'))\n"
        "print(','.join(bad))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


def test_core_import_has_no_side_effects(tmp_path):
    code = "import agentconsole.storage.store, agentconsole.sync.engine, agentconsole.cli; print('ok')"
    env = {"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "d"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env=env,
                          timeout=60)
    assert done.stdout.strip() == "ok", done.stderr
    assert not (tmp_path / "d").exists()
