"""Pilot walks through the console: move, open, done/reopen, assign, note, views, search, help, palette."""

from __future__ import annotations

from textual.command import CommandPalette
from textual.widgets import Input, TextArea

from screens.inbox.conversation_list import ConversationList
from screens.common.modals import HelpScreen, SearchModal

from tests.screens.helpers import screen_text, settle

SIZE = (120, 36)


def composer_status(app) -> str:
    return str(app.screen.query_one("#composer-status").render())


def row_line(text: str, needle: str) -> str:
    return next(line for line in text.splitlines() if needle in line)


async def test_list_is_sorted_by_longest_wait_and_moves(seeded):
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        ids = list(app.screen.conversations.ids)
        # Most urgent first: the share of each one's own target used (Mal's 5m of an hour on X comes
        # before J. Li's 11m of a day-long email target).
        assert ids[:5] == [seeded.ids[k] for k in ("sam", "dana", "long", "mal", "li")]
        text = screen_text(app)
        assert "Waiting 5 · most urgent 50m (Facebook) · 0 over target" in text
        assert "most urgent first · o" in text
        await pilot.press("o")  # the plain longest wait, one key away
        await settle(app, pilot)
        assert list(app.screen.conversations.ids)[:5] == [seeded.ids[k] for k in ("sam", "dana", "long", "li", "mal")]
        text = screen_text(app)
        assert "Waiting 5 · oldest 50m (Facebook) · 0 over target" in text
        assert "longest wait first · o" in text
        assert "50m FB dm Sam Ortiz" in row_line(text, "Sam Ortiz")
        assert "done B     Mo" in text
        await pilot.press("j")
        await settle(app, pilot)
        assert app.screen.pane.conversation_id == seeded.ids["dana"]
        assert "Boston · Coffee person" in screen_text(app)
        await pilot.press("G")
        await settle(app, pilot)
        assert app.screen.conversations.selected_id == seeded.ids["mo"]
        await pilot.press("g")
        await settle(app, pilot)
        assert app.screen.conversations.selected_id == seeded.ids["sam"]
        await pilot.press("ctrl+d")
        await settle(app, pilot)
        assert app.screen.conversations.cursor > 0
        assert app.screen.conversations.render_timings  # the benchmark hook records each move


async def test_waiting_time_advances_with_the_clock(seeded):
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert " 42m X     !  Dana Kim" in screen_text(app)  # ! : her words read upset (issue 23)
        seeded.clock.advance(20 * 60)
        app.screen.tick()
        await settle(app, pilot)
        text = screen_text(app)
        # Dana (public, 60m target) is now over: the ▲ mark says so without colour.
        assert "▲ 1h02m X     !  Dana Kim" in row_line(text, "Dana Kim")
        assert "▲ 1h10m FB dm Sam Ortiz" in row_line(text, "Sam Ortiz")
        assert "Waiting 5 · most urgent 1h02m (X) · ▲ 2 over target" in text  # Dana reads upset: first


