"""The canned reply picker and library screen, driven by Pilot in a tiny host app."""

from __future__ import annotations

import pytest
from textual.app import App
from textual.widgets import Input, OptionList, Static, TextArea

from agentconsole.replies.canned import CannedDraft, CannedLibrary
from agentconsole.domain.clock import FrozenClock
from agentconsole.storage.store import Store
from screens.canned.picker import CannedReplyModal, CannedScreen, Picked

DANA = {"first_name": "Dana", "name": "Dana Kim", "handle": "@dana_k", "agent_initials": "AN",
        "agent_name": "Alice Ng"}


@pytest.fixture
def library(tmp_path):
    store = Store(tmp_path / "db.sqlite", FrozenClock())
    lib = CannedLibrary(store)
    lib.install_starters()
    yield lib
    store.close()


class Host(App):
    def __init__(self, screen_factory) -> None:
        super().__init__()
        self.factory = screen_factory
        self.results: list = []

    def on_mount(self) -> None:
        self.push_screen(self.factory(), self.results.append)


async def settle(pilot) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def listed(screen, list_id: str) -> list[str]:
    option_list = screen.query_one(list_id, OptionList)
    return [str(option_list.get_option_at_index(i).prompt).split()[0] for i in range(option_list.option_count)]


def preview(screen, widget_id: str) -> str:
    return str(screen.query_one(widget_id, Static).render())


async def test_picker_suggests_for_the_last_message_and_inserts_it_filled(library):
    app = Host(lambda: CannedReplyModal(library, DANA, message="my order never arrived!!",
                                        channel="x", kind="public"))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        screen = app.screen
        names = listed(screen, "#picker-list")
        assert names[0] == "/delay" and "/sign" not in names
        shown = preview(screen, "#picker-preview")
        assert "Hi Dana, I'm so sorry your order hasn't arrived yet." in shown
        assert shown.rstrip().endswith("/280")
        await pilot.press("enter")
        await pilot.pause()
    [picked] = app.results
    assert isinstance(picked, Picked) and picked.shortcut == "delay"
    assert picked.template_id == library.by_shortcut("delay").id
    assert picked.text.startswith("Hi Dana, I'm so sorry") and picked.text.endswith("^AN")
    assert picked.gaps == ()


async def test_picker_fuzzy_search_and_arrow_keys(library):
    app = Host(lambda: CannedReplyModal(library, {"agent_initials": "AN"}, message="", channel="x",
                                        kind="public"))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press(*"tahnks")
        await pilot.pause()
        assert listed(app.screen, "#picker-list")[0] == "/thanks"
        await pilot.press("ctrl+a", "ctrl+k", *"/d")
        await pilot.pause()
        assert listed(app.screen, "#picker-list")[:2] == ["/dm", "/delay"]
        await pilot.press("down", "enter")
        await pilot.pause()
    [picked] = app.results
    assert picked.shortcut == "delay"
    assert picked.text.startswith("Hi there,")  # no first name known: the fallback


async def test_picker_marks_gaps_and_escape_closes(library):
    library.create(CannedDraft("gap", "Needs a name", "Dear {first_name}, sorry!"))
    app = Host(lambda: CannedReplyModal(library, {}, message="", query="/gap"))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        shown = preview(app.screen, "#picker-preview")
        assert "Dear ⟦first_name⟧, sorry!" in shown and "fill in {first_name} before sending" in shown
        await pilot.press("enter")
        await pilot.pause()
    [picked] = app.results
    assert [g.name for g in picked.gaps] == ["first_name"]

    app = Host(lambda: CannedReplyModal(library, {}, message="hello"))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("escape")
        await pilot.pause()
    assert app.results == [None]


async def test_picker_shows_untrusted_names_as_plain_text(library):
    hostile = {"first_name": "[bold red]Eve[/]\x1b]0;pwned\x07", "agent_initials": "AN"}
    app = Host(lambda: CannedReplyModal(library, hostile, query="/hello"))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        shown = preview(app.screen, "#picker-preview")
        assert "Hi [bold red]Eve[/]," in shown and "\x1b" not in shown


async def test_library_create_edit_duplicate_delete(library):
    app = Host(lambda: CannedScreen(library))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        assert len(listed(app.screen, "#library-list")) == 8

        await pilot.press("n")
        await pilot.pause()
        edit = app.screen
        edit.query_one("#edit-shortcut", Input).value = "refund"
        edit.query_one("#edit-name", Input).value = "Refund on its way"
        edit.query_one("#edit-tags", Input).value = "refund, money ,refund"
        edit.query_one("#edit-body", TextArea).text = "Hi {first_name|there},\nyour {refnd} is on its way."
        await pilot.pause()
        assert "line 2, column 6: unknown placeholder {refnd}" in preview(edit, "#edit-error")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is edit and library.by_shortcut("refund") is None
        body = edit.query_one("#edit-body", TextArea)
        assert body.has_focus and body.cursor_location == (1, 5)
        edit.query_one("#edit-body", TextArea).text = "Hi {first_name|there},\nyour refund is on its way."
        edit.query_one("#edit-body", TextArea).focus()
        await pilot.pause()
        await pilot.press("ctrl+s")
        await settle(pilot)
        saved = library.by_shortcut("refund")
        assert saved.tags == ("refund", "money") and saved.body.endswith("on its way.")
        assert isinstance(app.screen, CannedScreen)
        assert app.screen.query_one("#library-list", OptionList).highlighted == \
            listed(app.screen, "#library-list").index("/refund")

        await pilot.press("c")
        await settle(pilot)
        assert library.by_shortcut("refund-copy").name == "Refund on its way (copy)"

        await pilot.press("e")
        await pilot.pause()
        app.screen.query_one("#edit-shortcut", Input).value = "hello"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "already used by 'Greeting'" in preview(app.screen, "#edit-error")
        await pilot.press("escape")
        await pilot.pause()

        await pilot.press("x")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot)
        assert library.by_shortcut("refund-copy") is None
        assert len(listed(app.screen, "#library-list")) == 9


async def test_library_search_filters(library):
    app = Host(lambda: CannedScreen(library))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"sign off")
        await pilot.pause()
        assert listed(app.screen, "#library-list")[0] == "/sign"
        assert "Kind regards," in preview(app.screen, "#library-preview")
        await pilot.press("escape", "escape")
        await pilot.pause()
    assert app.results == [None]
