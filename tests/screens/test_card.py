"""The conversation card: a fixed height, so a new conversation repaints it without a screen layout,
and every fact it has still starts on screen at 80x24 and 120x36."""

from __future__ import annotations

import pytest

from tests.screens.helpers import screen_text, settle


def _card_lines(app) -> list[str]:
    card = app.screen.query_one("#card")
    region = card.content_region
    rows = screen_text(app).splitlines()[region.y:region.bottom]
    return [row[region.x:region.right].rstrip() for row in rows]


async def test_a_new_conversation_repaints_the_card_without_a_layout(seeded):
    app = seeded.app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        await pilot.press("j")  # Dana: name, channel, wait and her profile, four lines
        await settle(app, pilot)
        assert _card_lines(app)[3].startswith("Boston · Coffee person")
        screen, layouts = app.screen, []
        refresh_layout = screen._refresh_layout
        screen._refresh_layout = lambda *a, **k: (layouts.append(a), refresh_layout(*a, **k))[1]
        height = app.screen.query_one("#card").size.height
        await pilot.press("k")  # Sam: three lines, the card's height stays (six lines)
        await settle(app, pilot)
        assert _card_lines(app)[0].startswith("Sam Ortiz")
        assert _card_lines(app)[3] == ""
        assert app.screen.query_one("#card").size.height == height
        assert layouts == []


@pytest.mark.parametrize("size", [(120, 36), (80, 24)], ids=["120x36", "80x24"])
async def test_every_fact_starts_on_screen_cut_with_an_ellipsis(seeded, size):
    from datetime import time

    from agentconsole.config import Config
    from agentconsole.response.hours import BusinessHours, HoursConfig

    until_four = BusinessHours(days=frozenset(range(7)), open=time(9), close=time(16), timezone="UTC")
    app = seeded.app(config=Config(timezone="Europe/Berlin", hours=HoursConfig(by_account={"brand-x": until_four})))
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        await pilot.press("j")  # Dana: name, channel, wait, the open hours, her profile: five facts
        await settle(app, pilot)
        lines = _card_lines(app)
        assert len(lines) == 6 and lines[5] == ""
        starts = ["Dana Kim", "X · public · open", "Waiting since Nov 24 16:18", "Mon–Sun", "Boston"]
        for line, start in zip(lines, starts):
            shown = line.removesuffix("…")
            assert shown and (line.startswith(start) or start.startswith(shown)), (line, start)
        if size == (80, 24):  # too narrow for the wait and its open hours: cut, and said to be cut
            assert lines[2].endswith("…")
        else:
            assert lines[2] == "Waiting since Nov 24 16:18 · open hours only:"
            assert lines[3] == "Mon–Sun 09:00–16:00 UTC"
