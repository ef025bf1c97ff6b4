"""The thread as a Line-API view: only the rows on screen are turned into strips, whatever the text's size."""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

_WORD = re.compile(r"\S+\s*|\s+")
KEPT = 8  # texts shown before whose wrapped rows and drawn strips are kept (moving back and forth)


def keep(kept: OrderedDict[Any, Any], key: Hashable, value: object) -> None:
    """*value* under *key*, newest last, the oldest dropped past KEPT entries (Textual's LRUCache never
    replaces the value of a key it holds)."""
    kept[key] = value
    kept.move_to_end(key)
    while len(kept) > KEPT:
        kept.popitem(last=False)


def wrap_offsets(plain: str, width: int) -> list[int]:
    """Where to break *plain* to fit *width* cells: at spaces, long words folded (rich's Text.wrap gives
    the same rows but costs ~0.3 ms a line, too slow for a 200-line part on the UI thread)."""
    ascii_only = plain.isascii()
    offsets: list[int] = []
    used = 0
    for match in _WORD.finditer(plain):
        word = match.group()
        size = len(word) if ascii_only else cell_len(word)
        bare = len(word.rstrip()) if ascii_only else cell_len(word.rstrip())
        if used + bare <= width:
            used += size
            continue
        start = match.start()
        if used:
            offsets.append(start)
            used = 0
        while (len(word) if ascii_only else cell_len(word.rstrip())) > width:  # fold a word wider than a row
            cut = width if ascii_only else _cells_prefix(word, width)
            start += cut
            word = word[cut:]
            offsets.append(start)
        used = len(word) if ascii_only else cell_len(word)
    return offsets


def _cells_prefix(word: str, width: int) -> int:
    """How many characters of *word* fit in *width* cells (at least one)."""
    total = 0
    for i, ch in enumerate(word):
        total += cell_len(ch)
        if total > width:
            return max(1, i)
    return len(word)


class ThreadView(ScrollView, can_focus=True):
    """Shows one rich Text, wrapped to the view's width; render_line builds the visible rows only, and a
    text shown again (the same object: the pane keeps one per conversation) finds its rows and strips."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.text = Text(end="")
        self._rows: list[Text] = []
        self._width = 0
        self._strips: dict[int, Strip] = {}
        # id(text) -> (text, width, rows, strips) of the texts shown before; the text itself is kept so
        # its id names no other while the entry lives.
        self._kept: OrderedDict[int, tuple[Text, int, list[Text], dict[int, Strip]]] = OrderedDict()
        self._style: Style | None = None  # rich_style, kept until the styles change: it walks the ancestors

    def update(self, text: Text) -> None:
        if self._width:
            keep(self._kept, id(self.text), (self.text, self._width, self._rows, self._strips))
        self.text = text
        kept = self._kept.get(id(text))
        if kept is not None and kept[0] is text and kept[1] == self._current_width():
            _, self._width, self._rows, self._strips = kept
            self._set_virtual_size(Size(self._width, len(self._rows)))
            self.refresh()
            return
        self._width = 0  # wrapped again for the current width
        self._strips = {}
        self._layout()

    def _current_width(self) -> int:
        return self.scrollable_content_region.width or self.size.width or 80

    def _layout(self) -> None:
        width = self._current_width()
        if width == self._width:
            return
        self._width = width
        rows: list[Text] = []
        for line in self.text.split("\n", allow_blank=True):
            plain = line.plain
            if len(plain) <= width and cell_len(plain) <= width:
                rows.append(line)  # the common case: no wrapping needed
                continue
            offsets = [o for o in wrap_offsets(plain, width) if 0 < o < len(plain)]
            rows.extend(line.divide(offsets) if offsets else [line])
        self._rows = rows
        self._strips = {}
        self._set_virtual_size(Size(width, len(rows)))
        self.refresh()

    def _set_virtual_size(self, size: Size) -> None:
        """A new thread's size, without a screen-wide layout pass when nothing around it moves: the view's
        own size is fixed by the pane, so only a scrollbar that appears or goes needs one (it changes the
        width the rows wrap to)."""
        old, height = self.virtual_size, self.container_size.height
        if not self.is_mounted or not height or old.width != size.width or (old.height > height) != (
                size.height > height):
            self.virtual_size = size  # a reactive that lays the screen out
            return
        self.set_reactive(ThreadView.virtual_size, size)
        self._scroll_update(size)  # the scrollbar's extent and the scroll offset kept within it

    def on_resize(self) -> None:
        self._layout()

    def _base_style(self) -> Style:
        style = self._style
        if style is None:
            style = self._style = self.rich_style
        return style

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._style = None  # a theme change recolours every row: drawn again
        self._strips = {}
        self._kept.clear()

    def render_line(self, y: int) -> Strip:
        self._layout()
        scroll_x, scroll_y = self.scroll_offset
        index = y + scroll_y
        width = self.scrollable_content_region.width
        style = self._base_style()
        if index >= len(self._rows):
            return Strip.blank(width, style)
        strip = self._strips.get(index)
        if strip is None:
            # A row holds no newline (the text was split at them), so it renders as one line.
            strip = self._strips[index] = Strip(Segment.apply_style(self._rows[index].render(self.app.console),
                                                                    style))
            if len(self._strips) > 2_000:  # a few screens' worth; the rest is cheap to build again
                self._strips.clear()
        return strip.crop_extend(scroll_x, scroll_x + width, style)
