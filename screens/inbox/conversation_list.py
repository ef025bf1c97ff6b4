"""The conversation list: a Line-API ScrollView over an id array, rows fetched by window, strips cached."""

from __future__ import annotations

import time
from array import array
from collections import deque
from collections.abc import Callable, Collection, Iterable, Sequence

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events, work
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from agentconsole.domain.clock import Clock
from agentconsole.response.hours import HoursConfig
from agentconsole.domain.models import Channel, Kind, Status
from agentconsole.domain.rows import ConversationRow, initials_of
from agentconsole.response.rule import ResponseRule, RowWait, WaitState
from agentconsole.response.sla import Targets
from agentconsole.session.idlist import IdList
from agentconsole.session.listing import find_id
from agentconsole.triage.score import level_of

from screens.common.cells import cut_pieces, fit_plain
from screens.common.safe import safe_line

RowLoader = Callable[[Sequence[int]], dict[int, ConversationRow]]

WAIT_WIDTH = 8  # mark + "23h59m" + space
_STATE_PART = {WaitState.WITHIN: "row--ok", WaitState.NEAR: "row--near", WaitState.OVER: "row--over"}
CHANNEL_WIDTH = 6  # "FB dm "
DRAFT_MARK = "✐"  # an unsent draft of this agent's: one cell (U+2710, no emoji form), unlike the others' ✎ + initials


def heat_mark(row: ConversationRow) -> str:
    """The triage mark of a waiting row ("" when calm or nothing waits): text, so NO_COLOR reads it."""
    if not row.heat or not row.needs_reply or row.status == Status.DONE:
        return ""
    return level_of(row.heat).mark


def channel_short(channel: str) -> str:
    try:
        return Channel(channel).short
    except ValueError:
        return channel[:2].upper()


