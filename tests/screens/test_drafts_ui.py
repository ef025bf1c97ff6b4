"""Drafts in the inbox: kept in the store as they are typed and at quit, offered again at the next start,
dropped once sent; quit asks only when they cannot be kept."""

from __future__ import annotations

from textual.widgets import TextArea

from screens.common.modals import ConfirmModal

from tests.screens.helpers import screen_text, settle

SIZE = (120, 36)


async def test_quit_keeps_every_draft_for_the_next_start_without_asking(seeded):
    dana, li = seeded.ids["dana"], seeded.ids["li"]
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.screen.go_to(dana)
        await settle(app, pilot)
        await pilot.press("r", "h", "i", "escape")  # closed: a draft
        await settle(app, pilot)
        app.screen.go_to(li)
        await settle(app, pilot)
        await pilot.press("r", *"on it")  # still open when q comes (ctrl+q: q is a letter here)
        await settle(app, pilot)
        await pilot.press("ctrl+q")
        await settle(app, pilot)
        assert not isinstance(app.screen, ConfirmModal)
    assert app.return_code == 0
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        for conversation, text in ((dana, "hi"), (li, "on it")):
            app.screen.go_to(conversation)
            await settle(app, pilot)
            await pilot.press("r")
            await settle(app, pilot)
            assert app.screen.query_one(TextArea).text == text
            await pilot.press("escape")
            await settle(app, pilot)


async def test_quit_asks_when_the_draft_cannot_be_kept(seeded, monkeypatch):
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        monkeypatch.setattr(app.screen, "_store_draft", lambda row: None)  # the close's write not run yet
        await pilot.press("r", "h", "i", "escape")
        await settle(app, pilot)
        monkeypatch.setattr(app.session, "keep_draft", cannot_keep)
        await pilot.press("q")
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmModal)
        assert "unsent draft" in screen_text(app)
        await pilot.press("n")
        await settle(app, pilot)
        assert app.is_running
        await pilot.press("q", "y")
        await settle(app, pilot)
    assert app.return_code == 0


async def test_a_draft_is_written_while_typing_and_dropped_once_sent(seeded):
    dana = seeded.ids["dana"]
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.screen.go_to(dana)
        await settle(app, pilot)
        await pilot.press("r", *"Hi Dana, your parcel left today")
        await pilot.pause(1.5)  # no escape, no quit: what a crash now would leave
        await settle(app, pilot)
        assert [(d.conversation_id, d.mode, d.text) for d in app.session.drafts()] == [
            (dana, "reply", "Hi Dana, your parcel left today")]
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        await pilot.pause(0.3)
        await settle(app, pilot)
        assert app.session.drafts() == []


async def test_quit_leaves_alone_what_another_console_of_the_agent_kept_or_sent_since(seeded, tmp_path):
    """Two consoles of one agent: the one quitting writes only the drafts it changed, so it neither
    overwrites a newer draft the other kept nor brings back one the other sent."""
    from agentconsole.domain.rows import DraftRow
    from agentconsole.storage.store import Store

    dana, li, sam = seeded.ids["dana"], seeded.ids["li"], seeded.ids["sam"]
    for conversation, text in ((dana, "v1"), (li, "the old answer"), (sam, "draft here")):
        seeded.store.keep_draft(seeded.agent_id, DraftRow(conversation, "reply", text, None, None))
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        other = Store(seeded.store.path, seeded.clock)  # the other console, on the same file
        other.keep_draft(seeded.agent_id, DraftRow(dana, "reply", "v2, typed over there", None, None))
        other.drop_draft(seeded.agent_id, li, "reply")  # sent over there
        other.close()
        app.screen.go_to(dana)
        await settle(app, pilot)
        await pilot.press("r")  # opened with what this console loaded, and closed untouched
        await settle(app, pilot)
        assert app.screen.query_one(TextArea).text == "v1"
        await pilot.press("escape")
        await settle(app, pilot)
        app.screen.go_to(sam)
        await settle(app, pilot)
        await pilot.press("r", "end", *" and more")  # changed here: this one is written
        await settle(app, pilot)
        await pilot.press("ctrl+q")
        await settle(app, pilot)
    assert app.return_code == 0
    assert sorted((d.conversation_id, d.text) for d in seeded.store.drafts_of(seeded.agent_id)) == sorted(
        [(dana, "v2, typed over there"), (sam, "draft here and more")])


def row_of(app, name: str) -> str:
    """The conversation list's part of the screen line that shows *name*."""
    line = next(line for line in screen_text(app).splitlines() if name in line and line.count("│") >= 4)
    return line.split("│")[3]


async def test_the_list_marks_a_conversation_that_holds_a_draft_until_it_is_sent(seeded):
    from agentconsole.domain.rows import DraftRow

    dana, sam = seeded.ids["dana"], seeded.ids["sam"]
    seeded.store.keep_draft(seeded.agent_id, DraftRow(sam, "note", "ask the warehouse", None, None))
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert "✐" in row_of(app, "Sam Ortiz")  # kept by an earlier session: a note
        assert "✐" not in row_of(app, "Dana Kim")
        app.screen.go_to(dana)
        await settle(app, pilot)
        await pilot.press("r", *"Hi Dana", "escape")
        await settle(app, pilot)
        assert "✐" in row_of(app, "Dana Kim")
        await pilot.press("r", "ctrl+s")
        await settle(app, pilot)
        assert "✐" not in row_of(app, "Dana Kim")
        assert "✐" in row_of(app, "Sam Ortiz")


async def test_a_hang_up_that_cannot_keep_the_open_draft_says_it_was_lost(seeded, monkeypatch, caplog):
    """SIGHUP/SIGTERM with nobody to ask: the close goes on, and the log and exit status say what was lost."""
    import threading

    armed = []

    class Watchdog:  # the real one would end this test process 10 s later
        daemon = False

        def __init__(self, interval, function, args=()):
            armed.append(interval)

        def start(self) -> None:
            pass

    monkeypatch.setattr(threading, "Timer", Watchdog)
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        monkeypatch.setattr(app.session, "keep_draft", cannot_keep)  # the disk is full from here on
        await pilot.press("r", *"on its way")
        await settle(app, pilot)
        app._signalled("SIGHUP")
        await settle(app, pilot)
    assert app.return_code == 1 and app.failure == "closed on SIGHUP (an unsent draft was lost)"
    assert "closing on SIGHUP (an unsent draft was lost)" in caplog.text
    assert "the drafts could not be kept" in caplog.text and armed == [10.0]


def cannot_keep(row) -> None:
    raise OSError("No space left on device")


async def test_quit_right_after_a_send_does_not_leave_its_draft_for_the_next_start(seeded, monkeypatch):
    dana = seeded.ids["dana"]
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.screen.go_to(dana)
        await settle(app, pilot)
        await pilot.press("r", *"Hi Dana", "escape")  # kept
        await settle(app, pilot)
        assert [d.text for d in seeded.store.drafts_of(seeded.agent_id)] == ["Hi Dana"]
        monkeypatch.setattr(app.screen, "_drop_draft", lambda conversation_id, mode: None)  # not run yet
        await pilot.press("r", "ctrl+s", "ctrl+q")
        await settle(app, pilot)
    assert seeded.store.drafts_of(seeded.agent_id) == []
