"""Reading what the console shows, as plain text, for assertions."""

from __future__ import annotations

from textual.app import App
from textual.worker import WorkerCancelled


def screen_text(app: App) -> str:
    """Every cell of the current screen as text, one line per row (what a person would read)."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def settle(app: App, pilot) -> None:
    """Let workers finish and their messages be handled, then the screen repaint (including a
    conversation pane that waits for the cursor to rest after quick key presses)."""
    import asyncio

    for screen in app.screen_stack:
        if getattr(screen, "_pane_timer", None) is not None:
            await asyncio.sleep(0.12)
    for _ in range(3):
        await pilot.pause()
        # The engine's and the team watcher's workers run until quit; every other one finishes.
        for worker in [w for w in app.workers if w.group not in ("engine", "team")]:
            try:
                await worker.wait()
            except WorkerCancelled:
                pass
    await pilot.pause()


async def wait_until(app: App, pilot, condition, tries: int = 100) -> None:
    """Settle until *condition()* holds (a worker's result, a repaint), failing after *tries* rounds."""
    import asyncio

    for _ in range(tries):
        await settle(app, pilot)
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition never became true")
