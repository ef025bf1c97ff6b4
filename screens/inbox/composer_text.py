"""The composer's text field, in its own module: Textual's TextArea is imported once the inbox is up."""

from __future__ import annotations

from textual.widgets import TextArea

from agentconsole.domain.sanitize import clean


class SafeTextArea(TextArea):
    """A TextArea whose pasted text is cleaned first: the editor draws its document as it is, so an
    escape pasted or inserted into it would reach the terminal."""

    async def _on_paste(self, event) -> None:
        event.text = clean(event.text)
        await super()._on_paste(event)
