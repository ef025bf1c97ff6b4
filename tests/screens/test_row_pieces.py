"""The list's rows are cut to width from styled pieces exactly as rich's Text.truncate would cut the Text
they form (ellipsis, wide characters, padding), and the first frame already holds them."""

from __future__ import annotations

import random

from rich.style import Style
from rich.text import Text

from screens.common.cells import cut_pieces as _cut_pieces, fit_plain as _fit_plain
from screens.inbox.conversation_list import ConversationList
from tests.screens.helpers import screen_text

WORDS = ["a", "order", " ", "李娜", "Αλέξανδρος", "محمد", "😀", "短短短", "x" * 30, "…", "", "ok "]
STYLES = [None, Style(bold=True), Style(color="red"), Style(italic=True)]


def test_pieces_are_cut_as_rich_truncates():
    rng = random.Random(20)
    for _ in range(3000):
        pieces = [(rng.choice(WORDS), rng.choice(STYLES)) for _ in range(rng.randrange(1, 7))]
        width = rng.randrange(1, 60)
        cut = _cut_pieces(pieces, width)
        text = Text(end="", no_wrap=True, overflow="ellipsis")
        for piece, style in pieces:
            text.append(piece, style)
        text.truncate(width, overflow="ellipsis", pad=True)
        assert "".join(p for p, _ in cut) == text.plain
        # Every character keeps the style rich gives it (the span over it, none for padding).
        styles = [None] * len(text.plain)
        for span in text.spans:
            for i in range(span.start, min(span.end, len(text.plain))):
                styles[i] = span.style
        ours = [style for piece, style in cut for _ in piece]
        assert ours == styles, (pieces, width)


def test_a_name_is_fitted_to_its_cells():
    assert _fit_plain("Dana", 6) == ("Dana", "  ")
    assert _fit_plain("Alexandra Kim", 6) == ("Alexa…", "")
    shown, pad = _fit_plain("李娜李娜", 5)  # two-cell characters: cut at 4 cells, then the ellipsis
    assert shown == "李娜…" and pad == ""


async def test_the_first_frame_shows_rows_and_the_wait_line_without_workers(seeded, monkeypatch):
    from screens.inbox.loading import InboxLoading

    # Workers that would read the list, its rows or the wait line never run: the first frame has them anyway.
    monkeypatch.setattr(ConversationList, "_load", lambda self, ids: None)
    monkeypatch.setattr(InboxLoading, "load_ids", lambda self, view, first_page=False: None)
    monkeypatch.setattr(InboxLoading, "load_wait", lambda self: None)
    app = seeded.app()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        shown = screen_text(app)
        assert "Sam Ortiz" in shown and "Dana Kim" in shown
        assert "Waiting 5" in shown
