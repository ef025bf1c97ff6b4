"""Neutralise untrusted text so it can never drive the terminal: no escapes, controls or bidi tricks."""

from __future__ import annotations

import re

# ESC-introduced sequences: CSI (ESC [ ... final), OSC/DCS/SOS/PM/APC strings up to ST or BEL,
# and two-character escapes. 8-bit C1 introducers (0x9b CSI, 0x9d OSC, 0x90 DCS ...) likewise.
_ESCAPE_SEQUENCES = re.compile(
    r"""
    (?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?          # CSI
  | (?:\x1b[\]P^_X]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?  # OSC DCS SOS PM APC
  | \x1b[\x20-\x2f]*[\x30-\x7e]?                                  # other ESC sequences
    """,
    re.VERBOSE,
)
# Remaining C0 (except tab and newline), DEL and C1 controls.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Bidi embeddings, overrides and isolates (Trojan Source), plus other invisible format characters
# that can disguise text; zero-width joiner is kept because emoji sequences need it.
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\u2028\u2029\ufeff\u200b]")


# One cheap scan decides whether any of the rewriting below is needed (it rarely is).
_SUSPECT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\u2028\u2029\ufeff\u200b]")


def clean(text: str | None, *, keep_newlines: bool = True) -> str:
    """Return *text* with escape sequences removed and control characters made visible.

    Tabs and newlines survive (newlines become spaces when *keep_newlines* is false); carriage
    returns become newlines so a lone CR cannot overwrite what came before it on the line.
    """
    if not text:
        return ""
    if _SUSPECT.search(text) is None:
        return text if keep_newlines else " ".join(text.split())
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _ESCAPE_SEQUENCES.sub("", text)
    text = _CONTROLS.sub("\ufffd", text)
    text = _BIDI.sub("", text)
    if not keep_newlines:
        text = " ".join(text.split())
    return text


def one_line(text: str | None, limit: int = 200) -> str:
    """A cleaned single-line preview of at most *limit* characters."""
    if text and len(text) > limit * 4:
        text = text[: limit * 4]  # no need to clean what will be cut off
    flat = clean(text, keep_newlines=False)
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    return flat
