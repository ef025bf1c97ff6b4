"""The composer's text field, in its own module: Textual's TextArea is imported once the inbox is up."""

from __future__ import annotations

from textual.widget import Widget
from textual.widgets import Static, TextArea

from agentconsole.domain.sanitize import clean


class SafeTextArea(TextArea):
    """A TextArea whose pasted text is cleaned first: the editor draws its document as it is, so an
    escape pasted or inserted into it would reach the terminal."""

    async def _on_paste(self, event) -> None:
        event.text = clean(event.text)
        await super()._on_paste(event)


def editor_parts(no_blink: bool) -> list[Widget]:
    """The composer's title, text field and status line (its cursor still when animation is off)."""
    area = SafeTextArea(id="composer-text", soft_wrap=True, show_line_numbers=False)
    area.cursor_blink = not no_blink
    return [Static(id="composer-title"), area, Static(id="composer-status")]
