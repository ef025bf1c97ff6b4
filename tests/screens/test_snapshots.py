"""Layout snapshots of the console at 120x36 and 80x24 (read the report before accepting a change)."""

from __future__ import annotations

import pytest

from tests.screens.helpers import settle


def _prepare(app, *keys: str):
    async def run_before(pilot) -> None:
        await settle(app, pilot)
        for key in keys:
            await pilot.press(key)
            await settle(app, pilot)

    return run_before


@pytest.mark.parametrize("size", [(120, 36), (80, 24)], ids=["120x36", "80x24"])
def test_inbox_layout(seeded, snap_compare, size):
    app = seeded.app(demo=True)
    assert snap_compare(app, terminal_size=size, run_before=_prepare(app, "j"))


@pytest.mark.parametrize("size", [(120, 36), (80, 24)], ids=["120x36", "80x24"])
def test_composer_layout(seeded, snap_compare, size):
    app = seeded.app()
    assert snap_compare(app, terminal_size=size, run_before=_prepare(app, "j", "r", "h", "i"))


def test_light_theme_over_target(seeded, snap_compare):
    from agentconsole.config import Config

    seeded.clock.advance(45 * 60)
    app = seeded.app(config=Config(theme="agentconsole-light", timezone="UTC"))
    assert snap_compare(app, terminal_size=(120, 36), run_before=_prepare(app))