class ConversationList(ScrollView, can_focus=True):
    """Every conversation of a view, one line each; only the visible page ±1 is ever in memory."""

    BINDINGS = [
        Binding("j,down", "cursor_down", "Down", id="list.down", show=False, tooltip="Next conversation"),
        Binding("k,up", "cursor_up", "Up", id="list.up", show=False, tooltip="Previous conversation"),
        Binding("g,home", "cursor_first", "Top", id="list.top", show=False, tooltip="First conversation"),
        Binding("G,end", "cursor_last", "Bottom", id="list.bottom", show=False,
                tooltip="Last conversation"),
        Binding("ctrl+d,pagedown", "half_page(1)", "Half page down", id="list.half_down", show=False,
                tooltip="Move down half a page"),
        Binding("ctrl+u,pageup", "half_page(-1)", "Half page up", id="list.half_up", show=False,
                tooltip="Move up half a page"),
        Binding("enter", "open", "Open", id="list.open", tooltip="Open the conversation in the pane"),
    ]

    COMPONENT_CLASSES = {
        "row--cursor", "row--ok", "row--near", "row--over", "row--done", "row--answered",
        "row--name", "row--preview", "row--loading", "row--channel",
    }

    class Highlighted(Message):
        """The cursor moved onto a conversation."""

        def __init__(self, conversation_id: int | None) -> None:
            super().__init__()
            self.conversation_id = conversation_id

    class Opened(Message):
        """The agent pressed enter on a conversation."""

        def __init__(self, conversation_id: int) -> None:
            super().__init__()
            self.conversation_id = conversation_id

    class _RowsLoaded(Message):
        def __init__(self, rows: dict[int, ConversationRow], requested: tuple[int, ...]) -> None:
            super().__init__()
            self.rows = rows
            self.requested = requested

    def __init__(self, loader: RowLoader, clock: Clock, targets: Targets, hours: HoursConfig | None = None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.loader = loader
        self.clock = clock
        self.rule = ResponseRule(targets, hours)  # each row's wait, state and mark, as every view judges it
        self.ids: IdList | array = IdList()
        self._rows: dict[int, ConversationRow] = {}
        self._stale: set[int] = set()
        self._loading: set[int] = set()
        self._strips: LRUCache[tuple, Strip] = LRUCache(512)
        self._pieces: LRUCache[tuple, tuple] = LRUCache(1024)  # a row's measured text, whatever the cursor
        self._styles: dict[object, Style] = {}  # the row styles, kept until the styles change
        self._waits: dict[int, RowWait] = {}  # y -> wait last drawn, so the tick repaints only changes
        self.selected_id: int | None = None
        self.cursor = 0  # a plain attribute: a reactive would repaint the whole list on every move
        self.marked: set[int] = set()  # conversations marked with space for a bulk action
        self.empty_text = ""  # shown once a view's ids have loaded and there are none
        self._loaded = False
        self.presence: dict[int, str] = {}  # conversation id -> who else is on it ("✎BL"), from the screen
        self.drafted: frozenset[int] = frozenset()  # conversations holding this agent's unsent draft
        # Keypress-to-repaint timings in seconds, newest last; benchmarks read it.
        self.render_timings: deque[float] = deque(maxlen=512)

    # ------------------------------------------------------------------ data in

    def set_ids(self, ids: IdList | array, empty_text: str = "") -> None:
        """Show a new id list, keeping the cursor on the selected conversation if it is still there;
        *empty_text* says what an empty list means."""
        self.ids = ids
        self.empty_text, self._loaded = empty_text, True
        self._waits.clear()
        self._stale.update(self._rows)
        self.virtual_size = Size(self.size.width, len(ids))
        index = None
        if self.selected_id is not None:
            try:
                index = ids.index(self.selected_id)
            except ValueError:
                index = None
        if index is None:
            index = min(self.cursor, max(0, len(ids) - 1))
        self._move(index, announce=self.selected_id != (ids[index] if ids else None))
        self._request_window()
        self.refresh()

    def prime(self, rows: dict[int, ConversationRow]) -> None:
        """Rows read before the ids are set (the first frame's): drawn at once, never fetched again."""
        self._rows.update(rows)

    def first_page(self) -> int:
        """How many rows the first frame shows: the list's height before the first layout is known from
        the screen's (a few more rows than fit are harmless)."""
        return max(self.size.height, self.app.size.height) + 1

    def update_ids(self, ids: IdList | array, changed: Iterable[int]) -> None:
        """The same view after a targeted refresh: a few rows moved, came or went. Rows already read stay
        (only the *changed* ones are read again, and new ones in the window); the cursor stays on the
        selected row, looked for where the refresh put it if it moved it, else near where it was."""
        self.ids = ids
        self._loaded = True
        self._waits.clear()
        self._stale.update(i for i in changed if i in self._rows)
        self.virtual_size = Size(self.size.width, len(ids))
        near = ids.placed.get(self.selected_id or 0, self.cursor) if isinstance(ids, IdList) else self.cursor
        index = find_id(ids, self.selected_id, near) if self.selected_id is not None else None
        if index is None:
            index = min(self.cursor, max(0, len(ids) - 1))
        self._move(index, announce=self.selected_id != (ids[index] if ids else None))
        self._request_window()
        self.refresh()

    def invalidate(self, conversation_ids: Iterable[int] | None = None) -> None:
        """Rows changed in the DB: fetch them again (the old row stays drawn until the new arrives)."""
        self._stale.update(self._rows if conversation_ids is None else
                           (i for i in conversation_ids if i in self._rows))
        self._request_window()

    def front_size(self) -> int:
        """How many ids from the top a refresh reads again: down to two pages below what is shown."""
        return int(self.scroll_y) + 3 * max(1, self.size.height) + 1

    def set_presence(self, marks: dict[int, str]) -> None:
        """Other agents' marks by conversation; repaints only the visible rows whose mark changed."""
        old, self.presence = self.presence, marks
        self._refresh_visible({cid for cid in old.keys() | marks.keys() if old.get(cid) != marks.get(cid)})

    def set_drafted(self, conversation_ids: frozenset[int]) -> None:
        """The conversations with an unsent draft of this agent's; repaints the visible rows that changed."""
        old, self.drafted = self.drafted, conversation_ids
        self._refresh_visible(old ^ conversation_ids)

    def _refresh_visible(self, changed: Collection[int]) -> None:
        top = int(self.scroll_y)
        for y in range(top, min(len(self.ids), top + self.size.height)):
            if self.ids[y] in changed:
                self.refresh_line(y)

    @property
    def selected_row(self) -> ConversationRow | None:
        return self._rows.get(self.selected_id) if self.selected_id is not None else None

    def _window(self, pages: int = 1) -> range:
        """The visible rows plus *pages* pages either side."""
        height = max(1, self.size.height)
        top = int(self.scroll_y)
        return range(max(0, top - pages * height), min(len(self.ids), top + (pages + 1) * height + 1))

    def _request_window(self) -> None:
        """Load rows when the visible page ±1 has gaps; then fetch ±2 so the next scrolls need none."""
        ids, rows = self.ids, self._rows
        if all(ids[i] in rows and ids[i] not in self._stale for i in self._window(1)):
            return
        wanted = tuple(ids[i] for i in self._window(2)
                       if (ids[i] not in rows or ids[i] in self._stale) and ids[i] not in self._loading)
        if wanted:
            self._loading.update(wanted)
            self._load(wanted)

    @work(thread=True, group="list-rows", exit_on_error=False, description="Loading the list rows")
    def _load(self, ids: tuple[int, ...]) -> None:
        self.post_message(self._RowsLoaded(self.loader(ids), ids))

    def on_conversation_list__rows_loaded(self, message: _RowsLoaded) -> None:
        message.stop()
        self._loading.difference_update(message.requested)
        self._stale.difference_update(message.requested)
        requested = set(message.requested)
        top = int(self.scroll_y)
        shown = {y: self._rows.get(self.ids[y]) for y in range(top, min(len(self.ids), top + self.size.height))
                 if self.ids[y] in requested}
        self._rows.update(message.rows)
        for gone in requested - message.rows.keys():
            self._rows.pop(gone, None)
        self._trim()
        # Only the lines on screen whose row came or changed: most of a window read ahead is off screen,
        # and a row read again after a change elsewhere is mostly the same (a full repaint draws ~30 rows).
        for y, before in shown.items():
            if self._rows.get(self.ids[y]) != before:
                self.refresh_line(y)
        if self.selected_id in message.rows:
            self.post_message(self.Highlighted(self.selected_id))

    def _trim(self) -> None:
        """Forget rows far outside the window so memory stays flat at any list size."""
        if len(self._rows) <= 1000:
            return
        keep = {self.ids[i] for i in self._window(2)}
        for key in [k for k in self._rows if k not in keep]:
            del self._rows[key]

    # ------------------------------------------------------------------ cursor and keys

    def _move(self, index: int, announce: bool = True) -> None:
        if not self.ids:
            self.selected_id = None
            self.cursor = 0
            if announce:
                self.post_message(self.Highlighted(None))
            return
        index = max(0, min(index, len(self.ids) - 1))
        previous = self.cursor
        self.cursor = index
        self.selected_id = self.ids[index]
        if not self._scroll_to_cursor():  # a scroll repaints the whole page anyway
            top = int(self.scroll_y)
            for y in {previous, index}:
                if top <= y < top + self.size.height:
                    self.refresh_line(y)
        if announce:
            self.post_message(self.Highlighted(self.selected_id))

    def _scroll_to_cursor(self) -> bool:
        """Scroll so the cursor is visible; True when that scrolled."""
        height = max(1, self.size.height)
        top = int(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)
        else:
            return False
        self._request_window()
        return True

    def _timed_move(self, index: int) -> None:
        """A key's move: the frame that follows the key redraws only the cursor's rows (or the scrolled
        page); Highlighted, which loads the pane and rechecks the footer, is posted once that frame is
        drawn, so its handlers run after it instead of between the key and its frame."""
        started = time.perf_counter()
        self._move(index, announce=False)
        self.call_after_refresh(self._after_key_frame, started)

    def _after_key_frame(self, started: float) -> None:
        self.render_timings.append(time.perf_counter() - started)
        self.post_message(self.Highlighted(self.selected_id))

    def select_id(self, conversation_id: int) -> bool:
        """Put the cursor on *conversation_id* if this list has it."""
        index = find_id(self.ids, conversation_id, self.cursor)
        if index is None:
            return False
        self._move(index)
        return True

    def action_cursor_down(self) -> None:
        self._timed_move(self.cursor + 1)

    def action_cursor_up(self) -> None:
        self._timed_move(self.cursor - 1)

    def action_cursor_first(self) -> None:
        self._timed_move(0)

    def action_cursor_last(self) -> None:
        self._timed_move(len(self.ids) - 1)

    def action_half_page(self, direction: int) -> None:
        self._timed_move(self.cursor + direction * max(1, self.size.height // 2))

    def action_open(self) -> None:
        if self.selected_id is not None:
            self.post_message(self.Opened(self.selected_id))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open" and not self.ids:
            return None
        return True

    def on_click(self, event: events.Click) -> None:
        index = int(self.scroll_y) + event.y
        if 0 <= index < len(self.ids):
            self._move(index)
            if event.chain >= 2:
                self.action_open()

    # ------------------------------------------------------------------ drawing

    def tick(self) -> None:
        """The one-second clock: repaint only the visible lines whose waiting time text changed."""
        top = int(self.scroll_y)
        now = self.clock.now()
        for y in range(top, min(len(self.ids), top + self.size.height)):
            row = self._rows.get(self.ids[y])
            if row is not None and self._waits.get(y) != self.rule.row_wait(row, now):
                self.refresh_line(y)

    def render_line(self, y: int) -> Strip:
        index = int(self.scroll_y) + y
        width = self.size.width
        if index >= len(self.ids):
            if not self.ids and self._loaded and self.empty_text:
                import textwrap  # only for an empty view

                lines = textwrap.wrap(self.empty_text, max(10, width - 2))
                if y < len(lines):
                    text = _fit(Text(" " + lines[y], end=""), width)
                    return Strip([Segment(text.plain, self.rich_style + self._part("row--loading"))], width)
            return Strip.blank(width, self.rich_style)
        row = self._rows.get(self.ids[index])
        selected = index == self.cursor
        if row is None:
            self._waits.pop(index, None)
            style = self.get_component_rich_style("row--loading")
            if selected:
                style += self.get_component_rich_style("row--cursor")
            return Strip([Segment(" …".ljust(width), style)], width)
        wait = self.rule.row_wait(row, self.clock.now())
        self._waits[index] = wait
        focused = selected and self.has_focus
        marked = row.id in self.marked
        present = self.presence.get(row.id, "")
        drafted = row.id in self.drafted
        key = (row, width, selected, focused, wait, marked, present, drafted)
        strip = self._strips.get(key)
        if strip is None:
            strip = self._render_row(row, width, selected, focused, wait, marked, present, drafted)
            self._strips[key] = strip
        return strip

    def toggle_mark(self) -> int | None:
        """Mark or unmark the selected conversation; returns it (None when the list is empty)."""
        conversation_id = self.selected_id
        if conversation_id is None:
            return None
        self.marked.symmetric_difference_update({conversation_id})
        self.refresh_line(self.cursor)
        return conversation_id

    def clear_marks(self) -> None:
        self.marked.clear()
        self.refresh()

    def _render_row(self, row: ConversationRow, width: int, selected: bool, focused: bool, wait: RowWait,
                    marked: bool = False, present: str = "", drafted: bool = False) -> Strip:
        """One row's strip, built from its cached pieces: moving the cursor onto a row seen before only
        puts the cursor style on them."""
        key = (row, width, wait, marked, present, drafted)
        pieces = self._pieces.get(key)
        if pieces is None:
            pieces = self._pieces[key] = self._row_pieces(row, width, wait, marked, present, drafted)
        style = self._row_style(selected, focused)
        return Strip([Segment(text, style + part if part else style) for text, part in pieces], width).simplify()

    def _row_pieces(self, row: ConversationRow, width: int, wait: RowWait, marked: bool,
                    present: str, drafted: bool = False) -> tuple[tuple[str, Style | None], ...]:
        """The row as (text, part style) pieces exactly *width* cells wide, measured and cut directly
        (as rich's Text.truncate would with an ellipsis, but without building a Text per row)."""
        if wait.done:
            wait_style = self._part("row--done")
        elif wait.state is None:
            wait_style = self._part("row--answered")
        else:
            wait_style = self._part(_STATE_PART[wait.state])
        name_width = max(8, min(22, width // 4))
        who = row.contact_name or row.handle
        if row.handle and row.contact_name and row.handle != row.contact_name and width >= 70:
            who = f"{row.contact_name} {row.handle}"
        pieces: list[tuple[str, Style | None]] = [(f"{wait.mark}{wait.text:>{WAIT_WIDTH - 2}} ", wait_style)]
        # What the row is: "dm" marks a private conversation (public mentions and email need no mark).
        kind = "dm" if row.kind == Kind.DM else ""
        pieces.append((f"{channel_short(row.channel)} {kind}".ljust(CHANNEL_WIDTH), self._part("row--channel")))
        if marked:
            pieces.append(("◆ ", self._part("row--over") + Style(bold=True)))
            name_width -= 2
        if row.assignee_name:  # whose it is, by initials: (AN)
            owner = f"({initials_of(row.assignee_name)[:3]})"
            pieces.append((f"{owner} ", self._part("row--channel")))
            name_width -= len(owner) + 1
        heat = heat_mark(row)  # how upset or urgent the wait reads: !! angry, ! upset (issue 23)
        if heat:
            pieces.append((f"{heat:<2} ", self._part("row--over") + Style(bold=True)))
            name_width -= 3
        if present:  # another agent is here: initials, ✎ when they are replying
            pieces.append((f"{present} ", self._part("row--near") + Style(bold=True)))
            name_width -= len(present) + 1
        if drafted:  # this agent's unsent reply or note waits here (r or c opens it)
            pieces.append((f"{DRAFT_MARK} ", self._part("row--near")))
            name_width -= 2
        name, pad = fit_plain(safe_line(who, 120), name_width)
        pieces.append((name + pad, self._part("row--name")))
        pieces.append((" ", None))
        preview = row.subject if row.channel == Channel.EMAIL and row.subject else row.last_preview
        pieces.append((safe_line(preview, 200), self._part("row--preview")))
        return cut_pieces(pieces, width)

    def _part(self, name: str) -> Style:
        # Textual forgets its component style cache on every refresh (each cursor move); these only
        # change with the styles, so they are kept until notify_style_update.
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = self.get_component_rich_style(name, partial=True)
        return style

    def _row_style(self, selected: bool, focused: bool) -> Style:
        """The whole row's style under its parts: the list's own, with the cursor's when selected."""
        key = ("row", selected, focused)
        style = self._styles.get(key)
        if style is None:
            style = self.rich_style
            if selected:
                style = style + self.get_component_rich_style("row--cursor")
                if not focused:
                    style += Style(dim=True)
            self._styles[key] = style
        return style

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()  # a theme change recolours every row
        self._pieces.clear()
        self._styles.clear()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if round(old_value) != round(new_value):
            self._waits.clear()  # only what is visible needs remembering
            self._request_window()

    def on_resize(self, event: events.Resize) -> None:
        self.virtual_size = Size(event.size.width, len(self.ids))
        self._request_window()

    def on_focus(self) -> None:
        self.refresh_line(self.cursor)

    def on_blur(self) -> None:
        self.refresh_line(self.cursor)


def _fit(text: Text, width: int) -> Text:
    """Exactly *width* cells: cut with an ellipsis or padded, counting wide characters as two."""
    text = text.copy()
    text.truncate(width, overflow="ellipsis", pad=True)
    return text
