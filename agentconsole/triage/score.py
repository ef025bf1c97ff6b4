"""A customer message's sentiment (English only, from VADER's lexicon) and its heat: how urgently it reads,
from sentiment and language-neutral signals (exclamation runs, capitals, order numbers, urgent words)."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from enum import IntEnum

from agentconsole.response.rule import ANGRY_AT, UPSET_AT  # one threshold for the rank and the mark
from agentconsole.triage import words

# VADER's published rule constants and lexicon come from its package; the scoring below is a simplified
# pass over them (one loop, no per-word rescans) so that it fits the ingest budget of ~40 µs per message:
# the package's own polarity_scores takes ~50 µs. tests/core/test_triage_score.py checks the two agree.
_ALPHA = 15.0  # VADER's normalisation: compound = s / sqrt(s² + alpha)
_MAX_CHARS = 2000  # a long email's opening says how the customer feels; the rest costs time, not signal
_WINDOW = 3  # a negation or booster reaches this many words ahead


class Level(IntEnum):
    """How hot a waiting conversation is, as the list marks it."""

    CALM = 0
    UPSET = 1
    ANGRY = 2

    @property
    def mark(self) -> str:
        """A text mark, so the level reads without colour (NO_COLOR)."""
        return _LEVEL_MARKS[self]

    @property
    def heat(self) -> float:
        """The heat an agent's correction to this level stands for."""
        return _LEVEL_HEAT[self]

    def next(self) -> Level:
        return Level((self + 1) % 3)


_LEVEL_MARKS = {Level.CALM: "", Level.UPSET: "!", Level.ANGRY: "!!"}
_LEVEL_HEAT = {Level.CALM: 0.0, Level.UPSET: 0.5, Level.ANGRY: 0.9}


def level_of(heat: float) -> Level:
    return Level.ANGRY if heat >= ANGRY_AT else Level.UPSET if heat >= UPSET_AT else Level.CALM


@dataclass(frozen=True, slots=True)
class Score:
    """*sentiment*: -1 (negative) to 1 (positive), VADER's compound scale, 0 when not English.
    *heat*: 0 (calm) to 1 (angry or urgent). *english*: whether the sentiment could be read at all."""

    sentiment: float
    heat: float
    english: bool

    @property
    def level(self) -> Level:
        return level_of(self.heat)


class _Lexicon:
    """VADER's word valences, negations, boosters and emoji names, loaded once on first use."""

    def __init__(self) -> None:
        # vaderSentiment ships no type hints (no py.typed, no stubs package); its two tables are typed below.
        from vaderSentiment import vaderSentiment as vader  # type: ignore[import-untyped]

        analyzer = vader.SentimentIntensityAnalyzer()
        self.valence: dict[str, float] = analyzer.lexicon
        self.words = frozenset(self.valence)  # set operations against a dict would walk all of it
        self.boosters = frozenset(vader.BOOSTER_DICT)
        self.emoji: dict[str, str] = analyzer.emojis
        self.negate = frozenset(vader.NEGATE)
        self.boost: dict[str, float] = dict(vader.BOOSTER_DICT)
        self.n_scalar = vader.N_SCALAR
        self.caps_incr = vader.C_INCR


_lexicon: _Lexicon | None = None
_lock = threading.Lock()


def _load() -> _Lexicon:
    global _lexicon
    if _lexicon is None:
        with _lock:
            if _lexicon is None:
                _lexicon = _Lexicon()
    return _lexicon


def is_english(tokens: list[str] | set[str]) -> bool:
    """Whether lower-cased words read as English: more English function words than other languages'
    ones. A text with neither (one word, an emoji) counts as English when its words are in the lexicon."""
    unique = tokens if isinstance(tokens, set) else set(tokens)
    en, other = len(unique & words.ENGLISH), len(unique & words.OTHER)
    if en or other:
        return en > other
    return not unique.isdisjoint(_load().words)


def _tokens(text: str) -> tuple[list[str], list[str]]:
    """The message's words as written and lower-cased, punctuation stripped, emoji followed by their
    names ("angry face"), as VADER reads them."""
    punctuation = words.PUNCTUATION
    written = [t.strip(punctuation) for t in text.split()]
    if "" in written:
        written = [t for t in written if t]
    if not text.isascii():
        emoji = _load().emoji
        expanded: list[str] = []
        for token in written:
            expanded.append(token)
            if not token.isascii():
                for ch in token:
                    name = emoji.get(ch)
                    if name is not None:
                        expanded.extend(name.split())
        written = expanded
    return written, (written if text.islower() else [t.lower() for t in written])


