"""The `\\` filter box: narrow the current view by channel, kind, assignee and words."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from agentconsole.domain.filters import HELP


class FilterModal(ModalScreen[str | None]):
    """Returns what was typed (empty clears the filter), or None when closed with esc."""

    DEFAULT_CSS = """
    FilterModal { align: center top; }
    FilterModal > Vertical { width: 90%; max-width: 100; height: auto; margin-top: 3;
        border: round $accent; background: $panel; padding: 0 1; }
    FilterModal #filter-help { color: $text-muted; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="filter.cancel", tooltip="Close; the filter stays as it was")]

    def __init__(self, current: str) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Filter this view (enter; empty shows everything)", style="bold"))
            yield Input(self.current, placeholder="e.g. x dm refund", id="filter-input")
            yield Static(Text(HELP), id="filter-help")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
