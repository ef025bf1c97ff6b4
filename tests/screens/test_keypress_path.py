"""What a keypress in the list costs: its frame comes before anything that reacts to the move, a thread
shown again is neither built nor wrapped again, and the start-up check waits for a pause in typing."""

from __future__ import annotations

import asyncio

from rich.segment import Segment

from screens.inbox.conversation_list import ConversationList
from screens.inbox.thread_view import ThreadView

from tests.screens.helpers import screen_text, settle


async def test_the_keys_frame_is_drawn_before_the_move_is_announced(seeded):
    app = seeded.app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        screen = app.screen
        listed = screen.conversations
        posted: list[tuple[int | None, int]] = []
        post = listed.post_message
        listed.post_message = lambda message: (
            posted.append((message.conversation_id, len(listed.render_timings)))
            if isinstance(message, ConversationList.Highlighted) else None, post(message))[1]
        before = len(listed.render_timings)
        await pilot.press("j")
        await settle(app, pilot)
        # The pane, the footer check and the rest hear of the move only once its frame was drawn (and
        # timed): nothing they do runs between the key and the cursor's repaint.
        assert posted == [(seeded.ids["dana"], before + 1)]
        assert screen.pane.conversation_id == seeded.ids["dana"]
        assert "Boston · Coffee person" in screen_text(app)


async def test_a_thread_shown_again_is_not_built_or_wrapped_again(seeded, monkeypatch):
    import screens.inbox.conversation_pane as pane_module

    built: list[int] = []
    thread_of = pane_module.thread_of
    monkeypatch.setattr(pane_module, "thread_of",
                        lambda data, *a: (built.append(data.conversation.id), thread_of(data, *a))[1])
    app = seeded.app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        sam, dana = seeded.ids["sam"], seeded.ids["dana"]
        await pilot.press("j")
        await settle(app, pilot)
        await pilot.press("k")
        await settle(app, pilot)
        thread = app.screen.query_one(ThreadView)
        rows, strips = thread._rows, thread._strips
        assert strips  # Sam's thread is drawn
        await pilot.press("j")
        await settle(app, pilot)
        await pilot.press("k")
        await settle(app, pilot)
        assert built.count(sam) == 1 and built.count(dana) == 1
        assert thread._rows is rows and thread._strips is strips  # rows and strips back, not made again
        assert "Is the store open on Sunday?" in screen_text(app)
        # A new message is a different thread: built again, and shown.
        from agentconsole.domain.models import Channel, Direction, InboundMessage, Kind, Person

        account = seeded.store.ensure_account("brand-fb", Channel.FACEBOOK, "demo")
        seeded.store.ingest(account, [InboundMessage("f2", "t-sam", Kind.DM, Person("u2", "sam.ortiz", "Sam Ortiz"),
                                                     "and on Monday?", seeded.clock.now(), Direction.IN)], "c2")
        app.screen.refresh_pane()
        await settle(app, pilot)
        assert built.count(sam) == 2
        assert "and on Monday?" in screen_text(app)


async def test_a_theme_change_recolours_the_kept_thread(seeded):
    app = seeded.app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        thread = app.screen.query_one(ThreadView)
        thread.render_line(0)
        before = thread.rich_style.bgcolor
        app.theme = "textual-light" if app.current_theme.dark else "textual-dark"
        await settle(app, pilot)
        after = thread.rich_style.bgcolor
        assert after != before
        drawn = thread.render_line(0)
        assert {s.style.bgcolor for s in drawn if isinstance(s, Segment) and s.style} == {after}


