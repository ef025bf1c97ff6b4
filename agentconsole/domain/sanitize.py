"""Neutralise untrusted text so it can never drive the terminal, hide text or break the layout."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

ESC_MARK = "\u241b"  # ␛, shown where a lone or unterminated escape was: the text after it is kept
MARK = "\ufffd"  # shown for a control, a surrogate or a character terminals disagree on
# A terminal string longer than this is not treated as one: its introducer is marked and its body kept,
# so one stray ESC ] far from a BEL cannot make a whole message disappear.
MAX_STRING = 256

# Complete 7-bit sequences only; each is removed whole (it is an instruction to the terminal, not text).
_ESCAPE_SEQUENCES = re.compile(
    r"""
    \x1b\[[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]                               # CSI with its final byte
  | \x1b[\]P^_X][^\x07\x1b\x9c]{0,MAX_STRING}(?:\x07|\x1b\\|\x9c)                   # OSC DCS SOS PM APC, terminated
  | \x1b[\x20-\x2f]*[\x30-\x4f\x51-\x57\x59\x5a\x5c\x60-\x7e]              # other ESC sequences
    """.replace("MAX_STRING", str(MAX_STRING)),
    re.VERBOSE,
)
# Remaining C0 (except tab and newline), DEL, every C1 (an 8-bit introducer is a lone character once
# decoded: it is marked, never taken as the start of a string) and lone surrogates.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1a\x1c-\x1f\x7f-\x9f\ud800-\udfff]")
# Bidi embeddings, overrides and isolates (Trojan Source), invisible format characters, the TAG block
# (hidden text smuggled after visible text) and the Hangul fillers used as blank names. The zero-width
# joiner and variation selectors stay in stored text (emoji need them); display() deals with them.
INVISIBLE = ("\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\u2028\u2029\ufeff\u200b\u2060-\u2064\u206a-\u206f"
             "\u180e\u034f\u115f\u1160\u17b4\u17b5\u3164\uffa0\ufff9-\ufffb\U0001d173-\U0001d17a"
             "\U000e0000-\U000e007f")
_INVISIBLE = re.compile(f"[{INVISIBLE}]")
# One cheap scan decides whether any of the rewriting below is needed (it rarely is).
_SUSPECT = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff{INVISIBLE}]")

# For display only: characters whose width terminals disagree on. Dropped: variation selectors (VS16
# makes ❤ two cells in rich and kitty, one in tmux), the zero-width joiner (rich skips the character after
# it; tmux 3.3 joins some sequences and not others), skin-tone modifiers (0 cells in rich, 2 in tmux),
# Hangul tone marks and the two Tangut/Khitan marks (0 in rich, 2 in tmux).
_DROP = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef\u200d\U0001f3fb-\U0001f3ff\u302e\u302f"
                   "\U00016ff0\U00016ff1]")
# Replaced by one-cell MARK: noncharacters, and symbols whose width changed between Unicode versions
# (two cells in rich's current table, one in tmux/xterm/VTE built on older tables, or the reverse).
_WIDTH_MARK = re.compile("[\ufdd0-\ufdef\ufffe\uffff\u2630-\u2637\u268a-\u268f\u3248-\u324f"
                         "\U0001d300-\U0001d356\U0001d360-\U0001d376"
                         + "".join(f"{chr(p * 0x10000 + 0xfffe)}{chr(p * 0x10000 + 0xffff)}" for p in range(1, 17))
                         + "]")


def clean(text: str | None, *, keep_newlines: bool = True) -> str:
    """Return *text* with escape sequences removed and controls made visible; no text is hidden.

    Tabs and newlines survive (newlines become spaces when *keep_newlines* is false); carriage
    returns become newlines so a lone CR cannot overwrite what came before it on the line. A lone or
    unterminated escape becomes ␛ and the text after it stays; lone surrogates become U+FFFD.
    """
    if not text:
        return ""
    if _SUSPECT.search(text) is None:
        return text if keep_newlines else " ".join(text.split())
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x1b" in text:
        text = _ESCAPE_SEQUENCES.sub("", text).replace("\x1b", ESC_MARK)
    text = _CONTROLS.sub(MARK, text)
    text = _INVISIBLE.sub("", text)
    if not keep_newlines:
        text = " ".join(text.split())
    return text


def findings(text: str) -> list[str]:
    """What clean() would change in *text*, in words for a note (empty when nothing)."""
    if not text or _SUSPECT.search(text) is None:
        return []
    found = [note for pattern, note in _FINDINGS[:1] if pattern.search(text)]
    if found:  # a BEL or ST that ends a removed sequence is no control of its own
        text = _ESCAPE_SEQUENCES.sub("", text)
    return found + [note for pattern, note in _FINDINGS[1:] if pattern.search(text)]


_FINDINGS = (
    (re.compile("\x1b"), "terminal control sequences removed"),
    (re.compile("[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f-\x9f]"), "control characters shown as \ufffd"),
    (re.compile("[\ud800-\udfff]"), "invalid Unicode (lone surrogates) shown as \ufffd"),
    (re.compile("[\U000e0000-\U000e007f]"), "hidden TAG characters removed"),
    (re.compile(f"[{INVISIBLE[:-len(chr(0xe0000) + '-' + chr(0xe007f))]}]"),
     "invisible or direction-changing characters removed"),
)


@lru_cache(maxsize=8192)
def _unassigned(ch: str) -> bool:
    # Python 3.11's Unicode 14 table, the same age as the terminals' wcwidth (glibc 2.35+): what is
    # unassigned there has no agreed width (tmux gives it 0 cells, rich 1 or 2).
    return unicodedata.category(ch) == "Cn"


def display(text: str) -> str:
    """*text* made width-safe for a terminal: every character takes the cells rich/Textual count for it
    in tmux, xterm and VTE alike (see the module's tables). Apply after clean(); for display only."""
    if not text or text.isascii():
        return text
    text = _DROP.sub("", text)
    text = _WIDTH_MARK.sub(MARK, text)
    if any(_unassigned(ch) for ch in set(text) if ch > "\u0377"):
        text = "".join(MARK if ch > "\u0377" and _unassigned(ch) else ch for ch in text)
    return text


def one_line(text: str | None, limit: int = 200) -> str:
    """A cleaned single-line preview of at most *limit* characters."""
    if text and len(text) > limit * 4:
        text = text[: limit * 4]  # no need to clean what will be cut off
    flat = clean(text, keep_newlines=False)
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    return flat
