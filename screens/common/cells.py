"""Cell widths as real terminals draw them, where rich's table disagrees (spacing vowel signs), and lines
cut to a number of cells as rich cuts them, measured only as far as the cut."""

from __future__ import annotations

import unicodedata

from rich.cells import cell_len, get_character_cell_size, set_cell_size
from rich.style import Style


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


def fit_plain(plain: str, width: int) -> tuple[str, str]:
    """*plain* cut to *width* cells with an ellipsis, and the spaces that pad it to *width* (rich's
    Text.truncate(width, overflow="ellipsis", pad=True), on a plain string)."""
    length = cell_len(plain)
    if length > width:
        return set_cell_size(plain, width - 1) + "…", ""
    return plain, " " * (width - length)


def cut_pieces(pieces: list[tuple[str, Style | None]], width: int) -> tuple[tuple[str, Style | None], ...]:
    """Styled pieces made exactly *width* cells as rich's Text.truncate(width, "ellipsis", pad=True) makes
    the Text they would form: the line cut at width - 1 cells plus "…", each piece keeping its share of
    what is left (the ellipsis goes to the piece it replaces), a short line padded with unstyled spaces."""
    plain = "".join(text for text, _ in pieces)
    cut = cut_line(plain, width)
    if cut is None:
        length = cell_len(plain)
        out = [piece for piece in pieces if piece[0]]
        if length < width:
            out.append((" " * (width - length), None))
        return tuple(out)
    out, start = [], 0
    for text, style in pieces:
        if start >= len(cut):
            break
        end = min(start + len(text), len(cut))
        if end > start:
            out.append((cut[start:end], style))
        start += len(text)
    return tuple(out)


def cut_line(plain: str, width: int) -> str | None:
    """*plain* cut as rich's set_cell_size(plain, width - 1) + "…" cuts it, or None when it fits in *width*
    cells; measured only up to the cut, where rich splits every grapheme of the line (a preview runs to
    200 characters, a row shows ~60 cells)."""
    if plain.isascii() and plain.isprintable():
        return plain[: width - 1] + "…" if len(plain) > width else None
    if "\u200d" in plain or "\ufe0f" in plain:  # joined graphemes: rich's own measure
        return set_cell_size(plain, width - 1) + "…" if cell_len(plain) > width else None
    # Otherwise a grapheme is one measured character and the zero-width ones after it.
    total, used, cut = width - 1, 0, None
    for i, ch in enumerate(plain):
        size = get_character_cell_size(ch)
        if not size:
            continue
        if cut is None and used + size > total:
            cut = plain[:i] + " " * (total - used)  # a wide character across the cut leaves a space
        used += size
        if used > width:
            return f"{cut}…"
    return None
