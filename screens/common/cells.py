"""Cell widths as real terminals draw them, where rich's table disagrees: spacing vowel signs."""

from __future__ import annotations

import unicodedata


def _spacing_mark(cp: int) -> bool:
    """Category Mc: the spacing vowel signs of Devanagari, Bengali, Tamil, Thai ... Terminals that
    measure with wcwidth (tmux, xterm, VTE) give each one cell."""
    return unicodedata.category(chr(cp)) == "Mc"


def count_spacing_marks_as_terminals_do() -> None:
    """Make rich, and so Textual, count every spacing mark as one cell instead of zero.

    rich's width table gives them no width, so a row with a Hindi or Tamil word was drawn wider than
    Textual laid it out and pushed the pane border. The loaded table (a list, cached per version) is
    rewritten in place: zero-width spans lose their spacing marks, which then fall in the gaps rich
    counts as one cell. Only the zero-width spans are scanned (a few thousand code points, ~1 ms);
    calling it again finds nothing to change."""
    from rich import cells

    table = cells.load_cell_table("auto").widths
    if not isinstance(table, list):
        return
    fixed: list[tuple[int, int, int]] = []
    changed = False
    for start, end, width in table:
        if width != 0:
            fixed.append((start, end, width))
            continue
        run_start = None
        for cp in range(start, end + 1):
            if _spacing_mark(cp):
                changed = True
                if run_start is not None:
                    fixed.append((run_start, cp - 1, 0))
                    run_start = None
            elif run_start is None:
                run_start = cp
        if run_start is not None:
            fixed.append((run_start, end, 0))
    if changed:
        table[:] = fixed
        cells.get_character_cell_size.cache_clear()
        cells.cached_cell_len.cache_clear()
