"""Dialogs over the inbox: full-text search, the help screen built from live bindings, quit confirmation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from agentconsole.domain.rows import SearchHit
from agentconsole.domain.sanitize import clean

from screens.inbox.conversation_list import channel_short
from screens.common.keys import KeyEntry
from screens.common.safe import safe_text


@dataclass(frozen=True)
class SearchResult:
    hits: tuple[SearchHit, ...]
    index: int


class SearchModal(ModalScreen[SearchResult | None]):
    """Type to search every channel (FTS5); enter opens the hit's conversation."""

    CSS_PATH = "dialogs.tcss"  # read ahead after the first frame (AgentConsoleApp.SCREEN_CSS)

    BINDINGS = [
        Binding("escape", "cancel", "Close", id="search.close", tooltip="Close search"),
        Binding("down", "focus_results", "Results", id="search.results", show=False,
                tooltip="Move into the results"),
    ]

    @dataclass
    class _HitsLoaded(Message):
        query: str
        hits: list[SearchHit]

    def __init__(self, search: Callable[[str], list[SearchHit]], query: str = "") -> None:
        super().__init__()
        self.search = search  # the session's full-text search: [] for an empty query
        self.initial = query
        self.hits: list[SearchHit] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="search-box"):
            yield Static("Search all channels (enter opens, ↓ to pick, esc closes)", id="search-title")
            yield Input(value=self.initial, placeholder="words…", id="search-input")
            yield OptionList(id="search-results")
            yield Static(id="search-status")

    def on_mount(self) -> None:
        if self.initial:
            self._search(self.initial)

    @on(Input.Changed, "#search-input")
    def _changed(self, event: Input.Changed) -> None:
        self._search(event.value)

    @work(thread=True, exclusive=True, group="search", exit_on_error=False, description="Searching")
    def _search(self, query: str) -> None:
        self.post_message(self._HitsLoaded(query, self.search(query)))

    def on_search_modal__hits_loaded(self, message: _HitsLoaded) -> None:
        if message.query != self.query_one(Input).value:
            return  # an older query answered late
        self.hits = message.hits
        results = self.query_one(OptionList)
        results.clear_options()
        results.add_options([Option(self._prompt(hit)) for hit in self.hits])
        if self.hits:
            results.highlighted = 0
        count = len(self.hits)
        self.query_one("#search-status", Static).update(
            Text(f"{count} hit{'s' if count != 1 else ''}" if message.query.strip() else ""))

    def _prompt(self, hit: SearchHit) -> Text:
        text = Text(f"{channel_short(hit.channel):<3}", end="")
        text.append_text(safe_text(hit.author_name, "bold", single_line=True, limit=40))
        text.append("  ")
        text.append_text(safe_text(hit.snippet, single_line=True, limit=200))
        return text

    @on(Input.Submitted, "#search-input")
    def _submitted(self) -> None:
        if self.hits:
            index = self.query_one(OptionList).highlighted or 0
            self.dismiss(SearchResult(tuple(self.hits), index))

    @on(OptionList.OptionSelected, "#search-results")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(SearchResult(tuple(self.hits), event.option_index))

    def action_focus_results(self) -> None:
        if self.hits:
            self.query_one(OptionList).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)


SCOPES = {"list": "Moving", "inbox": "Conversations", "composer": "Composer", "app": "Everywhere",
          "search": "Search"}


class HelpScreen(ModalScreen[None]):
    """Every key, read from the live bindings (so a remapped key shows as remapped)."""

    CSS_PATH = "dialogs.tcss"  # read ahead after the first frame (AgentConsoleApp.SCREEN_CSS)

    BINDINGS = [
        Binding("escape,q,question_mark,f1", "close", "Close", id="help.close", tooltip="Close help"),
    ]

    def __init__(self, entries: list[KeyEntry]) -> None:
        super().__init__()
        self.entries = entries

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Static("Keys (esc closes)", id="help-title")
            with VerticalScroll(id="help-scroll"):
                yield Static(self._body(), id="help-body")

    def _body(self) -> Text:
        text = Text(end="")
        width = max((len(e.keys) for e in self.entries), default=8) + 2
        order = {scope: i for i, scope in enumerate(SCOPES)}
        scope = None
        for entry in sorted(self.entries, key=lambda e: order.get(e.binding.id.split(".")[0], 99)):
            entry_scope = entry.binding.id.split(".")[0]
            if entry_scope != scope:
                scope = entry_scope
                text.append(f"{'' if not text else chr(10)}{SCOPES.get(scope, scope.title())}\n",
                            "bold underline")
            text.append(f"{entry.keys:<{width}}", "bold")
            text.append(entry.binding.description or entry.binding.action)
            if entry.binding.tooltip:
                text.append(f" — {entry.binding.tooltip}", "dim")
            if entry.state is not True:
                text.append("  (not available here)", "dim italic")
            text.append("\n")
        text.rstrip()
        return text

    def action_close(self) -> None:
        self.dismiss(None)


class ConfirmModal(ModalScreen[bool]):
    """A yes/no question; y confirms, n or esc declines."""

    CSS_PATH = "dialogs.tcss"  # read ahead after the first frame (AgentConsoleApp.SCREEN_CSS)

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes", tooltip="Yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no", tooltip="No"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(Text(clean(self.question)), id="confirm-question")
            yield Static(Text("y yes · n no"), id="confirm-keys")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
