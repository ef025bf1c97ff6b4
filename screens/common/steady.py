"""Widgets that hand out their last rendered lines again while nothing in them changed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.containers import Horizontal, Vertical

if TYPE_CHECKING:
    from textual.geometry import Region
    from textual.strip import Strip


class SteadyLines:
    """Mixed into a widget whose own lines seldom change (a pane's border and background, the key line).

    Each frame Textual renders every widget whose container the changed region touches, whole, even when
    all its lines come from its line cache: its colours worked out through its ancestors, the filters
    applied to each line, each line looked up, ~50-100 µs a widget. A keypress in the list changes two of
    its rows, yet the key line and the conversation pane were rendered like that in every such frame.

    The lines last returned are returned again while Textual's own line cache (the StylesCache it keeps
    per widget, textual pinned in pyproject.toml) says they would be the same: no line marked dirty and
    none forgotten since (every refresh and every style change marks or clears it), the same crop, size
    and line filters."""

    _steady: tuple[Any, int, list[Strip]] | None = None

    def render_lines(self, crop: Region) -> list[Strip]:
        cache = self._styles_cache  # type: ignore[attr-defined]
        key = (crop, self.region.size, tuple(self.app.get_line_filters()))  # type: ignore[attr-defined]
        last = self._steady
        if last is not None and last[0] == key and not cache._dirty_lines and len(cache._cache) == last[1]:
            return last[2]
        lines: list[Strip] = super().render_lines(crop)  # type: ignore[misc]
        self._steady = (key, len(cache._cache), lines)
        return lines



class SteadyHorizontal(SteadyLines, Horizontal):
    """A Horizontal whose own lines (the background behind its children) are handed back unchanged."""


class SteadyVertical(SteadyLines, Vertical):
    """A Vertical whose own lines (the background behind its children) are handed back unchanged."""
