"""ctrl+e hands the draft to a scripted $EDITOR and takes back what it wrote, checked by the send guard."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest
from textual.widgets import TextArea

from agentconsole.config import Config
from agentconsole.editing import EditorError, edit, editor_command

from tests.screens.helpers import screen_text, settle

SIZE = (120, 36)

# The scripted editor: argv[1] is what to do, the last argument the draft's file (as a real editor gets it).
EDITOR = '''
import os, sys
how, path = sys.argv[1], sys.argv[-1]
text = open(path, encoding="utf-8").read()
with open(os.environ["EDITOR_SEEN"], "w", encoding="utf-8") as seen:
    seen.write(path + "\\n" + text)
if how == "fail":
    open(path, "w", encoding="utf-8").write("half-written junk")
    sys.exit(3)
if how == "append":
    open(path, "w", encoding="utf-8").write(text.rstrip("\\n") + " and thanks for waiting\\n")
if how == "long":
    open(path, "w", encoding="utf-8").write("y" * 300 + "\\n")
if how == "escape":
    open(path, "w", encoding="utf-8").write("hi \\x1b[2Jthere\\n")
'''


@pytest.fixture
def scripted_editor(tmp_path, monkeypatch):
    script = tmp_path / "editor.py"
    script.write_text(EDITOR, encoding="utf-8")
    monkeypatch.setenv("EDITOR_SEEN", str(tmp_path / "seen.txt"))

    def use(how: str) -> None:
        monkeypatch.delenv("VISUAL", raising=False)
        monkeypatch.setenv("EDITOR", f"{shlex.quote(sys.executable)} {shlex.quote(str(script))} {how}")
    return use


def composer_status(app) -> str:
    return str(app.screen.query_one("#composer-status").render())


def test_config_editor_comes_first_then_visual_then_editor():
    env = {"VISUAL": "code --wait", "EDITOR": "vi"}
    assert editor_command("nvim -c 'set tw=72'", env) == ["nvim", "-c", "set tw=72"]
    assert editor_command("", env) == ["code", "--wait"]
    assert editor_command("", {"EDITOR": "vi"}) == ["vi"]
    with pytest.raises(EditorError, match="no editor is set"):
        editor_command("  ", {})
    with pytest.raises(EditorError, match="not a command line"):
        editor_command("vim 'unclosed", {})


def test_a_missing_editor_says_so(tmp_path):
    with pytest.raises(EditorError, match="was not found"):
        edit("draft", [str(tmp_path / "no-such-editor")])


async def test_ctrl_e_round_trips_the_reply_draft(seeded, scripted_editor):
    scripted_editor("append")
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("j", "r")  # Dana, X public
        await pilot.press(*"Sorry Dana")
        await pilot.press("ctrl+e")
        await settle(app, pilot)
        area = app.screen.query_one(TextArea)
        assert area.text == "Sorry Dana and thanks for waiting"
        assert area.has_focus
        assert "33/280" in screen_text(app)
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        sent = seeded.store.conn.execute("SELECT text FROM outbox").fetchall()
        assert [row[0] for row in sent] == ["Sorry Dana and thanks for waiting"]


async def test_an_over_length_result_is_blocked_on_return(seeded, scripted_editor):
    scripted_editor("long")
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("j", "r", "h", "i", "ctrl+e")
        await settle(app, pilot)
        assert app.screen.query_one(TextArea).text == "y" * 300
        assert "20 over the X limit (300/280 characters)" in composer_status(app)  # before any ctrl+s
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert seeded.store.conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0


async def test_a_failing_editor_leaves_the_draft_untouched(seeded, scripted_editor, tmp_path):
    scripted_editor("fail")
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("c", *"call back", "ctrl+e")  # the note composer
        await settle(app, pilot)
        assert app.screen.query_one(TextArea).text == "call back"
        told = [n.message for n in app._notifications]
        assert any("ended with status 3; the draft is unchanged" in m for m in told), told


async def test_the_editor_gets_the_draft_and_what_comes_back_is_sanitised(seeded, scripted_editor, tmp_path,
                                                                         monkeypatch):
    import tempfile

    scripted_editor("escape")
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("c", *"first words", "ctrl+e")
        await settle(app, pilot)
        assert app.screen.query_one(TextArea).text == "hi there"  # the editor's escape never reaches the screen
    where, text = (tmp_path / "seen.txt").read_text(encoding="utf-8").split("\n", 1)
    assert text == "first words\n"
    assert Path(where).parent.parent == tmp_path / "tmp"
    assert list((tmp_path / "tmp").iterdir()) == []  # the private folder went with the draft in it


async def test_config_editor_wins_over_the_environment(seeded, scripted_editor, tmp_path):
    scripted_editor("fail")  # $EDITOR would fail; the configured one appends
    script = tmp_path / "editor.py"
    app = seeded.app(config=Config(timezone="Europe/Berlin",
                                   editor=f"{shlex.quote(sys.executable)} {shlex.quote(str(script))} append"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("c", *"noted", "ctrl+e")
        await settle(app, pilot)
        assert app.screen.query_one(TextArea).text == "noted and thanks for waiting"


async def test_ctrl_e_in_the_canned_editor_fills_the_body_and_checks_it(seeded, scripted_editor, tmp_path):
    from screens.canned.editor import CannedEditModal

    scripted_editor("append")
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.push_screen(CannedEditModal(None, lambda draft: 1))
        await settle(app, pilot)
        body = app.screen.query_one("#edit-body", TextArea)
        body.load_text("Hi {first_name")
        body.focus()
        await pilot.press("ctrl+e")
        await settle(app, pilot)
        assert body.text == "Hi {first_name and thanks for waiting"
        assert "body" in str(app.screen.query_one("#edit-error").render())  # the placeholder check ran
