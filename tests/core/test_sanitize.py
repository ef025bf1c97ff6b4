"""The untrusted-text sanitiser: no escape, control or bidi trick survives it, and no text is hidden."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len

from screens.common.cells import count_spacing_marks_as_terminals_do
from agentconsole.domain.sanitize import ESC_MARK, MARK, clean, display, findings, one_line
from tests.terminal_width import width as terminal_width

HOSTILE = {
    "csi_clear": ("a\x1b[2Jb", "ab"),
    "sgr": ("\x1b[31mred\x1b[0m", "red"),
    "osc52_clipboard": ("x\x1b]52;c;ZXZpbA==\x07y", "xy"),
    "osc8_link_st": ("\x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\", "click"),
    "title": ("\x1b]0;pwned\x07ok", "ok"),
    "dcs": ("\x1bP+q544e\x1b\\ok", "ok"),
    "reset": ("\x1bcok", "ok"),
    "bidi": ("abc\u202edcba", "abcdcba"),
    "isolate": ("\u2066x\u2069", "x"),
    "tag_smuggling": ("ok\U000e0069\U000e0067\U000e006e\U000e006f\U000e0072\U000e0065", "ok"),
    "hangul_filler_name": ("\u3164\uffa0Ann", "Ann"),
    "word_joiner": ("a\u2060b\u200bc", "abc"),
}

# Nothing after the introducer may disappear: these were the cases that hid whole messages.
NEVER_HIDDEN = {
    "c1_csi": ("a\x9b2Jb", f"a{MARK}2Jb"),
    "c1_osc_to_end": ("Dear \x9dcustomer, your order is late", f"Dear {MARK}customer, your order is late"),
    "c1_dcs": ("x\x90hidden?", f"x{MARK}hidden?"),
    "c1_st_pair": ("a\x9d52;c;eA==\x9cb", f"a{MARK}52;c;eA=={MARK}b"),
    "unterminated_osc": ("hi \x1b]0;rest of the message", f"hi {ESC_MARK}]0;rest of the message"),
    "unterminated_dcs": ("hi \x1bPrest", f"hi {ESC_MARK}Prest"),
    "unterminated_apc": ("hi \x1b_rest", f"hi {ESC_MARK}_rest"),
    "unterminated_pm_sos": ("\x1b^a \x1bXb", f"{ESC_MARK}^a {ESC_MARK}Xb"),
    "lone_esc": ("end\x1b", f"end{ESC_MARK}"),
    "unterminated_csi": ("a\x1b[12;3", f"a{ESC_MARK}[12;3"),
    "osc_too_long": ("\x1b]0;" + "x" * 300 + "\x07tail", f"{ESC_MARK}]0;" + "x" * 300 + f"{MARK}tail"),
}


def test_hostile_sequences_are_removed():
    for name, (given_text, expected) in HOSTILE.items():
        assert clean(given_text) == expected, name


def test_a_lone_or_unterminated_introducer_is_marked_and_the_text_after_it_kept():
    for name, (given_text, expected) in NEVER_HIDDEN.items():
        assert clean(given_text) == expected, name
        assert "\x1b" not in clean(given_text) and not any(0x80 <= ord(c) <= 0x9f for c in clean(given_text))


def test_a_windows_1250_mail_read_as_latin_1_keeps_every_character():
    # The reported case: Central European text whose ť (0x9d) became the C1 OSC introducer.
    text = "Dobrý den, ťuk ťuk, objednávka č. 4521 ještě nedorazila. Děkuji, Šárka".encode("cp1250")
    misread = text.decode("latin-1")
    assert len(clean(misread)) == len(misread)


def test_findings_name_what_was_changed():
    assert findings("plain") == []
    assert "hidden TAG characters removed" in findings("a\U000e0041")
    assert "terminal control sequences removed" in findings("\x1b[2J")
    assert any("surrogates" in f for f in findings("x\ud800"))
    assert any("invisible" in f for f in findings("a\u202eb"))


def test_newlines_and_tabs_survive_carriage_returns_cannot_overwrite():
    assert clean("a\n\tb") == "a\n\tb"
    assert clean("safe\rEVIL") == "safe\nEVIL"
    assert clean("nul\x00bell\x07") == f"nul{MARK}bell{MARK}"


def test_lone_surrogates_become_replacement_characters():
    assert clean("a\ud800b\udfffc") == f"a{MARK}b{MARK}c"
    clean("a\ud800b").encode("utf-8")  # storable and printable


def test_one_line_flattens_and_cuts():
    assert one_line("a\n b\t c") == "a b c"
    assert one_line("x" * 300, 10) == "x" * 9 + "…"
    assert one_line(None) == ""


def test_markup_like_text_is_left_as_text():
    # Escaping markup is the renderer's job (it never parses markup); the text itself is kept.
    assert clean("[/] [@click=app.quit]x[/]") == "[/] [@click=app.quit]x[/]"


# Each measured in tmux 3.3a: (as typed, rich's cells, tmux's cells) before display().
WIDTH_CASES = {
    "red heart with VS16": "\u2764\ufe0f",
    "thumbs up, skin tone": "\U0001f44d\U0001f3fd",
    "keycap one": "1\ufe0f\u20e3",
    "family ZWJ sequence": "\U0001f468\u200d\U0001f469\u200d\U0001f467",
    "ZWJ between letters": "a\u200db",
    "noncharacter": "\ufdd0 \uffff \U0001fffe",
    "unassigned in Unicode 14 (shaking face)": "\U0001fae8",
    "trigram (width changed in Unicode 16)": "\u2630",
    "circled number on black square": "\u3248",
    "Hangul tone mark": "\u302e",
}


def test_display_makes_every_known_disagreement_agree():
    for name, text in WIDTH_CASES.items():
        shown = display(clean(text))
        assert cell_len(shown) == terminal_width(shown), name
    assert display("\u2764\ufe0f") == "\u2764"
    assert display("\U0001f44d\U0001f3fd") == "\U0001f44d"
    assert display("a\u200db") == "ab"
    assert display("\ufdd0") == MARK


def test_display_leaves_plain_and_agreed_text_alone():
    for text in ("plain ascii", "Grüße, Zoë", "中文 한국어", "👍 🇩🇪", "e\u0301"):
        assert display(text) == text


def test_every_code_point_agrees_after_display():
    # Exhaustive over Unicode. Spacing combining marks (Mc: Indic vowel signs) are counted as the
    # terminals count them once the console has corrected rich's table (screens.common.cells).
    count_spacing_marks_as_terminals_do()
    for cp in range(0x20, 0x110000):
        if 0xD800 <= cp < 0xE000:
            continue
        shown = display(clean(chr(cp)))
        assert cell_len(shown) == terminal_width(shown), hex(cp)


ANY_CHAR = st.characters(min_codepoint=0, max_codepoint=0x10FFFF)
VISIBLE = ("L", "N", "P", "S")


def _visible(text: str) -> list[str]:
    """The characters a reader sees (the marks clean() adds aside)."""
    return [c for c in text if unicodedata.category(c)[0] in VISIBLE and c not in (MARK, ESC_MARK)
            and display(c) == c and not (0x80 <= ord(c) <= 0x9f)]


@settings(max_examples=400)
@given(st.text(alphabet=ANY_CHAR))
def test_clean_never_raises_and_leaves_no_control(text):
    out = clean(text)
    assert not any(ord(c) < 32 and c not in "\n\t" for c in out)
    assert not any(0x7F <= ord(c) <= 0x9F for c in out)
    assert not any(0xD800 <= ord(c) <= 0xDFFF for c in out)
    assert "\x1b" not in one_line(text)
    out.encode("utf-8")


@settings(max_examples=400)
@given(st.text(alphabet=ANY_CHAR.filter(lambda c: c != "\x1b")))
def test_clean_never_loses_a_visible_character(text):
    assert _visible(clean(text)) == _visible(text)


@settings(max_examples=400)
@given(st.text(alphabet=ANY_CHAR.filter(lambda c: c not in "\t\n\r")))
def test_display_width_is_the_terminals(text):
    count_spacing_marks_as_terminals_do()
    shown = display(clean(text, keep_newlines=False))
    assert cell_len(shown) == terminal_width(shown)


@given(st.binary())
def test_any_bytes_decoded_either_way_are_made_safe(data):
    for decoded in (data.decode("utf-8", "surrogateescape"), data.decode("latin-1")):
        out = display(clean(decoded))
        out.encode("utf-8")
        assert "\x1b" not in out
