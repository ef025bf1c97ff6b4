"""A model of how wcwidth-based terminals (tmux, xterm, VTE) measure text, for width tests.

It reads Python's Unicode 14 table, the same age as the wcwidth of the glibc tmux runs on here: combining
and format characters take no cell, East Asian wide and fullwidth ones take two, everything else one.
Checked against tmux itself by tests/screens/test_tmux_width.py.
"""

from __future__ import annotations

import unicodedata
from functools import cache


# Format characters that glibc (and so tmux) gives a cell: the prepended concatenation marks.
_PREPENDED = frozenset([*range(0x600, 0x606), 0x6DD, 0x70F, 0x890, 0x891, 0x8E2, 0x110BD, 0x110CD])


@cache
def char_width(ch: str) -> int:
    cp = ord(ch)
    if cp == 0 or cp < 32 or 0x7F <= cp < 0xA0:
        return 0
    if cp in _PREPENDED:
        return 1
    category = unicodedata.category(ch)
    if category in ("Mn", "Me", "Cf", "Zl", "Zp") and cp != 0xAD:  # the soft hyphen shows as a hyphen
        return 0
    if 0x1160 <= cp <= 0x11FF or 0xD7B0 <= cp <= 0xD7FF:  # Hangul medial vowels and final consonants
        return 0
    if category == "Cn":
        return 0
    if unicodedata.east_asian_width(ch) in ("W", "F") or 0x3248 <= cp <= 0x324F or 0x4DC0 <= cp <= 0x4DFF:
        return 2
    return 1


def width(text: str) -> int:
    return sum(char_width(ch) for ch in text)