async def test_wait_line_follows_account_targets_and_business_hours(seeded):
    from datetime import time

    from agentconsole.config import Config
    from agentconsole.response.hours import BusinessHours, HoursConfig
    from agentconsole.response.sla import Targets

    until_four = BusinessHours(days=frozenset(range(7)), open=time(9), close=time(16), timezone="UTC")
    config = Config(timezone="Europe/Berlin", targets=Targets(by_account={"brand-fb": {"dm": 30 * 60}}),
                    hours=HoursConfig(by_account={"brand-x": until_four, "brand-fb": until_four}))
    app = seeded.app(config=config)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("o")  # the longest wait first, as each account counts it
        await settle(app, pilot)
        # It is 16:00 UTC: X and Facebook just closed. Sam's DM has waited 50 open minutes, over
        # Facebook's own 30-minute target; by the kind's default hour it would not be.
        assert "Waiting 5 · oldest 50m (Facebook) · ▲ 1 over target" in screen_text(app)
        seeded.clock.advance(20 * 60)
        app.screen.tick()
        await settle(app, pilot)
        text = screen_text(app)
        # Closed time does not count: Sam still 50m, Dana still 42m and not over; J. Li's email ticks on.
        assert "Waiting 5 · oldest 50m (Facebook) · ▲ 1 over target" in text
        assert "42m X     !  Dana Kim" in row_line(text, "Dana Kim") and "▲" not in row_line(text, "Dana Kim")
        assert "31m ✉" in row_line(text, "J. Li")
        order = [line for line in text.splitlines() if "Pat Paste" in line or "J. Li" in line]
        assert "Pat Paste" in order[0]  # Pat's 30 closed-time minutes still sort above Li's 31 ...
        app.screen.resort()  # ... until the minute's re-sort puts the longest wait first
        await settle(app, pilot)
        order = [line for line in screen_text(app).splitlines() if "Pat Paste" in line or "J. Li" in line]
        assert "J. Li" in order[0]
        await pilot.press("j")  # Dana: the pane says since when, and that the list counts open hours
        await settle(app, pilot)
        text = screen_text(app)
        assert "Waiting since Nov 24 16:18" in text
        assert "Waiting since Nov 24 16:18 · open hours only" in text
        assert "Mon–Sun 09:00–16:00 UTC" in text


async def test_open_done_reopen_and_assign_change_the_db(seeded):
    app = seeded.app()
    dana = seeded.ids["dana"]
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("j", "enter")
        await settle(app, pilot)
        assert app.screen.pane.conversation_id == dana
        await pilot.press("escape")
        await pilot.press("e")
        await settle(app, pilot)
        assert seeded.store.conversation(dana).status == "done"
        assert "done X     Dana Kim" in screen_text(app)
        assert app.screen.conversations.selected_id == dana  # the cursor stayed on her
        await pilot.press("e")
        await settle(app, pilot)
        assert seeded.store.conversation(dana).status == "open"
        await pilot.press("a")
        await settle(app, pilot)
        assert seeded.store.conversation(dana).assignee_id == seeded.agent_id
        await pilot.press("3")  # Mine
        await settle(app, pilot)
        assert list(app.screen.conversations.ids) == [dana]
        assert "assigned to Alice Ng" in screen_text(app)


async def test_internal_note_is_saved_and_shown(seeded):
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("c")
        await settle(app, pilot)
        assert app.screen.query_one(TextArea).has_focus
        await pilot.press(*"call back")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        notes = seeded.store.notes(seeded.ids["sam"])
        assert [n.text for n in notes] == ["call back"]
        assert "internal note by Alice Ng" in screen_text(app)


async def test_empty_or_over_length_reply_is_blocked_and_draft_kept(seeded):
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("j", "r")  # Dana, X public: 280 characters
        await settle(app, pilot)
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert "Nothing to send" in composer_status(app)
        app.screen.query_one(TextArea).insert("x" * 290)
        await settle(app, pilot)
        assert "290/280 · 10 over" in screen_text(app)
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert "10 over the X limit (290/280 characters)" in composer_status(app)
        app.screen.query_one(TextArea).load_text("Hi ⟦first_name⟧, thanks")
        await settle(app, pilot)
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert "fill in {first_name} before sending" in composer_status(app)  # an unfilled canned gap
        assert seeded.store.conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0
        app.screen.query_one(TextArea).load_text("x" * 290)
        await settle(app, pilot)
        await pilot.press("escape")
        await settle(app, pilot)
        assert app.screen.drafts[("reply", seeded.ids["dana"])] .text == "x" * 290
        await pilot.press("r")
        await settle(app, pilot)
        assert app.screen.query_one(TextArea).text == "x" * 290


