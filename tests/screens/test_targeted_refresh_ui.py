"""The agent's own actions and an ingested message refresh only what they changed: the rows, the order
and the counts on screen match a full read, and the full reload (the whole id list, every count) never runs."""

from __future__ import annotations

import time

import pytest

from agentconsole.domain.models import Channel, InboundMessage, Kind, Person
from agentconsole.response.rule import Order
from agentconsole.sync.states import EngineEvent, EventKind

from screens.inbox.header import ViewList
from screens.inbox.loading import InboxLoading

from tests.screens.helpers import screen_text, settle

SIZE = (120, 36)


class Reads:
    """Counts the full-reload paths: reload(), the whole id list of a view, every view counted again."""

    def __init__(self, monkeypatch, seeded, app) -> None:
        self.reloads = self.full_ids = self.recounts = self.fronts = 0
        reload, ids, counts = InboxLoading.reload, seeded.store.conversation_ids, app.session.view_counts
        self.read_in_full = ids  # for the test's own check, uncounted
        front = app.session.refreshed_list

        def reloaded(screen):
            self.reloads += 1
            reload(screen)

        def read_ids(view="all", agent_id=None, limit=None, *args, **kwargs):
            self.full_ids += limit is None
            return ids(view, agent_id, limit, *args, **kwargs)

        def counted(changed=None):
            self.recounts += changed is None
            return counts(changed)

        def fronted(*args, **kwargs):
            self.fronts += 1
            return front(*args, **kwargs)

        monkeypatch.setattr(InboxLoading, "reload", reloaded)
        monkeypatch.setattr(seeded.store, "conversation_ids", read_ids)
        monkeypatch.setattr(app.session, "view_counts", counted)
        monkeypatch.setattr(app.session, "refreshed_list", fronted)

    def assert_no_full_read(self) -> None:
        assert (self.reloads, self.full_ids, self.recounts) == (0, 0, 0)


def assert_as_read_in_full(app, seeded, reads: Reads) -> None:
    """The list's ids and the view counts on screen are what reading everything again gives."""
    session = app.session
    shown = list(app.screen.conversations.ids)
    assert shown == list(reads.read_in_full(
        "all", seeded.agent_id, None, session.response_rule().order_key(seeded.clock.now(), Order.URGENCY)))
    assert app.screen.query_one(ViewList).counts == seeded.store.view_counts(seeded.agent_id)
    waiting = seeded.store.view_counts(seeded.agent_id)["waiting"]
    assert f"Waiting {waiting}" in screen_text(app)


@pytest.fixture(autouse=True)
def _no_away_replies(monkeypatch):
    from screens.app import AgentConsoleApp

    monkeypatch.setattr(AgentConsoleApp, "send_away_replies", lambda self: None)


async def test_done_and_reopen_move_the_row_and_the_counts_without_a_full_reload(seeded, monkeypatch):
    app = seeded.app()
    dana = seeded.ids["dana"]
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        reads = Reads(monkeypatch, seeded, app)
        app.screen.conversations.select_id(dana)
        await settle(app, pilot)
        waiting_before = seeded.store.view_counts(seeded.agent_id)["waiting"]
        await pilot.press("e")
        await settle(app, pilot)
        assert seeded.store.conversation(dana).status == "done"
        assert "done X     Dana Kim" in screen_text(app)
        assert app.screen.conversations.selected_id == dana  # the cursor followed her to her new place
        assert app.screen.query_one(ViewList).counts["waiting"] == waiting_before - 1
        assert_as_read_in_full(app, seeded, reads)
        await pilot.press("e")
        await settle(app, pilot)
        assert seeded.store.conversation(dana).status == "open"
        assert_as_read_in_full(app, seeded, reads)
        assert reads.fronts >= 2  # each action placed its row by the targeted path
        reads.assert_no_full_read()


async def test_assign_shows_the_owner_and_moves_mine_without_a_full_reload(seeded, monkeypatch):
    app = seeded.app()
    sam = seeded.ids["sam"]
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        reads = Reads(monkeypatch, seeded, app)
        app.screen.conversations.select_id(sam)
        await settle(app, pilot)
        await pilot.press("a")
        await settle(app, pilot)
        assert seeded.store.conversation(sam).assignee_id == seeded.agent_id
        assert "FB dm (AN) Sam Or" in screen_text(app)
        assert app.screen.query_one(ViewList).counts["mine"] == 1
        assert_as_read_in_full(app, seeded, reads)
        reads.assert_no_full_read()