async def test_the_database_check_waits_for_a_pause_in_the_keys(seeded, monkeypatch):
    import screens.app as app_module

    # The mount's own timer never fires here: on a loaded machine the app can take longer than any short
    # delay to hand over its first key, and a check begun before anybody typed rightly runs to its end.
    # The test starts that timer itself once the keys have begun.
    monkeypatch.setattr(app_module, "CHECK_DELAY", 3600)
    # a pause this long never falls between keys sent 0.1 s apart, even on a loaded machine (at 0.5 s a
    # slow press left a gap in which the small check ran to its end)
    monkeypatch.setattr(app_module, "CHECK_QUIET", 3.0)
    app = seeded.app()
    finished: list[bool | None] = []  # each run's outcome: None when a key stopped it
    check = app.session.check_database
    app.session.check_database = lambda: (found := check(), finished.append(found))[0]
    async with app.run_test(size=(120, 36)) as pilot:
        for _ in range(15):  # keys every 0.1 s, the check due from the second: no pause of 3 s yet
            await pilot.press("j" if _ % 2 else "k")
            if _ == 0:
                app.set_timer(0.3, app._check_when_quiet)  # what the mount's timer does after CHECK_DELAY
            await asyncio.sleep(0.1)
        assert False not in finished  # not run, or stopped by the next key
        for _ in range(300):  # then a pause: the check runs to its end
            await asyncio.sleep(0.05)
            if False in finished:
                break
        await settle(app, pilot)
        assert finished[-1] is False and finished.count(False) == 1


async def test_the_database_check_runs_at_once_when_nobody_types(seeded, tmp_path, monkeypatch):
    import screens.app as app_module

    monkeypatch.setattr(app_module, "CHECK_DELAY", 0.05)
    app = seeded.app()
    async with app.run_test(size=(120, 36)) as pilot:
        for _ in range(60):
            await asyncio.sleep(0.05)
            if list((tmp_path / "backups").glob("*-daily.db")):
                break
        await settle(app, pilot)
        assert list((tmp_path / "backups").glob("*-daily.db"))  # well before CHECK_QUIET after the start


async def test_quitting_stops_a_running_database_check(seeded, monkeypatch):
    """The process's exit waits for the check's thread, which at nice 19 on a 300k workspace could take
    seconds (minutes on a loaded machine): quitting stops it, and it runs again at the next start."""
    import threading

    import screens.app as app_module

    monkeypatch.setattr(app_module, "CHECK_DELAY", 3600)
    app = seeded.app()
    started, outcome = threading.Event(), []

    def slow_check() -> bool | None:  # a pass over a big file: only an interrupt ends it early
        started.set()
        outcome.append(app.session.store._interrupt().wait(30))
        return None

    app.session.check_database = slow_check
    async with app.run_test(size=(120, 36)) as pilot:
        app.check_database()
        assert await asyncio.to_thread(started.wait, 10)
        app.exit()
        await pilot.pause()
    for _ in range(200):
        if outcome:
            break
        await asyncio.sleep(0.05)
    assert outcome == [True]  # stopped by the exit, not by its own time running out


async def test_the_benchmarks_bare_list_repaints_its_cursor_once_scrolled():
    """The floor the keypress is measured against draws each move, also below its first page (it used to
    refresh a line off screen there, so its moves cost nothing)."""
    from benchmarks.inapp import BareList, BareListApp

    app = BareListApp(1000)
    async with app.run_test(size=(80, 20)) as pilot:
        bare = app.query_one(BareList)
        bare.focus()
        await pilot.press("ctrl+d", "ctrl+d", "ctrl+d")  # scrolled: the cursor is past the first page
        await pilot.pause()
        assert bare.scroll_y > 0
        repainted: list[int] = []
        render_line = bare.render_line
        bare.render_line = lambda y: (repainted.append(y), render_line(y))[1]
        cursor = bare.cursor
        await pilot.press("k")  # within the page: only the two rows the cursor leaves and enters
        await pilot.pause()
        top = int(bare.scroll_y)
        assert top > 0 and sorted(set(repainted)) == [cursor - 1 - top, cursor - top]


