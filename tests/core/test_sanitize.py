"""The untrusted-text sanitiser: no escape sequence, control or bidi trick survives it."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from agentconsole.domain.sanitize import clean, one_line

HOSTILE = {
    "csi_clear": ("a\x1b[2Jb", "ab"),
    "sgr": ("\x1b[31mred\x1b[0m", "red"),
    "osc52_clipboard": ("x\x1b]52;c;ZXZpbA==\x07y", "xy"),
    "osc8_link_st": ("\x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\", "click"),
    "title": ("\x1b]0;pwned\x07ok", "ok"),
    "dcs": ("\x1bP+q544e\x1b\\ok", "ok"),
    "reset": ("\x1bcok", "ok"),
    "c1_csi": ("a\x9b2Jb", "ab"),
    "c1_osc": ("a\x9d52;c;eA==\x9cb", "ab"),
    "bidi": ("abc\u202edcba", "abcdcba"),
    "isolate": ("\u2066x\u2069", "x"),
}


def test_hostile_sequences_are_removed():
    for name, (given_text, expected) in HOSTILE.items():
        assert clean(given_text) == expected, name


def test_newlines_and_tabs_survive_carriage_returns_cannot_overwrite():
    assert clean("a\n\tb") == "a\n\tb"
    assert clean("safe\rEVIL") == "safe\nEVIL"
    assert clean("nul\x00bell\x07") == "nul\ufffdbell\ufffd"


def test_one_line_flattens_and_cuts():
    assert one_line("a\n b\t c") == "a b c"
    assert one_line("x" * 300, 10) == "x" * 9 + "…"
    assert one_line(None) == ""


def test_markup_like_text_is_left_as_text():
    # Escaping markup is the renderer's job (it never parses markup); the text itself is kept.
    assert clean("[/] [@click=app.quit]x[/]") == "[/] [@click=app.quit]x[/]"


@given(st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x2100)))
def test_no_control_character_survives(text):
    out = clean(text)
    assert not any(ord(c) < 32 and c not in "\n\t" for c in out)
    assert not any(0x7F <= ord(c) <= 0x9F for c in out)
    assert "\x1b" not in one_line(text)
