"""Reading what the console shows, as plain text, for assertions."""

from __future__ import annotations

from textual.app import App


def screen_text(app: App) -> str:
    """Every cell of the current screen as text, one line per row (what a person would read)."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def settle(app: App, pilot) -> None:
    """Let workers finish and their messages be handled, then the screen repaint."""
    for _ in range(3):
        await pilot.pause()
        await app.workers.wait_for_complete()
    await pilot.pause()
