"""The console counts spacing vowel signs (Mc) as one cell, as tmux, xterm and VTE draw them."""

from __future__ import annotations

import unicodedata

from rich.cells import cell_len, get_character_cell_size

from screens.common.cells import count_spacing_marks_as_terminals_do


def test_spacing_marks_take_one_cell_and_nothing_else_changes():
    count_spacing_marks_as_terminals_do()
    marks = [cp for cp in range(0x300, 0x20000) if unicodedata.category(chr(cp)) == "Mc"]
    assert len(marks) > 400
    assert all(get_character_cell_size(chr(cp)) == 1 for cp in marks)
    assert get_character_cell_size("\u0301") == 0  # a non-spacing accent stays zero
    assert get_character_cell_size("\u093c") == 0  # Devanagari nukta (Mn) stays zero
    assert cell_len("中文") == 4 and cell_len("abc") == 3
    assert cell_len("किताब") == 5  # क ि त ा ब: three letters and two spacing signs, a cell each
    count_spacing_marks_as_terminals_do()  # idempotent
    assert cell_len("किताब") == 5
