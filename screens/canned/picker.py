"""Canned replies in the UI: the picker for the composer and the library management screen."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from agentconsole.replies.canned import Canned, CannedLibrary, search
from agentconsole.replies.lengths import measure
from agentconsole.domain.models import Channel, Kind
from agentconsole.domain.sanitize import clean, one_line
from agentconsole.replies.templates import Filled, Gap, fill, parse

from screens.canned.editor import CannedEditModal
from screens.common.modals import ConfirmModal
from screens.common.keybar import KeyBar

GAP_STYLE = "bold reverse"
SLOT_STYLE = "bold underline"


@dataclass(frozen=True, slots=True)
class Picked:
    """What the picker hands back: the filled text to insert, and where it came from."""

    template_id: int
    shortcut: str
    text: str
    gaps: tuple[Gap, ...]


def filled_text(filled: Filled) -> Text:
    """The filled reply as plain Text, each unfilled gap highlighted so the agent sees what to write."""
    text = Text()
    pos = 0
    for gap in filled.gaps:
        text.append(clean(filled.text[pos:gap.start]))
        text.append(clean(filled.text[gap.start:gap.end]), style=GAP_STYLE)
        pos = gap.end
    text.append(clean(filled.text[pos:]))
    return text


def body_text(canned: Canned) -> Text:
    """A template's body with its placeholders underlined (the source, unfilled)."""
    text = Text()
    for part in parse(canned.body).parts:
        if isinstance(part, str):
            text.append(clean(part.replace("{", "{{").replace("}", "}}")))
        else:
            inner = part.name if part.fallback is None else f"{part.name}|{part.fallback}"
            text.append(clean("{" + inner + "}"), style=SLOT_STYLE)
    return text


def option_for(canned: Canned) -> Option:
    prompt = Text(no_wrap=True, overflow="ellipsis")
    prompt.append("/" + one_line(canned.shortcut, 32), style="bold")
    prompt.append("  " + one_line(canned.name, 60))
    return Option(prompt, id=str(canned.id))


class _Listing:
    """The list + search state both canned screens share: templates, the query, and the current hit."""

    def __init__(self) -> None:
        self.templates: list[Canned] = []
        self.shown: list[Canned] = []

    def show(self, option_list: OptionList, query: str, select_id: int | None = None) -> None:
        self.shown = search(self.templates, query, limit=200) if query.strip() else list(self.templates)
        option_list.clear_options()
        option_list.add_options([option_for(t) for t in self.shown])
        if self.shown:
            index = next((i for i, t in enumerate(self.shown) if t.id == select_id), 0)
            option_list.highlighted = index

    def current(self, option_list: OptionList) -> Canned | None:
        index = option_list.highlighted
        if index is None or not 0 <= index < len(self.shown):
            return None
        return self.shown[index]


