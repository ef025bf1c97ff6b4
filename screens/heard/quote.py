"""The one-line dialog for a quote of a heard post: our text, posted quoting theirs."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from screens.common.safe import safe_text


class QuoteModal(ModalScreen[str | None]):
    """Type what we say above the quoted post; enter queues it, esc cancels."""

    DEFAULT_CSS = """
    QuoteModal { align: center middle; }
    #quote-box { width: 80%; max-width: 100; height: auto; border: round $primary; background: $surface; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="quote.cancel", tooltip="Close without posting")]

    def __init__(self, author: str) -> None:
        super().__init__()
        self.author = author

    def compose(self) -> ComposeResult:
        with Vertical(id="quote-box"):
            title = Text("Quote the post by ", end="")
            title.append_text(safe_text(self.author, "bold", single_line=True, limit=60))
            title.append(" in a post of ours (enter posts, esc cancels)")
            yield Static(title, id="quote-title")
            yield Input(placeholder="Thanks for the kind words!", id="quote-input")

    @on(Input.Submitted, "#quote-input")
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
