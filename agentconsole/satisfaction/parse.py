"""A survey answer read into a score from 1 to 5: a digit ("4", "5/5"), stars, a thumbs emoji, yes/no in
the languages triage knows, or words (English sentiment); anything else is not an answer."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from agentconsole.triage.score import score

_DIGIT = re.compile(r"(?<!\d)(?<!\d[.,])([1-5])(?:\s*(?:/|out of|von|sur|de|su)\s*5)?(?!\d|[.,]\d)")
_THUMBS_UP = ("👍", "👌", "💯", "😍", "🥰", "😊", "🙂", "❤", "💛", "💙", "💚")
_THUMBS_DOWN = ("👎", "😡", "😠", "🙁", "☹", "😞")
_YES = frozenset("yes yep yeah yup sure ja jawohl oui sí si sim certo".split())
_FINE = frozenset("ok okay fine alright".split())
_NO = frozenset("no nope nah nein non não nee".split())
MAX_ANSWER_CHARS = 280  # a longer message is a new question, not a survey answer


class How(StrEnum):
    """How an answer gave its score (stored with it as these words)."""

    DIGIT = "digit"
    STARS = "stars"
    EMOJI = "emoji"
    YES_NO = "yes-no"
    WORDS = "words"


@dataclass(frozen=True, slots=True)
class Answer:
    score: int  # 1 (very unhappy) to 5 (very happy)
    how: How


def parse_answer(text: str) -> Answer | None:
    """The score a reply to "how did we do?" gives, or None when it reads as something else."""
    text = text.strip()
    if not text or len(text) > MAX_ANSWER_CHARS:
        return None
    stars = text.count("⭐") + text.count("★")
    if 1 <= stars <= 5:
        return Answer(stars, How.STARS)
    digits = _DIGIT.findall(text)
    if len(digits) == 1 and len(text) <= 40:
        return Answer(int(digits[0]), How.DIGIT)
    up = sum(text.count(e) for e in _THUMBS_UP)
    down = sum(text.count(e) for e in _THUMBS_DOWN)
    if up != down and (up or down):
        return Answer(5 if up > down else 1, How.EMOJI)
    first = re.split(r"[\s,.!?;:]+", text.lower(), maxsplit=1)[0]
    if first in _YES:
        return Answer(5, How.YES_NO)
    if first in _FINE and len(text.split()) <= 3:
        return Answer(4, How.YES_NO)
    if first in _NO and len(text.split()) <= 3:
        return Answer(1, How.YES_NO)
    if "?" in text:
        return None  # a new question: the conversation reopens as usual
    read = score(text)
    if not read.english:
        return None  # words are read in English only (VADER); a number or an emoji works in any language
    mood = read.sentiment
    if mood >= 0.5:
        return Answer(5, How.WORDS)
    if mood >= 0.05:
        return Answer(4, How.WORDS)
    if mood <= -0.5:
        return Answer(1, How.WORDS)
    if mood <= -0.05:
        return Answer(2, How.WORDS)
    return None