def sentiment(text: str) -> float:
    """VADER-style compound sentiment of English *text*, -1 to 1."""
    text = text[:_MAX_CHARS]
    written, lower = _tokens(text)
    return _compound(text, written, lower, set(lower))


def _compound(text: str, written: list[str], lower: list[str], unique: set[str]) -> float:
    lex = _load()
    valence = lex.valence
    # Set intersections find the few words that carry valence without a Python loop over every word.
    if unique.isdisjoint(lex.words):
        return 0.0
    boost, negate = lex.boost, lex.negate
    shouting = not text.islower() and any(t.isupper() for t in written) and not all(
        t.isupper() for t in written)
    total = before_but = 0.0
    seen_but = not unique.isdisjoint(_BUT)
    carriers = (unique & lex.words) - lex.boosters
    if seen_but:
        carriers |= unique & _BUT
    for i in [i for i, word in enumerate(lower) if word in carriers]:
        word = lower[i]
        if word in _BUT:
            before_but, total = before_but + total, 0.0
            continue
        value = valence[word]
        window = lower[max(0, i - _WINDOW):i]
        for before in window:
            scalar = boost.get(before)
            if scalar is not None:
                value += scalar if value > 0 else -scalar
        if shouting and written[i].isupper():
            value += lex.caps_incr if value > 0 else -lex.caps_incr
        if any(before in negate or before.endswith("n't") for before in window):
            value *= lex.n_scalar
        total += value
    if seen_but:  # what follows "but" weighs more than what came before it
        total = before_but * 0.5 + total * 1.5
    if total:
        marks = min(text.count("!"), 4) * 0.292
        total += marks if total > 0 else -marks
    return total / math.sqrt(total * total + _ALPHA)


_BUT = frozenset({"but", "however", "aber", "mais", "pero", "ma", "mas", "maar"})


def _stems_found(unique: set[str], lower: list[str], text: str) -> tuple[int, int]:
    """How many of the message's words start a severe and an urgent stem (a phrase: with the words that
    follow). One dict lookup per distinct word finds the few candidates."""
    prefix = words.PREFIX
    keys = {t[:prefix] for t in unique} & words.STEM_KEYS
    if not keys:
        return 0, 0
    severe = urgent = 0
    joined = None
    for token in lower:
        key = token[:prefix]
        if key not in keys:
            continue
        for stem, is_severe in words.STEMS[key]:
            if " " in stem:
                if joined is None:
                    joined = " ".join(lower)
                hit = stem in joined
            else:
                hit = token.startswith(stem)
            if hit:
                if is_severe:
                    severe += 1
                else:
                    urgent += 1
                break
    return severe, urgent


def score(text: str) -> Score:
    """Sentiment (when English) and heat of one customer message."""
    return Score(*score_values(text))


def score_values(text: str) -> tuple[float, float, bool]:
    """score()'s (sentiment, heat, english) as a plain tuple: ingest calls it per message, and making a
    frozen dataclass costs as much as a third of the scoring."""
    text = text[:_MAX_CHARS]
    written, lower = _tokens(text)
    unique = set(lower)
    english = is_english(unique)
    mood = _compound(text, written, lower, unique) if english else 0.0
    heat = -mood * 0.8 if mood < 0 else 0.0
    if mood <= 0.3:  # "thanks!!" is an exclamation run, not anger
        if "!!" in text or "?!" in text or "!?" in text or "??" in text:
            heat += 0.2
        if not text.islower():
            # Shouting, not acronyms: words in capitals make up a good part of the message.
            caps = sum(1 for t in written if len(t) >= 3 and t.isupper() and t.isalpha())
            if (caps >= 2 and caps * 10 >= len(written) * 3) or (caps and len(written) <= 3):
                heat += 0.25
    severe, urgent = _stems_found(unique, lower, text)
    if severe:
        heat += 0.6
    else:
        heat += 0.5 if urgent > 1 else 0.35 if urgent else 0.0
    if ("#" in text or len(text) > 5) and words.REFERENCE_RE.search(text):
        heat += 0.1
    return mood, (heat if heat < 1.0 else 1.0), english