class CannedReplyModal(ModalScreen[Picked | None]):
    """The picker: fuzzy search, suggestions for the customer's last message, a filled preview."""

    CSS_PATH = "canned.tcss"
    BINDINGS = [
        Binding("escape", "cancel", "Close", id="canned_picker.close", tooltip="Close without inserting"),
        Binding("enter", "pick", "Insert", id="canned_picker.insert", priority=True,
                tooltip="Insert the highlighted reply, filled for this customer"),
        Binding("down,ctrl+n", "move(1)", "Next", id="canned_picker.next", show=False,
                tooltip="Next reply"),
        Binding("up,ctrl+p", "move(-1)", "Previous", id="canned_picker.previous", show=False,
                tooltip="Previous reply"),
    ]

    @dataclass
    class Loaded(Message):
        templates: list[Canned]

    def __init__(self, library: CannedLibrary, values: Mapping[str, str | None], *, message: str = "",
                 channel: Channel | str | None = None, kind: Kind | str | None = None,
                 query: str = "", limit: int | None = None) -> None:
        super().__init__()
        self._limit = limit
        self._library = library
        self._values = dict(values)
        self._message = message
        self._channel = channel
        self._kind = kind
        self._query = query
        self._listing = _Listing()
        self._loaded = False

    def compose(self) -> ComposeResult:
        with Vertical(id="canned-picker", classes="dialog"):
            yield Input(self._query, placeholder="search canned replies: /shortcut, name or words",
                        id="picker-search", compact=True)
            with Horizontal(id="picker-body"):
                yield OptionList(id="picker-list")
                yield Static("", id="picker-preview")
            yield Static(Text("enter insert · ↑↓ choose · esc close"), id="picker-hint")

    def on_mount(self) -> None:
        self.query_one("#picker-list", OptionList).can_focus = False
        self.query_one("#picker-search", Input).focus()
        self._load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="canned-picker", description="Loading the canned replies")
    def _load(self) -> None:
        ranked = self._library.suggest(self._message, self._channel, self._kind)
        self.post_message(self.Loaded(ranked))

    def on_canned_reply_modal_loaded(self, message: Loaded) -> None:
        self._listing.templates = message.templates
        self._loaded = True
        self._refresh()

    @on(Input.Changed, "#picker-search")
    def _refresh(self) -> None:
        option_list = self.query_one("#picker-list", OptionList)
        self._listing.show(option_list, self.query_one("#picker-search", Input).value)
        self._preview()

    @on(OptionList.OptionHighlighted, "#picker-list")
    def _preview(self) -> None:
        preview = self.query_one("#picker-preview", Static)
        canned = self._listing.current(self.query_one("#picker-list", OptionList))
        if canned is None:
            empty = not self._listing.templates
            preview.update(Text(
                "Loading…" if not self._loaded else
                "No canned replies for this channel yet: add some in the library." if empty else
                "Nothing matches."))
            return
        filled = fill(canned.body, self._values)
        text = filled_text(filled)
        notes = []
        if self._channel is not None and self._kind is not None:
            notes.append(measure(filled.text, self._channel, self._kind, self._limit).describe())
        if filled.gaps:
            notes.append("fill in " + ", ".join(dict.fromkeys("{" + g.name + "}" for g in filled.gaps))
                         + " before sending")
        if notes:
            text.append("\n\n" + " · ".join(notes), style="dim")
        preview.update(text)

    @on(OptionList.OptionSelected, "#picker-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.option_list.highlighted = event.option_index
        self.action_pick()

    def action_move(self, step: int) -> None:
        option_list = self.query_one("#picker-list", OptionList)
        if option_list.option_count:
            current = option_list.highlighted or 0
            option_list.highlighted = max(0, min(option_list.option_count - 1, current + step))

    def action_pick(self) -> None:
        canned = self._listing.current(self.query_one("#picker-list", OptionList))
        if canned is None:
            self.app.bell()
            return
        filled = fill(canned.body, self._values)
        self.dismiss(Picked(canned.id, canned.shortcut, filled.text, filled.gaps))

    def action_cancel(self) -> None:
        self.dismiss(None)


class CannedScreen(Screen[None]):
    """The library: list, search, create, edit, duplicate and delete canned replies."""

    CSS_PATH = "canned.tcss"
    BINDINGS = [
        Binding("n", "create", "New", id="canned.create", tooltip="Write a new canned reply"),
        Binding("e", "edit", "Edit", id="canned.edit", tooltip="Edit the highlighted reply"),
        Binding("c", "duplicate", "Duplicate", id="canned.duplicate", tooltip="Copy the highlighted reply"),
        Binding("x,delete", "delete", "Delete", id="canned.delete", tooltip="Delete the highlighted reply"),
        Binding("slash", "search", "Search", id="canned.search", tooltip="Search by shortcut, name or text"),
        Binding("escape", "back", "Back", id="canned.back", tooltip="Leave the library"),
    ]

    @dataclass
    class Loaded(Message):
        templates: list[Canned]
        select_id: int | None

    @dataclass
    class Failed(Message):
        error: str

    def __init__(self, library: CannedLibrary) -> None:
        super().__init__()
        self._library = library
        self._listing = _Listing()

    def compose(self) -> ComposeResult:
        with Vertical(id="canned-library"):
            yield Static(Text("Canned replies"), classes="dialog-title")
            yield Input(placeholder="/ search by shortcut, name or text", id="library-search", compact=True)
            with Horizontal(id="library-body"):
                yield OptionList(id="library-list")
                yield Static("", id="library-preview")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#library-list", OptionList).focus()
        self._reload()

    @work(thread=True, exclusive=True, exit_on_error=False, group="canned-library", description="Reloading the canned replies")
    def _reload(self, select_id: int | None = None) -> None:
        self.post_message(self.Loaded(self._library.all(), select_id))

    @work(thread=True, exclusive=True, exit_on_error=False, group="canned-library-write", description="Saving the canned reply change")
    def _write(self, action: str, canned_id: int) -> None:
        try:
            new_id = self._library.duplicate(canned_id) if action == "duplicate" else None
            if action == "delete":
                self._library.delete(canned_id)
        except ValueError as exc:
            self.post_message(self.Failed(str(exc)))
            return
        self.post_message(self.Loaded(self._library.all(), new_id))

    def on_canned_screen_loaded(self, message: Loaded) -> None:
        self._listing.templates = message.templates
        self._show(message.select_id)

    def on_canned_screen_failed(self, message: Failed) -> None:
        self.notify(clean(message.error), severity="error", markup=False)

    @on(Input.Changed, "#library-search")
    def _search_changed(self) -> None:
        self._show(None)

    @on(Input.Submitted, "#library-search")
    def _search_done(self) -> None:
        self.query_one("#library-list", OptionList).focus()

    def _show(self, select_id: int | None) -> None:
        current = self._current()
        option_list = self.query_one("#library-list", OptionList)
        query = self.query_one("#library-search", Input).value
        self._listing.show(option_list, query, select_id or (current.id if current else None))
        self._preview()
        self.refresh_bindings()

    @on(OptionList.OptionHighlighted, "#library-list")
    def _preview(self) -> None:
        preview = self.query_one("#library-preview", Static)
        canned = self._current()
        if canned is None:
            preview.update(Text("No canned replies yet: press n to write one." if not self._listing.templates
                                else "Nothing matches."))
            return
        text = Text()
        text.append(one_line(canned.name, 80) + "\n", style="bold")
        text.append(f"/{canned.shortcut} · used {canned.usage_count}×\n")
        text.append("channels: " + (", ".join(canned.channels) or "all"))
        text.append(" · kinds: " + (", ".join(canned.kinds) or "all") + "\n")
        if canned.tags:
            text.append("tags: " + one_line(", ".join(canned.tags), 200) + "\n")
        text.append("\n")
        text.append_text(body_text(canned))
        preview.update(text)

    @on(OptionList.OptionSelected, "#library-list")
    def _selected(self) -> None:
        self.action_edit()

    def _current(self) -> Canned | None:
        return self._listing.current(self.query_one("#library-list", OptionList))

    def action_search(self) -> None:
        self.query_one("#library-search", Input).focus()

    def action_create(self) -> None:
        self.app.push_screen(CannedEditModal(None, self._library.create), self._after_edit)

    def action_edit(self) -> None:
        canned = self._current()
        if canned is None:
            return
        canned_id = canned.id

        def save(draft) -> int:
            self._library.update(canned_id, draft)
            return canned_id

        self.app.push_screen(CannedEditModal(canned.draft, save, title=f"Edit /{canned.shortcut}"),
                             self._after_edit)

    def _after_edit(self, saved_id: int | None) -> None:
        if saved_id is not None:
            self._reload(saved_id)

    def action_duplicate(self) -> None:
        canned = self._current()
        if canned is not None:
            self._write("duplicate", canned.id)

    def action_delete(self) -> None:
        canned = self._current()
        if canned is None:
            return
        question = f"Delete /{canned.shortcut} “{one_line(canned.name, 60)}”? This cannot be undone."

        def answered(yes: bool | None) -> None:
            if yes:
                self._write("delete", canned.id)

        self.app.push_screen(ConfirmModal(question), answered)

    def action_back(self) -> None:
        if self.query_one("#library-search", Input).has_focus:
            self.query_one("#library-list", OptionList).focus()
            return
        self.dismiss(None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in {"edit", "duplicate", "delete"} and self.is_mounted:
            return True if self._listing.shown else None
        return True