async def test_views_switch_with_h_l_and_digits(seeded):
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert "7" in row_line(screen_text(app), "1 All")
        await pilot.press("l")
        await settle(app, pilot)
        assert len(app.screen.conversations.ids) == 5  # Waiting
        await pilot.press("6")
        await settle(app, pilot)
        assert list(app.screen.conversations.ids) == [seeded.ids["li"]]
        assert "Re: invoice #4411" in screen_text(app)
        await pilot.press("h", "h", "h")
        await settle(app, pilot)
        assert app.screen.view_index == 2
        await pilot.press("8")
        await settle(app, pilot)
        assert list(app.screen.conversations.ids) == [seeded.ids["mo"]]


async def test_search_opens_the_hit_and_n_moves_between_hits(seeded):
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("slash")
        await settle(app, pilot)
        assert isinstance(app.screen, SearchModal)
        await pilot.press(*"invoice")
        await settle(app, pilot)
        assert "Re: invoice" in screen_text(app) or "invoice attached" in screen_text(app)
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.screen.conversations.selected_id == seeded.ids["li"]
        assert app.screen.pane.conversation_id == seeded.ids["li"]
        # A second search with two hits: n and N walk them.
        await pilot.press("slash")
        await settle(app, pilot)
        app.screen.query_one(Input).value = "th"
        await settle(app, pilot)
        hits = app.screen.hits
        assert len(hits) >= 2
        await pilot.press("enter")
        await settle(app, pilot)
        first = app.screen.conversations.selected_id
        await pilot.press("n")
        await settle(app, pilot)
        assert app.screen.hit_index == 1
        await pilot.press("N")
        await settle(app, pilot)
        assert app.screen.conversations.selected_id == first


async def test_u_jumps_to_the_longest_wait_from_another_view(seeded):
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("6", "u")
        await settle(app, pilot)
        assert app.screen.conversations.selected_id == seeded.ids["sam"]
        assert app.screen.view_index == 0


async def test_help_lists_live_bindings_including_the_keymap(seeded):
    from agentconsole.config import Config

    app = seeded.app(config=Config(keymap={"inbox.reply": "R"}))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark")
        await settle(app, pilot)
        assert isinstance(app.screen, HelpScreen)
        assert "Keys (esc closes)" in screen_text(app)
        text = str(app.screen.query_one("#help-body").render())
        assert "Reply — Reply on the same channel and thread" in text
        reply = row_line(text, "Reply — Reply")
        assert reply.split()[0] == "R"  # remapped from r
        await pilot.press("escape")
        await settle(app, pilot)
        assert not isinstance(app.screen, HelpScreen)


async def test_palette_lists_actions_with_keys_and_runs_them(seeded):
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("colon")
        await settle(app, pilot)
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"done")
        await settle(app, pilot)
        await pilot.pause(0.3)
        text = screen_text(app)
        assert "Done" in text and "e · Mark done" in text
        await pilot.press("enter")
        await settle(app, pilot)
        assert seeded.store.conversation(seeded.ids["sam"]).status == "done"


async def test_long_message_shows_its_start_and_expands_on_x(seeded):
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.screen.go_to(seeded.ids["long"])
        await settle(app, pilot)
        pane = app.screen.pane
        body = pane.thread_text
        assert "line 39 of the giant paste" in str(body)
        assert "line 40 of the giant paste" not in str(body)
        assert "9960 more lines hidden: press x to expand" in str(body)
        await pilot.press("x")  # expanded one part at a time, so the UI never lays out 10,000 lines
        await settle(app, pilot)
        shown = pane.thread_text
        assert "line 40 of the giant paste" in shown and "part 1 of 50" in shown
        assert "line 9999 of the giant paste" not in shown
        for _ in range(49):
            await pilot.press("x")
        await settle(app, pilot)
        shown = pane.thread_text
        assert "line 9999 of the giant paste" in shown and "part 50 of 50" in shown


