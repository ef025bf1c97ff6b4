"""Untrusted text is inert on screen: no markup, no clickable actions, no terminal escapes."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import Label, OptionList, Static

from screens.common.modals import SearchModal
from screens.common.safe import safe_text

from tests.screens.conftest import HOSTILE_NAME
from tests.screens.helpers import screen_text, settle

RAW = ("a\x1b[31mred\x1b[0m b\x1b]8;;http://evil.example\x07link\x1b]8;;\x07 c\x9b2J d\x1bPq#0;1\x1b\\"
       " e\x1b]52;c;aGk=\x07 f\x07\x08 [/] [@click=app.quit]quit[/] [bold]x[/bold] :smile:")
CONTROL_CHARS = {chr(c) for c in range(0x20) if c not in (0x0a,)} | {chr(c) for c in range(0x7f, 0xa0)}


def test_safe_text_strips_escapes_and_never_parses_markup():
    text = safe_text(RAW)
    assert isinstance(text, Text)
    assert not (set(text.plain) & CONTROL_CHARS)
    assert text.spans == []  # nothing was interpreted as style or action
    for literal in ("[/]", "[@click=app.quit]quit[/]", "[bold]x[/bold]", ":smile:"):
        assert literal in text.plain
    assert "http://evil.example" not in text.plain  # the OSC 8 target is gone with its escape
    one = safe_text("two\nlines\x1b[2J", single_line=True, limit=5)
    assert one.plain == "two …" and "\n" not in one.plain


def all_segments(app: App):
    for strip in app.screen._compositor.render_strips():
        yield from strip


def assert_inert(app: App) -> None:
    for segment in all_segments(app):
        assert not (set(segment.text) & CONTROL_CHARS), repr(segment.text)
        meta = segment.style.meta if segment.style else {}
        assert "@click" not in meta, meta  # no clickable action came from untrusted text
        assert not (segment.style and segment.style.link), segment.style


class _Widgets(App):
    def compose(self) -> ComposeResult:
        yield Label(safe_text(RAW), id="label")
        yield Static(safe_text(RAW), id="static")
        yield OptionList(safe_text(RAW), id="options")


async def test_safe_text_is_inert_in_label_static_and_option_list():
    app = _Widgets()
    async with app.run_test(size=(200, 12)) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert text.count("[@click=app.quit]quit[/]") == 3
        assert_inert(app)
        await pilot.click("#label", offset=(RAW.index("quit") - 30, 0))
        assert app.is_running


async def test_hostile_names_and_texts_show_literally_in_list_and_pane(seeded):
    app = seeded.app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        text = screen_text(app)
        assert "[/]Mal[@cli" in text  # cut by the column, but literal
        app.screen.go_to(seeded.ids["mal"])
        await settle(app, pilot)
        text = screen_text(app)
        assert HOSTILE_NAME in text
        body = app.screen.pane.thread_text
        assert "[red]not red[/red] [@click=app.bell]ring[/]" in body
        assert "[red]not red[/red]" in text
        assert "evil.example" not in text
        assert_inert(app)


async def test_raw_escapes_in_the_database_never_reach_the_screen(seeded):
    """Even if a row slipped past the store's cleaning, the screen layer neutralises it."""
    conn = seeded.store.conn
    conn.execute("UPDATE messages SET text = ?, author_name = ? WHERE conversation_id = ?",
                 (RAW, "Eve\x1b]0;pwned\x07\x1b[5m", seeded.ids["dana"]))
    conn.execute("UPDATE conversations SET last_preview = ?, subject = ? WHERE id = ?",
                 (RAW, "[/]\x9b31m", seeded.ids["dana"]))
    conn.execute("UPDATE contacts SET display_name = ?, bio = ? WHERE display_name = 'Dana Kim'",
                 ("Dana\x1b[2J[/]", "bio\x1bP+q\x1b\\ [@click=app.quit]x[/]"))
    conn.execute("UPDATE identities SET handle = ? WHERE handle = '@dana_k'", ("@d\x1b]8;;x\x07k",))
    app = seeded.app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        app.screen.go_to(seeded.ids["dana"])
        await settle(app, pilot)
        text = screen_text(app)
        assert "Eve" in text and "[@click=app.quit]quit[/]" in "".join(text.split())
        assert_inert(app)
        await pilot.press("r")
        await settle(app, pilot)
        assert_inert(app)  # the composer title names the customer too


async def test_hostile_search_hits_are_inert(seeded):
    app = seeded.app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        await pilot.press("slash", *"payload")
        await settle(app, pilot)
        assert isinstance(app.screen, SearchModal)
        assert len(app.screen.hits) == 0 or all("\x1b" not in h.snippet for h in app.screen.hits)
        app.screen.query_one("#search-input").value = "links"
        await settle(app, pilot)
        assert len(app.screen.hits) == 1
        text = screen_text(app)
        assert "[/]Mal[@click=app.quit]Click me[/]" in text
        assert_inert(app)


async def test_connector_messages_in_the_banner_are_inert(seeded):
    from agentconsole.sync.engine import Engine
    from agentconsole.domain.models import Channel

    account = seeded.store.ensure_account("brand-x", Channel.X, "demo")
    engine = Engine(seeded.store, {}, clock=seeded.clock,
                    unavailable={account: "[/] bad\x1b[31m token [@click=app.quit]q[/]"})
    app = seeded.app(engine=engine, demo=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        banner = screen_text(app).splitlines()[1]  # under the shift banner
        assert banner.startswith(" DEMO workspace  Agent: Alice Ng")
        assert "brand-x error: [/] bad token [@click=app.quit]q[/]" in banner
        assert_inert(app)