async def test_a_note_rereads_only_its_row_and_pane(seeded, monkeypatch):
    app = seeded.app()
    li = seeded.ids["li"]
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.screen.conversations.select_id(li)
        await pilot.press("enter")
        await settle(app, pilot)
        await pilot.press("escape")
        reads = Reads(monkeypatch, seeded, app)
        app.session.add_note(li, "called them back")  # as the note composer's worker does
        await settle(app, pilot)
        assert "called them back" in screen_text(app)
        assert reads.fronts == 0  # a note moves no row: the list is not touched
        reads.assert_no_full_read()


async def test_an_ingested_message_comes_in_place_with_its_counts_without_a_full_reload(seeded, monkeypatch):
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        on = app.screen.conversations.selected_id
        reads = Reads(monkeypatch, seeded, app)
        account = seeded.store.ensure_account("brand-x", Channel.X, "demo")
        bsky = seeded.store.ensure_account("brand-bsky", Channel.BLUESKY, "demo")
        # A customer waiting three hours on X (an hour's target) goes first; Mo reopens her done post.
        report = seeded.store.ingest(account, [InboundMessage(
            "x9", "t-new", Kind.PUBLIC, Person("u9", "@newbie", "Newbie"), "hello from far back",
            seeded.clock.now() - 3 * 3600)])
        again = seeded.store.ingest(bsky, [InboundMessage(
            "b9", "t-mo", Kind.PUBLIC, Person("u5", "@mo.bsky.social", "Mo"), "one more thing",
            seeded.clock.now() - 60)])
        assert again.conversation_ids == (seeded.ids["mo"],) or list(again.conversation_ids) == [seeded.ids["mo"]]
        app.engine_event(EngineEvent(EventKind.INGESTED, account,
                                     (*report.conversation_ids, *again.conversation_ids)))
        await settle(app, pilot)
        new = report.conversation_ids[0]
        assert app.screen.conversations.ids[0] == new and app.screen.conversations.selected_id == on
        assert "Newbie" in screen_text(app)
        assert_as_read_in_full(app, seeded, reads)
        assert reads.fronts >= 1
        reads.assert_no_full_read()


async def test_a_change_too_big_to_name_still_reloads_everything(seeded, monkeypatch):
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        reads = Reads(monkeypatch, seeded, app)
        app.engine_event(EngineEvent(EventKind.CHANGED, None, ()))  # e.g. a shift hand-off
        await settle(app, pilot)
        assert reads.reloads == 1 and reads.full_ids >= 1 and reads.recounts == 1


def assert_filtered_as_read_in_full(app, seeded, reads: Reads) -> None:
    """The filtered list on screen is what reading the filtered view again in full gives."""
    session, narrow = app.session, app.screen.narrow
    assert not narrow.empty
    key = session.response_rule().order_key(seeded.clock.now(), Order.URGENCY)
    assert list(app.screen.conversations.ids) == list(reads.read_in_full("all", seeded.agent_id, None, key, narrow))
    assert app.screen.query_one(ViewList).counts == seeded.store.view_counts(seeded.agent_id)


async def test_the_filtered_view_refreshes_its_changed_rows_without_a_full_reload(seeded, monkeypatch):
    app = seeded.app()
    dana = seeded.ids["dana"]
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("backslash")
        await settle(app, pilot)
        await pilot.press("x", "enter")  # X only
        await settle(app, pilot)
        reads = Reads(monkeypatch, seeded, app)
        assert dana in set(app.screen.conversations.ids)
        app.screen.conversations.select_id(dana)
        await settle(app, pilot)
        await pilot.press("e")
        await settle(app, pilot)
        assert seeded.store.conversation(dana).status == "done"
        assert app.screen.conversations.selected_id == dana
        assert_filtered_as_read_in_full(app, seeded, reads)
        # A new X post comes into the filtered list; a Bluesky one does not.
        x = seeded.store.ensure_account("brand-x", Channel.X, "demo")
        bsky = seeded.store.ensure_account("brand-bsky", Channel.BLUESKY, "demo")
        on_x = seeded.store.ingest(x, [InboundMessage(
            "x10", "t-x10", Kind.PUBLIC, Person("u10", "@filtered", "Filtered In"), "hello on x",
            seeded.clock.now() - 2 * 3600)])
        on_bsky = seeded.store.ingest(bsky, [InboundMessage(
            "b10", "t-b10", Kind.PUBLIC, Person("u11", "@other.bsky.social", "Filtered Out"), "hello on bluesky",
            seeded.clock.now() - 3 * 3600)])
        app.engine_event(EngineEvent(EventKind.INGESTED, x, (*on_x.conversation_ids, *on_bsky.conversation_ids)))
        await settle(app, pilot)
        shown = set(app.screen.conversations.ids)
        assert on_x.conversation_ids[0] in shown and on_bsky.conversation_ids[0] not in shown
        assert "Filtered In" in screen_text(app) and "Filtered Out" not in screen_text(app)
        assert_filtered_as_read_in_full(app, seeded, reads)
        assert reads.fronts >= 2
        reads.assert_no_full_read()


