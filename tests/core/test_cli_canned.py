"""`agentconsole canned import|export|list|starters` against a real store and a fake CLI context."""

from __future__ import annotations

import argparse
import io
from dataclasses import dataclass, field

import pytest

from agentconsole.cli import canned as cli_canned
from agentconsole.replies.canned import CannedDraft, CannedLibrary, dumps
from agentconsole.domain.clock import FrozenClock
from agentconsole.storage.store import Store


@dataclass
class FakeContext:
    root: object
    clock: FrozenClock = field(default_factory=FrozenClock)
    out: io.StringIO = field(default_factory=io.StringIO)
    err: io.StringIO = field(default_factory=io.StringIO)
    stores: dict = field(default_factory=dict)

    def store(self, demo: bool = False) -> Store:
        if demo not in self.stores:
            self.stores[demo] = Store(self.root / f"db-{demo}.sqlite", self.clock)
        return self.stores[demo]


@pytest.fixture
def ctx(tmp_path, monkeypatch):
    # Which workspace a command uses is tested through the real CLI below; here --demo decides.
    monkeypatch.setattr("agentconsole.cli.use_demo", lambda args: getattr(args, "demo", False))
    context = FakeContext(tmp_path)
    yield context
    for store in context.stores.values():
        store.close()


def run(ctx, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="agentconsole", exit_on_error=False)
    cli_canned.register(parser.add_subparsers(dest="command"))
    try:
        args = parser.parse_args(list(argv))
    except SystemExit as exc:
        return int(exc.code)
    return args.func(args, ctx)


def test_starters_then_export_then_import_elsewhere_round_trips(ctx, tmp_path):
    assert run(ctx, "canned", "starters") == 0
    assert "added: /closed, /delay" in ctx.out.getvalue()
    out = tmp_path / "replies.toml"
    assert run(ctx, "canned", "export", str(out)) == 0
    assert run(ctx, "canned", "export", str(out)) == 1
    assert "exists; add --force" in ctx.err.getvalue()
    assert run(ctx, "canned", "export", str(out), "--force") == 0
    assert run(ctx, "canned", "import", str(out), "--demo") == 0
    again = tmp_path / "again.toml"
    assert run(ctx, "canned", "export", str(again), "--demo") == 0
    assert again.read_bytes() == out.read_bytes()
    assert not list(tmp_path.glob(".*.tmp"))


def test_export_to_stdout(ctx):
    CannedLibrary(ctx.store()).create(CannedDraft("hi", "Hi", "Hi {name}"))
    assert run(ctx, "canned", "export", "-") == 0
    assert ctx.out.getvalue() == dumps([CannedDraft("hi", "Hi", "Hi {name}")])


def test_import_conflict_is_reported_kept_and_fails(ctx, tmp_path):
    CannedLibrary(ctx.store()).create(CannedDraft("hi", "Mine", "Mine {name}"))
    path = tmp_path / "in.toml"
    path.write_text(dumps([CannedDraft("hi", "Theirs", "Theirs"), CannedDraft("yo", "Yo", "Yo")]))
    assert run(ctx, "canned", "import", str(path)) == 1
    err = ctx.err.getvalue()
    assert "conflict /hi: yours is 'Mine', the file's is 'Theirs' (name, body differ)" in err
    assert "--overwrite" in err
    assert "1 added: /yo" in ctx.out.getvalue()
    assert CannedLibrary(ctx.store()).by_shortcut("hi").body == "Mine {name}"
    assert run(ctx, "canned", "import", str(path), "--overwrite") == 0
    assert CannedLibrary(ctx.store()).by_shortcut("hi").body == "Theirs"


def test_import_dry_run_changes_nothing(ctx, tmp_path):
    path = tmp_path / "in.toml"
    path.write_text(dumps([CannedDraft("yo", "Yo", "Yo")]))
    assert run(ctx, "canned", "import", str(path), "--dry-run") == 0
    assert "1 would be added: /yo" in ctx.out.getvalue()
    assert CannedLibrary(ctx.store()).all() == []


def test_invalid_file_names_the_position_and_imports_nothing(ctx, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[[canned]]\nshortcut = "a"\nname = "A"\nbody = "ok"\n'
                    '[[canned]]\nshortcut = "b"\nname = "B"\nbody = "Hi\\n  {first.name}"\n')
    assert run(ctx, "canned", "import", str(path)) == 1
    err = ctx.err.getvalue()
    assert "entry 2: /b: body line 2, column 3" in err and "nothing was imported" in err
    assert CannedLibrary(ctx.store()).all() == []


def test_missing_file_and_usage_errors(ctx, tmp_path):
    assert run(ctx, "canned", "import", str(tmp_path / "nope.toml")) == 1
    assert "cannot read" in ctx.err.getvalue()
    assert run(ctx, "canned") == 2
    assert run(ctx, "canned", "import") == 2


def test_list(ctx):
    assert run(ctx, "canned", "list") == 0
    assert "canned starters" in ctx.out.getvalue()
    CannedLibrary(ctx.store()).install_starters()
    ctx.out.seek(0)
    ctx.out.truncate(0)
    assert run(ctx, "canned", "list") == 0
    lines = ctx.out.getvalue().splitlines()
    assert len(lines) == 8
    assert lines[0].startswith("/closed") and "0 uses" in lines[0] and "any channel" in lines[0]
    assert any(line.startswith("/sign") and "email · email" in line for line in lines)


def test_every_command_picks_the_workspace_by_one_rule(tmp_path):
    """The demo workspace until a real account exists, or when --demo is given before or after the
    subcommand; listing never creates the real database."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "AGENTCONSOLE_DATA_DIR": str(tmp_path / "data"),
           "AGENTCONSOLE_CONFIG": str(tmp_path / "config.toml")}

    def agentconsole(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "agentconsole", *argv], capture_output=True, text=True,
                              env=env, timeout=60)

    for argv in (("canned", "list"), ("--demo", "canned", "list"), ("canned", "list", "--demo")):
        done = agentconsole(*argv)
        assert done.returncode == 0, done.stderr
        assert "/thanks" in done.stdout or "thanks" in done.stdout.lower(), done.stdout
    assert sorted(p.name for p in (tmp_path / "data").iterdir() if p.suffix == ".db") == ["demo.db"]
    for argv in (("--demo", "metrics", "--since", "today"), ("--demo", "shift", "status")):
        assert agentconsole(*argv).returncode == 0
    assert not (tmp_path / "data" / "agentconsole.db").exists()
