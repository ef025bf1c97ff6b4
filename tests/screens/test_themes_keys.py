"""Themes, NO_COLOR, the footer's main verbs and check_action."""

from __future__ import annotations

import re
from pathlib import Path

import screens.app
from agentconsole.config import Config
from themes import DARK, HIGH_CONTRAST, LIGHT

from tests.screens.helpers import screen_text, settle

SIZE = (120, 36)


async def test_config_picks_the_theme_and_tokens_differ(seeded):
    seen = {}
    for name in (DARK, LIGHT, HIGH_CONTRAST):
        app = seeded.app(config=Config(theme=name))
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            assert app.theme == name
            seen[name] = app.theme_variables["sla-over"]
    assert len(set(seen.values())) == 3


async def test_unknown_theme_falls_back_to_dark(seeded):
    app = seeded.app(config=Config(theme="no-such-theme"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert app.theme == DARK


async def test_no_color_keeps_the_state_readable_by_marks(seeded, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    seeded.clock.advance(20 * 60)
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert app.no_color
        text = screen_text(app)
        assert "▲ 1h10m FB dm Sam Ortiz" in text  # over target
        assert "!   50m X dm  Pat Paste" in text  # near target (DM, 50 of 60 minutes)
        assert "▲ 2 over target" in text
        assert re.search(r"✓ +M +Ray", text)  # answered: nothing waits, and the mark says so


async def test_footer_shows_main_verbs_and_hides_what_does_not_apply(seeded):
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        footer = screen_text(app).splitlines()[-1]
        for verb in ("⏎ Open", "r Reply", "e Done", "a Assign", "/ Search", "? Help", "q Quit"):
            assert verb in footer
        assert "Next hit" not in footer and " j " not in footer
        screen = app.screen
        assert screen.check_action("hit", (1,)) is False  # no search yet
        assert screen.check_action("expand", ()) is False  # nothing long on screen
        await pilot.press("r")
        await settle(app, pilot)
        footer = screen_text(app).splitlines()[-1]
        assert "^s Send" in footer and "esc Close" in footer and "r Reply" not in footer
        assert screen.check_action("reply", ()) is False  # already composing


async def test_empty_view_disables_conversation_verbs(seeded):
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("7")  # Escalated: nothing there
        await settle(app, pilot)
        assert len(app.screen.conversations.ids) == 0
        assert not app.screen.check_action("reply", ())
        assert app.screen.check_action("done", ()) is None
        await pilot.press("r", "e")
        await settle(app, pilot)
        assert not app.screen.composer.display



async def test_footer_verbs_follow_the_conversation_under_the_cursor(seeded):
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)

        def expand_enabled() -> bool:
            return any(b.binding.action == "expand" and b.enabled for b in app.screen.active_bindings.values())

        assert not expand_enabled()
        await pilot.press("j", "j")  # Pat's 10,000-line paste
        await settle(app, pilot)
        assert app.screen.pane.conversation_id == seeded.ids["long"]
        assert expand_enabled()
        assert "x Expand" not in screen_text(app).splitlines()[-1]  # available, but not a main verb
        await pilot.press("j")
        await settle(app, pilot)
        assert not expand_enabled()


async def test_reading_the_other_screens_styles_ahead_restyles_nothing_on_screen(seeded):
    """Preloaded screen stylesheets are not applied to the widgets already mounted, so their rules must
    name only their own screens' widgets: a full restyle after the preload changes nothing."""
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.preload_screen_styles()
        assert all(app.stylesheet.has_source(str(Path(screens.app.__file__).parent / n), "")
                   for n in app.SCREEN_CSS)
        nodes = list(app.screen.walk_children(with_self=True))
        before = [node.styles.css for node in nodes]
        app.stylesheet.update(app.screen)
        await pilot.pause()
        assert [node.styles.css for node in nodes] == before


async def test_the_start_theme_is_in_place_before_the_first_parse(seeded, monkeypatch):
    """The configured theme is set before the stylesheet is first parsed: the widgets are styled in its
    colours, the app has its classes, and nothing re-parses the stylesheet for it after the start (a
    light theme, so nothing is left of the default dark one)."""
    from textual.app import App
    from textual.color import Color

    refreshed: list[bool] = []
    refresh_css = App.refresh_css
    monkeypatch.setattr(App, "refresh_css", lambda app, animate=True: refreshed.append(animate) or
                        refresh_css(app, animate))
    app = seeded.app(config=Config(theme=LIGHT))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        theme = app.get_theme(LIGHT)
        assert app.theme == LIGHT and refreshed == []
        assert app.screen.styles.background == Color.parse(theme.background)
        assert {f"-theme-{LIGHT}", "-light-mode"} <= app.classes and "-dark-mode" not in app.classes
        assert app.theme_variables["sla-over"] == theme.variables["sla-over"]
        app.theme = DARK  # switching later still restyles everything
        await settle(app, pilot)
        assert refreshed and app.screen.styles.background == Color.parse(app.get_theme(DARK).background)
