"""Shell completion: what completes at each point, and bash's own completion machinery running the script."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agentconsole.cli import build_parser, main
from agentconsole.cli.completion import FILES, candidates
from agentconsole.domain.models import Channel
from agentconsole.replies.canned import CannedDraft, CannedLibrary
from agentconsole.storage.store import Store


@pytest.fixture
def workspace(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("AGENTCONSOLE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("AGENTCONSOLE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("AGENTCONSOLE_CONFIG", str(tmp_path / "config.toml"))
    (tmp_path / "data").mkdir()
    store = Store(tmp_path / "data" / "agentconsole.db")
    store.ensure_account("shop-mail", Channel.EMAIL, "email")
    store.ensure_account("shop-masto", Channel.MASTODON, "mastodon")
    library = CannedLibrary(store)
    library.create(CannedDraft("delay", "Delivery delay", "Sorry {first_name|there}, it is on its way."))
    library.create(CannedDraft("refund", "Refund", "Your refund is on its way."))
    store.close()
    return tmp_path


def complete(*words: str) -> list[str]:
    return candidates(build_parser(["--help"]), list(words))


def test_subcommands_options_and_choices_complete(workspace):
    assert complete("") == ["sync", "config", "canned", "account", "shift", "metrics", "outbox", "db", "completion",
                            "survey", "csat", "sentiment"]
    assert complete("ca") == ["canned"]
    assert complete("canned", "") == ["import", "export", "list", "show", "starters"]
    assert complete("metrics", "--") == ["--by", "--csv", "--demo", "--help", "--since"]
    assert complete("metrics", "--by", "") == ["channel", "agent"]
    assert complete("--log-level", "w") == ["warning"]
    assert complete("completion", "") == ["bash", "zsh", "fish"]
    assert "--words" not in complete("completion", "--")  # the scripts' own hook stays out of sight
    assert complete("canned", "import", "") == [FILES]
    assert complete("outbox", "decide", "12", "") == ["resend", "mark-sent", "discard"]


def test_account_names_and_canned_shortcuts_come_from_the_workspace(workspace):
    assert complete("account", "test", "") == ["shop-mail", "shop-masto"]
    assert complete("account", "remove", "shop-ma") == ["shop-mail", "shop-masto"]
    assert complete("account", "test", "shop-mail", "") == []  # one name only
    assert complete("shift", "start", "--accounts", "shop-mail,") == ["shop-mail,shop-masto"]
    assert complete("canned", "show", "") == ["delay", "refund"]
    assert complete("canned", "show", "/re") == ["refund"]


def test_completion_never_creates_a_workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTCONSOLE_DATA_DIR", str(tmp_path / "none"))
    assert complete("account", "test", "") == []
    assert not (tmp_path / "none").exists()


def test_each_shell_gets_its_script(workspace, capsys):
    for shell, needle in (("bash", "complete -F _agentconsole agentconsole"),
                          ("zsh", "compdef _agentconsole agentconsole"),
                          ("fish", "complete -c agentconsole")):
        assert main(["completion", shell]) == 0
        assert needle in capsys.readouterr().out
    assert main(["completion"]) == 2
    assert "name the shell" in capsys.readouterr().err


BASH_RUN = r'''
eval "$(agentconsole completion bash)"
ask() { COMP_WORDS=("$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); COMPREPLY=(); _agentconsole
        echo "$* => ${COMPREPLY[*]}"; }
ask agentconsole ac
ask agentconsole account test ""
ask agentconsole canned show r
ask agentconsole canned import notes/ca
ask agentconsole metrics --c
'''


@pytest.mark.slow
def test_bash_completion_runs_the_script(workspace):
    (workspace / "notes").mkdir()
    (workspace / "notes" / "canned.toml").write_text("", encoding="utf-8")
    program = shutil.which("agentconsole", path=str(Path(sys.executable).parent))
    assert program, "the agentconsole script is installed beside this Python"
    env = {**os.environ, "PATH": f"{Path(program).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(["bash", "--norc", "--noprofile", "-c", BASH_RUN], cwd=workspace, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "agentconsole ac => account",
        "agentconsole account test  => shop-mail shop-masto",
        "agentconsole canned show r => refund",
        "agentconsole canned import notes/ca => notes/canned.toml",
        "agentconsole metrics --c => --csv",
    ]


def test_canned_show_prints_the_reply_a_shortcut_names(workspace, capsys):
    assert main(["canned", "show", "/delay"]) == 0
    assert capsys.readouterr().out == "/delay · Delivery delay\n\nSorry {first_name|there}, it is on its way.\n"
    assert main(["canned", "show", "nope"]) == 1
    assert "no canned reply /nope" in capsys.readouterr().err


def _shell(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        if os.environ.get("AGENTCONSOLE_TEST_SERVERS"):
            pytest.fail(f"{name} is not installed (.ci/services/shells.sh installs it)")
        pytest.skip(f"{name} is not installed")
    return found


def _env() -> dict[str, str]:
    program = shutil.which("agentconsole", path=str(Path(sys.executable).parent))
    assert program, "the agentconsole script is installed beside this Python"
    return {**os.environ, "PATH": f"{Path(program).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


# zsh's completion system needs a terminal to run in; here its words and CURRENT are set as it sets them and
# compadd / _files (the builtins the script calls) print what they were given.
ZSH_RUN = r'''
autoload -U compinit && compinit -u -D
source <(agentconsole completion zsh)
compadd() { shift; print -r -- "${(j: :)@}" }
_files() { print -r -- "(files)" }
ask() { words=("$@"); CURRENT=$#; print -rn -- "$* => "; _agentconsole }
ask agentconsole ac
ask agentconsole account test ""
ask agentconsole canned import ""
'''


@pytest.mark.slow
def test_zsh_runs_the_script(workspace):
    done = subprocess.run([_shell("zsh"), "-f", "-c", ZSH_RUN], cwd=workspace, env=_env(), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "agentconsole ac => account",
        "agentconsole account test  => shop-mail shop-masto",
        "agentconsole canned import  => (files)",
    ]


@pytest.mark.slow
def test_fish_completes_through_its_own_machinery(workspace):
    (workspace / "notes").mkdir()
    (workspace / "notes" / "canned.toml").write_text("", encoding="utf-8")
    run = ("agentconsole completion fish | source; "
           "for line in 'agentconsole ac' 'agentconsole account test ' 'agentconsole canned show r' "
           "'agentconsole canned import notes/ca'; echo \"$line => \"(complete -C $line | string join ' '); end")
    done = subprocess.run([_shell("fish"), "--no-config", "-c", run], cwd=workspace,
                          env={**_env(), "HOME": str(workspace)}, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "agentconsole ac => account",
        "agentconsole account test  => shop-mail shop-masto",
        "agentconsole canned show r => refund",
        "agentconsole canned import notes/ca => notes/canned.toml",
    ]