async def test_new_messages_arrive_without_moving_the_cursor(seeded):
    from agentconsole.domain.models import Channel, InboundMessage, Kind, Person
    from screens.inbox.screen import DataChanged

    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("j", "j")
        await settle(app, pilot)
        on = app.screen.conversations.selected_id
        account = seeded.store.ensure_account("brand-x", Channel.X, "demo")
        seeded.store.ingest(account, [InboundMessage(
            "x9", "t-new", Kind.PUBLIC, Person("u9", "@newbie", "Newbie"), "hello from far back",
            seeded.clock.now() - 3 * 3600), InboundMessage(
            "x10", "t-long", Kind.DM, Person("u7", "@paster", "Pat Paste"), "and one more thing",
            seeded.clock.now())])
        app.screen.post_message(DataChanged())
        await settle(app, pilot)
        lst = app.screen.query_one(ConversationList)
        assert lst.ids[0] != on and lst.selected_id == on
        assert "Newbie" in screen_text(app)
        assert "Waiting 6" in screen_text(app)
        # The open conversation (Pat, under the cursor) shows the new message at the end of the thread.
        assert on == seeded.ids["long"]
        assert "and one more thing" in screen_text(app)


async def test_startup_objects_are_frozen_only_when_the_app_owns_the_process(seeded):
    import gc

    for owns in (False, True):
        gc.unfreeze()
        app = seeded.app(freeze_startup_objects=owns)
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            app.settle_memory()
            frozen = gc.get_freeze_count()
        gc.unfreeze()  # the test process must not keep them
        assert (frozen > 0) == owns


async def test_an_empty_view_says_what_it_means_and_crisis_without_marks_says_what_to_do(seeded):
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("3")  # Mine: nothing is assigned to Alice
        await settle(app, pilot)
        assert "Nothing is assigned to you: press a on a" in screen_text(app)
        await pilot.press("7")  # Escalated
        await settle(app, pilot)
        assert "Nothing escalated" in screen_text(app)
        await pilot.press("D")
        await settle(app, pilot)
        assert any(n.message.startswith("Nothing is marked: press space") for n in app._notifications)
        await pilot.press("1")
        await settle(app, pilot)
        assert "Nothing is" not in screen_text(app)


async def test_a_long_thread_opens_at_its_newest_message_and_says_how_to_scroll(seeded):
    from agentconsole.domain.models import InboundMessage, Kind, Person

    x = next(a.id for a in seeded.store.accounts() if a.name == "brand-x")
    kim = Person("u9", "@kim", "Kim Lee")
    now = seeded.clock.now()
    seeded.store.ingest(x, [InboundMessage(f"k{i}", "t-kim", Kind.DM, kim, f"message number {i}",
                                           now - 3000 + i * 60) for i in range(40)], "c2")
    kim_id = seeded.store.conn.execute("SELECT id FROM conversations WHERE thread_key = 't-kim'").fetchone()[0]
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.screen.conversations.select_id(kim_id)
        await settle(app, pilot)
        shown = screen_text(app)
        assert "message number 39" in shown and "message number 0\n" not in shown
        assert "enter, then ↑ for earlier messages" in shown
        await pilot.press("enter", "home")
        await settle(app, pilot)
        assert "message number 0 " in screen_text(app) or "message number 0│" in screen_text(app).replace(" ", "")



