"""An account's listening terms: read from and written to its settings, checked the one way."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from agentconsole.channels.contract import ListenTerms

MAX_TERMS = 20  # keywords and hashtags together: every term is one search per round on the platform
MAX_KEYWORD = 100
DEFAULT_INTERVAL = 300.0  # seconds between listening rounds: brand talk is not a queue with a target
MIN_INTERVAL = 60.0
_HASHTAG = re.compile(r"^\w{1,100}$")


class TermError(ValueError):
    """A keyword or hashtag that cannot be followed; the message says which and why."""


def _items(values: Iterable[str] | str | None) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        values = values.split(",")
    return [str(v).strip() for v in values if str(v).strip()]


def parse(keywords: Iterable[str] | str | None, hashtags: Iterable[str] | str | None) -> ListenTerms:
    """Terms as the agent typed them ("acme, acme shoes" and "#acme,acmeshoes"), cleaned and de-duplicated
    (case-insensitively); raises TermError on one that no platform could search for."""
    words: dict[str, str] = {}
    for raw in _items(keywords):
        word = unicodedata.normalize("NFC", " ".join(raw.split()))
        if any(unicodedata.category(ch).startswith("C") for ch in word):
            raise TermError(f"keyword {raw!r}: control characters are not allowed")
        if len(word) > MAX_KEYWORD:
            raise TermError(f"keyword {word[:20]!r}…: at most {MAX_KEYWORD} characters")
        if word.startswith("#"):
            raise TermError(f"keyword {word!r}: a hashtag goes in the hashtags (without the #)")
        words.setdefault(word.casefold(), word)
    tags: dict[str, str] = {}
    for raw in _items(hashtags):
        tag = unicodedata.normalize("NFC", raw.lstrip("#"))
        if not _HASHTAG.match(tag):
            raise TermError(f"hashtag {raw!r}: letters, digits and _ only, no spaces")
        tags.setdefault(tag.casefold(), tag)
    if len(words) + len(tags) > MAX_TERMS:
        raise TermError(f"at most {MAX_TERMS} keywords and hashtags together (each is a search every round)")
    return ListenTerms(tuple(words.values()), tuple(tags.values()))


def of_settings(settings: Mapping[str, Any] | None) -> ListenTerms:
    """The terms kept in an account's settings (nothing readable: no terms)."""
    listen = (settings or {}).get("listen")
    if not isinstance(listen, Mapping):
        return ListenTerms()
    try:
        return parse(listen.get("keywords") or (), listen.get("hashtags") or ())
    except TermError:
        return ListenTerms()


def interval_of(settings: Mapping[str, Any] | None, suggested: float) -> float:
    """Seconds between listening rounds: the account's own choice, else the connector's suggestion, else
    DEFAULT_INTERVAL; never below MIN_INTERVAL."""
    listen = (settings or {}).get("listen")
    chosen = listen.get("interval") if isinstance(listen, Mapping) else None
    try:
        seconds = float(chosen) if chosen is not None else max(suggested, DEFAULT_INTERVAL)
    except (TypeError, ValueError):
        seconds = max(suggested, DEFAULT_INTERVAL)
    return seconds if seconds == seconds and seconds >= MIN_INTERVAL else MIN_INTERVAL


def as_settings(terms: ListenTerms, interval: float | None = None) -> dict[str, Any]:
    """What goes under "listen" in the account's settings (empty: listening off)."""
    if not terms:
        return {}
    out: dict[str, Any] = {"keywords": list(terms.keywords), "hashtags": list(terms.hashtags)}
    if interval is not None:
        out["interval"] = max(MIN_INTERVAL, float(interval))
    return out


def describe(terms: ListenTerms) -> str:
    parts = [f'"{k}"' for k in terms.keywords] + [f"#{t}" for t in terms.hashtags]
    return ", ".join(parts) if parts else "nothing (listening is off)"


def matches(text: str, terms: ListenTerms) -> str:
    """The first term *text* contains (keywords as words, hashtags as #tags, case-insensitively), or ""."""
    folded = text.casefold()
    for tag in terms.hashtags:
        if re.search(r"(?<!\w)#" + re.escape(tag.casefold()) + r"(?!\w)", folded):
            return "#" + tag
    for word in terms.keywords:
        if re.search(r"(?<!\w)" + re.escape(word.casefold()) + r"(?!\w)", folded):
            return word
    return ""
