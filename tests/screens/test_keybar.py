"""The key line: the focused area's verbs, whole words at any width, clickable, updated as focus moves."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Input

from screens.common.keybar import KeyBar


class Box(Input):
    BINDINGS = [Binding("ctrl+s", "app.note('sent')", "Send")]


class KeysApp(App):
    AUTO_FOCUS = None
    BINDINGS = [
        Binding("r", "note('reply')", "Reply"),
        Binding("e", "note('done')", "Done"),
        Binding("x", "note('never')", "Disabled verb"),
        Binding("j", "note('down')", "Down", show=False),
        Binding("ctrl+p", "command_palette", "Commands"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.notes: list[str] = []

    def compose(self) -> ComposeResult:
        yield Box(id="box")
        yield KeyBar()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return None if parameters == ("never",) else True

    def action_note(self, what: str) -> None:
        self.notes.append(what)


def bar_text(app: App) -> str:
    return str(app.query_one(KeyBar).render())


async def test_shows_verbs_with_the_palette_on_the_right_and_follows_focus() -> None:
    app = KeysApp()
    async with app.run_test(size=(60, 6)) as pilot:
        await pilot.pause()
        line = bar_text(app)
        assert line.startswith(" r Reply  e Done  x Disabled verb ")
        assert line.endswith("▏^p Commands ") and len(line) == 60
        assert "Down" not in line and line.count("Commands") == 1
        app.query_one(Box).focus()
        await pilot.pause()
        assert bar_text(app).startswith(" ^s Send ")


async def test_narrow_width_drops_whole_verbs_never_half_a_word() -> None:
    app = KeysApp()
    async with app.run_test(size=(40, 6)) as pilot:
        await pilot.pause()
        line = bar_text(app)
        assert line.startswith(" r Reply  e Done ") and "Disabled" not in line
        assert line.rstrip().endswith("▏^p Commands")


async def test_a_click_runs_the_verb_and_a_disabled_one_rings() -> None:
    app = KeysApp()
    bells: list[int] = []
    app.bell = lambda: bells.append(1)
    async with app.run_test(size=(60, 6)) as pilot:
        await pilot.pause()
        bar = app.query_one(KeyBar)
        line = bar_text(app)
        await pilot.click(KeyBar, offset=(line.index("Done"), 0))
        await pilot.pause()
        assert app.notes == ["done"]
        await pilot.click(KeyBar, offset=(line.index("Disabled"), 0))
        await pilot.pause()
        assert app.notes == ["done"] and bells == [1]
        assert bar.hints[2].enabled is False
