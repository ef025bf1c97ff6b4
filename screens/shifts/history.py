"""The shift history screen: who, from–to, where hello and goodbye went, answers and median first response."""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Static

from agentconsole.domain.clock import Clock
from agentconsole.shifts.banner import history_cells
from agentconsole.shifts.service import ShiftRecord

from screens.common.keybar import KeyBar

COLUMNS = ("When", "Agent", "Hello", "Goodbye", "Answered", "Median first response")


class ShiftHistoryScreen(Screen):
    """A table of past and current shifts; *load* runs in a worker thread (it queries the store)."""

    CSS_PATH = "shift.tcss"
    BINDINGS = [
        Binding("escape", "close", "Back", id="history.close", tooltip="Back to the inbox"),
        Binding("r", "reload", "Reload", id="history.reload", tooltip="Read the history again"),
    ]

    @dataclass
    class Loaded(Message):
        records: list[ShiftRecord]

    def __init__(self, load: Callable[[], list[ShiftRecord]], timezone: str, clock: Clock) -> None:
        super().__init__()
        self.load = load
        self.timezone = timezone
        self.clock = clock
        self.records: list[ShiftRecord] = []

    def compose(self) -> ComposeResult:
        yield Static("Shift history", classes="shift-title")
        yield DataTable(id="shift-history", cursor_type="row", zebra_stripes=True)
        yield Static("Loading…", id="history-status")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns(*COLUMNS)
        self.action_reload()

    def action_reload(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, group="shift-history", exit_on_error=False, description="Loading the shift history")
    def _load(self) -> None:
        self.post_message(self.Loaded(self.load()))

    def on_shift_history_screen_loaded(self, message: Loaded) -> None:
        self.records = message.records
        table = self.query_one(DataTable)
        table.clear()
        now = self.clock.now()
        for record in self.records:
            span, who, hello, goodbye, answered, median = history_cells(record, self.timezone, now)
            table.add_row(Text(span), Text(who), Text(hello), Text(goodbye or "–"),
                          Text(answered.removeprefix("answered ")),
                          Text(median.removeprefix("median first response ")))
        status = f"{len(self.records)} shift(s)" if self.records else "No shifts yet."
        self.query_one("#history-status", Static).update(Text(status, end=""))

    def action_close(self) -> None:
        self.dismiss(None)