async def test_escalating_lands_in_the_new_dm_without_a_full_reload(seeded, monkeypatch):
    from textual.widgets import TextArea

    from screens.escalation.dialogs import EscalateModal

    from tests.screens.helpers import wait_until as until
    from tests.screens.test_features import engine_for

    engine, _connectors = engine_for(seeded)
    app = seeded.app(engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        reads = Reads(monkeypatch, seeded, app)
        dana = seeded.ids["dana"]
        placed = app.session.refreshed_list

        def slow(*args, **kwargs):  # as in a big workspace: the DM comes into the list after the jump
            time.sleep(0.3)
            return placed(*args, **kwargs)

        monkeypatch.setattr(app.session, "refreshed_list", slow)
        app.screen.conversations.select_id(dana)
        await settle(app, pilot)
        await pilot.press("d")
        await until(app, pilot, lambda: isinstance(app.screen, EscalateModal))
        await pilot.press("ctrl+s")
        await until(app, pilot, lambda: app.screen.query_one("#composer-text", TextArea).has_focus)
        dm = seeded.store.conversation(dana).linked_id
        assert dm is not None and dm > max(seeded.ids.values())
        assert app.screen.pane.conversation_id == dm
        await until(app, pilot, lambda: dm in set(app.screen.conversations.ids))
        assert app.screen.conversations.selected_id == dm and dm in set(app.screen.conversations.ids)
        await pilot.press("escape")
        await settle(app, pilot)
        assert_as_read_in_full(app, seeded, reads)
        reads.assert_no_full_read()


async def test_the_minute_re_sort_puts_the_waits_in_order_from_memory_or_reads_nothing(seeded, monkeypatch):
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        reads = Reads(monkeypatch, seeded, app)
        seeded.clock.advance(20 * 60)
        app.screen.resort()  # by urgency an hour's target and an email's day gain on each other
        await settle(app, pilot)
        assert_as_read_in_full(app, seeded, reads)
        reads.assert_no_full_read()
        await pilot.press("o")  # the longest wait first and no business hours: time never reorders
        await settle(app, pilot)
        reads.full_ids = 0
        before = app.screen.conversations.ids
        seeded.clock.advance(60)
        app.screen.resort()
        await settle(app, pilot)
        assert app.screen.conversations.ids is before  # nothing was put anywhere
        reads.assert_no_full_read()


async def test_a_list_read_for_the_order_before_o_never_lands_after_the_new_one(seeded):
    """A thread worker is not stopped when `o` starts the next read: its list, read in the old order, can
    land after the new one; the screen keeps the order its title says."""
    import threading

    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        screen, session = app.screen, app.session
        real, held = session.conversation_ids, threading.Event()
        assert list(real("all", Order.URGENCY)) != list(real("all", Order.LONGEST))  # the orders differ here

        def slow(view, order, limit=None, narrow=None):
            ids = real(view, order, limit, narrow)
            if order is Order.URGENCY and limit is None:
                held.wait(10)  # the whole list in the old order, held up until after the new one landed
            return ids

        session.conversation_ids = slow
        screen.load_ids("all")
        await pilot.pause(0.2)
        await pilot.press("o")
        await settle(app, pilot)
        assert list(screen.conversations.ids) == list(real("all", Order.LONGEST))
        held.set()
        await settle(app, pilot)
        await pilot.pause(0.2)
        assert screen.order is Order.LONGEST and "longest wait first" in screen_text(app)
        assert list(screen.conversations.ids) == list(real("all", Order.LONGEST))


async def test_the_wait_line_read_for_the_order_before_o_never_lands_after_the_new_one(seeded):
    import threading

    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        screen, session = app.screen, app.session
        real, held = session.wait_summary, threading.Event()
        assert "most urgent" in screen_text(app)

        def slow(order):
            summary = real(order)
            if order is Order.URGENCY:
                held.wait(10)  # the urgent wait, held up until after the longest wait's line landed
            return summary

        session.wait_summary = slow
        screen.load_wait()
        await pilot.pause(0.2)
        await pilot.press("o")
        await settle(app, pilot)
        held.set()
        await settle(app, pilot)
        await pilot.pause(0.2)
        text = screen_text(app)
        assert "oldest 50m (Facebook)" in text and "most urgent" not in text.split("\n")[2]
