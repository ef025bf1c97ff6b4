"""ctrl+e in a real terminal (tmux): the console gives the terminal and the keyboard to the editor, then comes back."""

from __future__ import annotations

import os
import shlex
import sys

import pytest

from tests.screens.tmux_tools import Tmux

# An interactive stand-in for vim: it owns the terminal (prints, reads a line typed on the keyboard).
EDITOR = '''
import sys
path = sys.argv[-1]
print("EDITOR RUNNING on", open(path).read().strip() or "(empty)", "- press enter", flush=True)
typed = input()
open(path, "w").write("from the real editor " + typed + "\\n")
'''


def keep_trying(tmux: Tmux, act, seen, tries: int = 10) -> None:
    """Do *act* until the screen shows *seen*: on a loaded machine a key can come before its widget has focus."""
    for _ in range(tries):
        act()
        try:
            tmux.wait_for("app", seen, timeout=3)
            return
        except AssertionError:
            continue
    tmux.wait_for("app", seen, timeout=1)


@pytest.mark.slow
def test_ctrl_e_suspends_the_console_for_the_editor_and_resumes(tmp_path):
    tmux = Tmux()
    script = tmp_path / "editor.py"
    script.write_text(EDITOR, encoding="utf-8")
    editor = f"{sys.executable} {script}"
    env = (f"AGENTCONSOLE_DATA_DIR={tmp_path / 'data'} AGENTCONSOLE_STATE_DIR={tmp_path / 'state'}"
           f" AGENTCONSOLE_CONFIG={tmp_path / 'none.toml'} TERM=xterm-256color TEXTUAL_ANIMATIONS=none"
           f" PYTHON_KEYRING_BACKEND=keyring.backends.fail.Keyring HOME={tmp_path} PATH={os.environ.get('PATH', '')}"
           f" EDITOR={shlex.quote(editor)}")
    try:
        tmux.start("app", f"env -i {env} {sys.executable} -m agentconsole --demo", 120, 36)
        tmux.wait_for("app", lambda s: "Conversations" in s and "DEMO" in s, timeout=60)
        # The first keys may come before the list has taken the focus.
        keep_trying(tmux, lambda: tmux("send-keys", "-t", "app", "r"), lambda s: "Reply on" in s)
        tmux.wait_for("app", lambda s: "Reply on" in s)
        keep_trying(tmux, lambda: tmux("send-keys", "-t", "app", "-l", "zqx"), lambda s: "zqx" in s)
        tmux("send-keys", "-t", "app", "C-e")
        rows = tmux.wait_for("app", lambda s: "EDITOR RUNNING on" in s and "zqx" in s and "press enter" in s)
        assert not any("Conversations" in row for row in rows)  # the console let go of the screen
        tmux("send-keys", "-t", "app", "-l", "typed")
        tmux("send-keys", "-t", "app", "Enter")
        rows = tmux.wait_for("app", lambda s: "from the real editor typed" in s and "Reply on" in s)
        assert any("Conversations" in row for row in rows)  # and took it back, composer and all
    finally:
        tmux.close()