async def test_u_and_the_list_rank_by_urgency_so_social_customers_cut_the_line(seeded):
    from agentconsole.domain.models import InboundMessage, Kind, Person

    mail = next(a.id for a in seeded.store.accounts() if a.name == "support-mail")
    seeded.store.ingest(mail, [InboundMessage("m-old", "t-old", Kind.EMAIL, Person("u8", "old@example.com", "Olga"),
                                              "Any news on my invoice?", seeded.clock.now() - 20 * 3600,
                                              subject="invoice")], "c2")
    old = seeded.store.conn.execute("SELECT id FROM conversations WHERE thread_key = 't-old'").fetchone()[0]
    seeded.clock.advance(30 * 60)  # Sam's DM and Dana's mention are now over their hour; Olga is within her day
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        # Both over target: Dana, whose words read upset (issue 23's triage), before Sam's calm question.
        assert list(app.screen.conversations.ids)[:2] == [seeded.ids["dana"], seeded.ids["sam"]]
        assert "most urgent 1h12m (X)" in screen_text(app)
        await pilot.press("6", "u")  # from the Email view
        await settle(app, pilot)
        assert app.screen.conversations.selected_id == seeded.ids["dana"]
        await pilot.press("o")
        await settle(app, pilot)
        assert list(app.screen.conversations.ids)[0] == old  # 20 hours is the longest wait ...
        assert "oldest 20h" in screen_text(app) or "oldest 20h30m" in screen_text(app)


async def test_a_row_says_whether_it_is_a_dm_and_whose_it_is_and_email_offers_no_dm(seeded):
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        text = screen_text(app)
        assert "FB dm Sam Ortiz" in text and "X     !  Dana Kim  my order" in text
        await pilot.press("j", "a")  # Dana: assigned to Alice Ng
        await settle(app, pilot)
        assert "X     (AN) !  Dan…" in screen_text(app)
        assert " d DM " in screen_text(app).splitlines()[-1]
        app.screen.conversations.select_id(seeded.ids["li"])
        await settle(app, pilot)
        assert " d DM " not in screen_text(app).splitlines()[-1]  # email: nothing to move to a DM


async def test_backslash_filters_the_current_view_and_empty_clears_it(seeded):
    from textual.widgets import Input

    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("backslash")
        await settle(app, pilot)
        await pilot.press(*"x dm", "enter")
        await settle(app, pilot)
        assert set(app.screen.conversations.ids) == {seeded.ids["long"], seeded.ids["mal"]}
        assert "filter: x dm" in screen_text(app)
        await pilot.press("backslash")
        await settle(app, pilot)
        app.screen.query_one(Input).value = "nothing-like-this"
        await pilot.press("enter")
        await settle(app, pilot)
        shown = screen_text(app)
        assert "Nothing in All matches the filter" in shown and "press \\ to change or clear it" in shown
        await pilot.press("backslash")
        await settle(app, pilot)
        app.screen.query_one(Input).value = ""
        await pilot.press("enter")
        await settle(app, pilot)
        assert len(app.screen.conversations.ids) == 7 and "filter:" not in screen_text(app)


async def test_an_ingest_event_refreshes_only_its_rows_counts_and_the_lists_front(seeded, monkeypatch):
    from agentconsole.domain.models import Channel, InboundMessage, Kind, Person
    from screens.app import AgentConsoleApp
    from screens.inbox.screen import DataChanged

    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        on = app.screen.conversations.selected_id
        account = seeded.store.ensure_account("brand-x", Channel.X, "demo")
        report = seeded.store.ingest(account, [InboundMessage(
            "x9", "t-new", Kind.PUBLIC, Person("u9", "@newbie", "Newbie"), "hello from far back",
            seeded.clock.now() - 3 * 3600)])
        reads: list[int | None] = []
        original = seeded.store.conversation_ids

        def counted(view="all", agent_id=None, limit=None, *args, **kwargs):
            reads.append(limit)
            return original(view, agent_id, limit, *args, **kwargs)

        monkeypatch.setattr(seeded.store, "conversation_ids", counted)
        monkeypatch.setattr(AgentConsoleApp, "send_away_replies", lambda self: None)
        app.screen.post_message(DataChanged(frozenset(report.conversation_ids)))
        await settle(app, pilot)
        assert None not in reads  # never the whole list: the front comes from what waits, in memory
        lst = app.screen.query_one(ConversationList)
        assert lst.ids[0] == report.conversation_ids[0] and lst.selected_id == on
        assert "Newbie" in screen_text(app) and "Waiting 6" in screen_text(app)
        assert len(lst.ids) == len(original("all"))
