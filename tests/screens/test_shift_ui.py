"""The shift banner, the start and end dialogs and the history screen, driven with Pilot in a tiny app."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Checkbox, DataTable, Input, RadioButton, Static, TextArea

from agentconsole import cli

from agentconsole.cli import shift as cli_shift
from agentconsole.config import Config
from agentconsole.domain.models import InboundMessage, Kind, Person
from agentconsole.replies.outbox import Outbox
from agentconsole.shifts.banner import build_banner
from agentconsole.shifts.service import DEFAULT_GOODBYE_NEXT, DEFAULT_HELLO, Shifts
from screens.shifts.dialogs import (EndShiftModal, EndShiftRequest, ShiftBanner, ShiftHistoryScreen, StartShiftModal,
                           StartShiftRequest)
from screens.shifts.dialogs import PostRow
from tests.core.test_cli_shift import FakeContext

HOUR = 3600.0
DANA = Person("u1", "dana_k", "Dana Kim")


class ShiftTestApp(App):
    """Just a banner; the tests push the dialogs over it and keep what they return."""

    def __init__(self, banner=None) -> None:
        super().__init__()
        self.initial = banner
        self.results: list = []

    def compose(self) -> ComposeResult:
        yield ShiftBanner(self.initial, id="banner")

    def open(self, screen) -> None:
        self.push_screen(screen, self.results.append)


def workspace(store):
    x = store.ensure_account("shop-x", "x", "scripted")
    m = store.ensure_account("shop-m", "mastodon", "scripted")
    store.ensure_account("shop-mail", "email", "scripted")
    alice = store.ensure_agent("Alice Ng", "AN", "UTC")
    bob = store.ensure_agent("Bob Li", "BL", "UTC")
    return Shifts(store), x, m, alice, bob


def row_for(screen, account_id) -> PostRow:
    return next(r for r in screen.query(PostRow) if r.settings.account.id == account_id)


def preview_of(row: PostRow) -> str:
    return str(row.query_one(".post-preview", Static).render())


async def test_banner_renders_the_core_text_and_marks_failures(store, clock):
    shifts, x, m, alice, _ = workspace(store)
    evil = store.ensure_agent("[bold]Eve[/] \x1b[31m", "EV", "UTC")
    shifts.start(alice, planned_end=clock.now() + 8 * HOUR, hello={m: DEFAULT_HELLO})
    Outbox(store).mark_failed(store.conn.execute("SELECT id FROM outbox").fetchone()[0], "suspended")
    shifts.start(evil, planned_end=None, hello={})
    app = ShiftTestApp()
    async with app.run_test(size=(200, 5)) as pilot:
        widget = app.query_one(ShiftBanner)
        assert widget.render().plain == ""
        banner = build_banner(shifts)
        widget.show(banner)
        await pilot.pause()
        rendered = widget.render()
        assert rendered.plain == banner.text()
        assert "hello failed on Mastodon: suspended" in rendered.plain
        assert "[bold]Eve[/]" in rendered.plain and "\x1b" not in rendered.plain
        failed = next(span for span in rendered.spans
                      if rendered.plain[span.start:span.end].startswith("hello failed"))
        assert failed.style and failed.style.color is not None


async def test_start_dialog_shows_the_note_first_then_previews_each_account(store, clock):
    shifts, x, m, alice, bob = workspace(store)
    shifts.start(alice, planned_end=None, hello={})
    ended = shifts.end(alice, goodbye={}, note="Dana's refund is pending.").shift
    app = ShiftTestApp()
    async with app.run_test(size=(120, 40)) as pilot:
        modal = StartShiftModal.from_form(shifts.start_form(bob), clock)
        app.open(modal)
        await pilot.pause()
        assert not modal.query_one("#shift-form").display
        assert "Dana's refund is pending." in str(modal.query_one(".note-line", Static).render())
        await pilot.press("ctrl+s")  # confirming before reading only acknowledges
        await pilot.pause()
        assert modal.query_one("#shift-form").display and app.results == []
        modal.query_one("#planned-end", Input).value = "17:00"
        row_for(modal, m).query_one(Checkbox).value = False
        await pilot.pause()
        assert preview_of(row_for(modal, x)) == "Hi! Bob here (^BL) until 17:00 UTC — ask away.  46/280"
        assert preview_of(row_for(modal, m)) == "(not posting here)"
        await pilot.press("ctrl+s")
        await pilot.pause()
    request = app.results[0]
    assert request == StartShiftRequest(clock.now() + 8 * HOUR, {x: DEFAULT_HELLO}, (ended.id,))
    result = shifts.start(bob, planned_end=request.planned_end, hello=request.hello,
                          acknowledge=request.acknowledge)
    assert [(p.account_id, p.state) for p in result.posts] == [(x, "pending")]
    assert shifts.pending_handoffs() == []


async def test_start_dialog_blocks_an_over_long_post_and_can_post_nothing(store, clock):
    shifts, x, m, alice, _ = workspace(store)
    app = ShiftTestApp()
    async with app.run_test(size=(120, 40)) as pilot:
        modal = StartShiftModal(store.agent(alice), shifts.accounts(), [], clock)
        app.open(modal)
        await pilot.pause()
        row_for(modal, x).query_one(Input).value = "{agent_name} " + "z" * 280
        await pilot.pause()
        assert "too long for X" in preview_of(row_for(modal, x))
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.results == []
        assert "shop-x: " in str(modal.query_one("#shift-status", Static).render())
        modal.query_one("#planned-end", Input).value = "7pm"
        await pilot.pause()
        assert "not a time like 17:30" in str(modal.query_one("#shift-status", Static).render())
        modal.query_one("#planned-end", Input).value = ""
        modal.query_one("#post-nothing", Checkbox).value = True
        await pilot.press("ctrl+s")
        await pilot.pause()
    assert app.results == [StartShiftRequest(None, {}, ())]


async def test_end_dialog_names_the_next_agent_and_hands_over(store, clock):
    shifts, x, m, alice, bob = workspace(store)
    conv = store.ingest(x, [InboundMessage("m1", "t1", Kind.PUBLIC, DANA, "parcel?", clock.now())],
                        set_cursor=False).conversation_ids[0]
    shift = shifts.start(alice, planned_end=None, hello={x: DEFAULT_HELLO}).shift
    store.assign(conv, alice, alice)
    clock.advance(HOUR)
    app = ShiftTestApp()
    async with app.run_test(size=(120, 50)) as pilot:
        form = shifts.end_form(alice)
        assert form.shift == shift and form.hello_accounts == {x}
        modal = EndShiftModal.from_form(form, clock)
        app.open(modal)
        await pilot.pause()
        assert "We're back at the next shift" in preview_of(row_for(modal, x))
        assert preview_of(row_for(modal, m)) == "(not posting here)"
        assert "Dana Kim · X public · waiting 1h00m" in modal.query_one(TextArea).text
        modal.query_one("#assign-next", RadioButton).value = True
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "Name the next agent" in str(modal.query_one("#shift-status", Static).render())
        modal.query_one("#next-agent", Input).value = "Bob Li"
        modal.query_one("#next-start", Input).value = "09:00"
        await pilot.pause()
        assert row_for(modal, x).template == DEFAULT_GOODBYE_NEXT
        assert preview_of(row_for(modal, x)).startswith(
            "That's it from Alice today — Bob Li takes over at Wed 09:00 UTC.")
        modal.query_one(TextArea).insert("\nCall the courier.", modal.query_one(TextArea).document.end)
        await pilot.press("ctrl+s")
        await pilot.pause()
    request = app.results[0]
    assert isinstance(request, EndShiftRequest)
    assert (request.next_agent, request.assignments, request.goodbye) == ("Bob Li", "next",
                                                                          {x: DEFAULT_GOODBYE_NEXT})
    result = shifts.end(alice, goodbye=request.goodbye, next_agent=request.next_agent,
                        next_start=request.next_start, note=request.note, assignments=request.assignments)
    # Bob is off shift: the conversation waits unassigned until his shift starts.
    assert result.held == 1 and store.conversation(conv).assignee_name == ""
    assert result.shift.handoff_note.endswith("Call the courier.")
    assert Outbox(store).item(result.posts[0].outbox_id).text == (
        "That's it from Alice today — Bob Li takes over at Wed 09:00 UTC.")


async def test_history_screen_lists_the_same_cells_as_the_cli(store, clock):
    shifts, x, m, alice, bob = workspace(store)
    shifts.start(alice, planned_end=None, hello={x: DEFAULT_HELLO})
    clock.advance(2 * HOUR)
    shifts.end(alice, goodbye={})
    shifts.start(bob, planned_end=None, hello={})
    app = ShiftTestApp()
    async with app.run_test(size=(160, 20)) as pilot:
        screen = ShiftHistoryScreen(shifts.history, "UTC", clock)
        app.open(screen)
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = screen.query_one(DataTable)
        assert table.row_count == 2
        newest = [str(c) for c in table.get_row_at(0)]
        oldest = [str(c) for c in table.get_row_at(1)]
        assert newest == ["11:00–now", "Bob Li", "no hello post", "–", "0", "–"]
        assert oldest == ["09:00–11:00", "Alice Ng", "hello queued for X", "no goodbye post", "0", "–"]
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is not screen


async def test_the_banner_widget_and_shift_status_say_the_same(store, clock, monkeypatch):
    shifts, x, m, alice, bob = workspace(store)
    shifts.start(alice, planned_end=clock.now() + HOUR, hello={x: DEFAULT_HELLO})
    shifts.set_next(alice, "Bob Li", clock.now() + HOUR)
    clock.advance(2 * HOUR)
    monkeypatch.setitem(cli.LAZY_COMMANDS, "shift", cli_shift.__name__)
    argv = ["--agent", "Bob Li", "shift", "status"]
    ctx = FakeContext(Config(), clock, store)
    args = cli.build_parser(argv).parse_args(argv)
    assert args.func(args, ctx) == 0
    app = ShiftTestApp(build_banner(shifts))
    async with app.run_test(size=(200, 3)):
        shown = app.query_one(ShiftBanner).render().plain
    assert shown == ctx.out.getvalue().strip()
    assert shown.endswith("· next: Bob Li 10:00 · planned end 10:00 has passed")


def _on_screen(app, text: str) -> bool:
    from tests.screens.helpers import screen_text

    return text in screen_text(app)


async def test_both_dialogs_keep_their_buttons_on_an_80x24_terminal(store, clock):
    shifts, x, m, alice, bob = workspace(store)
    for n in range(4):  # more accounts than fit: the form scrolls, the buttons stay
        store.ensure_account(f"shop-extra-{n}", "mastodon", "scripted")
    shifts.start(alice, planned_end=None, hello={})
    shifts.end(alice, goodbye={}, note="\n".join(f"open item {n}: a long line about a customer" for n in range(30)))
    app = ShiftTestApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.open(StartShiftModal.from_form(shifts.start_form(bob), clock))
        await pilot.pause()
        assert _on_screen(app, "I have read it (enter)")
        await pilot.press("enter")
        await pilot.pause()
        assert _on_screen(app, "Start shift (ctrl+s)") and _on_screen(app, "Cancel (esc)")
        await pilot.press("ctrl+s")
        await pilot.pause()
        shifts.start(bob, planned_end=None, hello={}, acknowledge=app.results[0].acknowledge)
        app.open(EndShiftModal.from_form(shifts.end_form(bob), clock))
        await pilot.pause()
        assert _on_screen(app, "End shift (ctrl+s)") and _on_screen(app, "Cancel (esc)")


async def test_ticked_and_unticked_differ_by_a_mark_not_only_by_colour(store, clock, monkeypatch):
    from tests.screens.helpers import screen_text

    monkeypatch.setenv("NO_COLOR", "1")
    shifts, x, m, alice, _ = workspace(store)
    shifts.start(alice, planned_end=None, hello={})
    app = ShiftTestApp()
    async with app.run_test(size=(120, 40)) as pilot:
        modal = EndShiftModal.from_form(shifts.end_form(alice), clock)
        app.open(modal)
        await pilot.pause()
        row_for(modal, x).query_one(Checkbox).value = True
        row_for(modal, m).query_one(Checkbox).value = False
        await pilot.pause()
        lines = screen_text(app).splitlines()
        assert any("▐X▌ shop-x" in line for line in lines)
        assert any("▐ ▌ shop-m" in line for line in lines)
        assert any("▐ ▌ Post nothing" in line for line in lines)
        assert any("▐●▌ Keep them" in line for line in lines)
        assert any("▐ ▌ Leave them unassigned" in line for line in lines)


async def test_a_wrapped_hand_off_item_hangs_under_its_own_text(store, clock):
    from tests.screens.helpers import screen_text

    shifts, x, m, alice, bob = workspace(store)
    shifts.start(alice, planned_end=None, hello={})
    long_item = "- #12 Dana Kim · X public · waiting 42m · unassigned · note: " + "refund promised " * 8
    shifts.end(alice, goodbye={}, note="Open work: 2 open.\n" + long_item + "\n- #13 Sam · email")
    app = ShiftTestApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.open(StartShiftModal.from_form(shifts.start_form(bob), clock))
        await pilot.pause()
        raw = screen_text(app).splitlines()
        lines = [line.strip("│ ") for line in raw]
        first = next(i for i, line in enumerate(lines) if line.startswith("• #12 Dana Kim"))
        bullet_col = raw[first].index("•")
        assert raw[first + 1][bullet_col:bullet_col + 2] == "  "  # the wrap hangs past the bullet
        assert raw[first + 1][bullet_col + 2:].startswith(("promised", "refund"))
        assert any(line.startswith("• #13 Sam") for line in lines[first + 2:])
        assert sum(1 for line in lines if line.startswith("• ")) == 2