async def test_a_key_stops_a_running_check_which_runs_again_after_a_pause(seeded, tmp_path, monkeypatch):
    import screens.app as app_module
    from agentconsole.storage import integrity

    monkeypatch.setattr(app_module, "CHECK_DELAY", 0.05)
    monkeypatch.setattr(app_module, "CHECK_QUIET", 0.4)
    started, stopped = asyncio.Event(), []
    quick_check = integrity.quick_check
    loop = asyncio.get_running_loop()

    def slow_check(conn, full=False):  # a big workspace's check: seconds, unless SQLite is told to stop
        if not stopped:
            # "started" is told from inside the running statement: an interrupt that comes before a
            # statement runs is dropped by SQLite, and the check's nice-19 thread can start late
            conn.create_function("running", 1, lambda i: (i == 1 and loop.call_soon_threadsafe(started.set), i)[1])
            try:
                conn.execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT running(i) + 1 FROM n"
                             " WHERE i < 20000000) SELECT count(*) FROM n").fetchall()
            except Exception as exc:  # the interrupt, as PRAGMA quick_check would get it
                stopped.append(str(exc))
                raise integrity.CheckInterrupted("quick_check") from exc
        return quick_check(conn, full)

    monkeypatch.setattr(integrity, "quick_check", slow_check)
    app = seeded.app()
    async with app.run_test(size=(120, 36)) as pilot:
        await asyncio.wait_for(started.wait(), 20)
        await pilot.press("j")  # the agent starts typing while the check runs
        for _ in range(200):  # the check's thread runs at nice 19: on a busy machine it sees the stop late
            await asyncio.sleep(0.05)
            if stopped:
                break
        assert stopped == ["interrupted"]
        assert seeded.store.damaged == ""  # stopped is not damaged
        assert not list((tmp_path / "backups").glob("*-daily.db"))
        for _ in range(400):  # after a pause of CHECK_QUIET it runs again, to the end, and backs up
            await asyncio.sleep(0.05)
            if list((tmp_path / "backups").glob("*-daily.db")):
                break
        await settle(app, pilot)
        assert list((tmp_path / "backups").glob("*-daily.db"))
        assert seeded.store.damaged == ""


async def test_the_key_line_and_the_pane_hand_back_their_lines_until_they_change(seeded):
    from textual.geometry import Region

    from screens.common.keybar import KeyBar
    from screens.inbox.conversation_pane import ConversationPane
    from screens.inbox.header import ViewList

    def lines(widget):
        return widget.render_lines(Region(0, 0, widget.region.width, widget.region.height))

    app = seeded.app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        keybar, pane = app.screen.query_one(KeyBar), app.screen.query_one(ConversationPane)
        views, panes = app.screen.query_one(ViewList), app.screen.query_one("#panes")
        bar, border, counts, behind = lines(keybar), lines(pane), lines(views), lines(panes)
        await pilot.press("j")  # a move: neither the key line, the pane's border nor the views changed
        await settle(app, pilot)
        assert lines(keybar) is bar and lines(pane) is border and lines(views) is counts
        assert lines(panes) is behind
        await pilot.press("l")  # the next view: the views list highlights it
        await settle(app, pilot)
        assert [[s.style for s in strip] for strip in lines(views)] != [[s.style for s in strip] for strip in counts]
        await pilot.press("h")
        await settle(app, pilot)
        await pilot.press("enter")  # the thread takes focus: the pane's border takes the focus colour
        await settle(app, pilot)
        focused = lines(pane)
        assert focused is not border
        assert [s.style for s in focused[0]] != [s.style for s in border[0]]
        assert lines(pane) is focused
        await pilot.press("escape", "r")  # the composer: its verbs in the key line
        await settle(app, pilot)
        shown = lines(keybar)
        assert shown is not bar and "Send" in shown[0].text and "Send" not in bar[0].text


async def test_rows_read_again_repaint_only_the_lines_that_changed(seeded):
    app = seeded.app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        listed = app.screen.conversations
        drawn: list[int] = []
        render_line = listed.render_line
        listed.render_line = lambda y: (drawn.append(y), render_line(y))[1]
        ids = tuple(listed.ids)
        same = {i: listed._rows[i] for i in ids}
        listed.post_message(ConversationList._RowsLoaded(dict(same), ids))  # read again, nothing changed
        await settle(app, pilot)
        assert drawn == []
        renamed = dict(same)
        renamed[ids[2]] = same[ids[2]]._replace(last_preview="a new message")
        listed.post_message(ConversationList._RowsLoaded(renamed, ids))
        await settle(app, pilot)
        assert set(drawn) == {2}  # its line alone (the list's first row is line 0: nothing scrolled)
        assert "a new message" in screen_text(app)
