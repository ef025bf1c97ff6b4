"""Answers from history: for a customer's message, our replies to the most similar earlier questions
(bm25 over the answered-questions index), one per distinct reply, as templates to fill for this customer."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from agentconsole.replies.templates import Filled, escape, fill, first_name_of
from agentconsole.storage import knowledge as storage
from agentconsole.storage.store import Store
from agentconsole.triage import words

MAX_TERMS = 12
CANDIDATES = 40  # pairs read from the index, before the same reply given many times is folded
_WORD = re.compile(r"[^\W\d_]{3,}")
# Words that say nothing about what was asked: greetings and fillers beside the function words.
_FILLER = frozenset("hello hi hey dear thanks thank please hallo bonjour hola ciao olá regards cheers"
                    " again just also really very".split())


@dataclass(frozen=True, slots=True)
class PastAnswer:
    """One reply we gave before, ready to fill for this customer."""

    template: str  # the reply with that customer's name and handle made placeholders
    text: str  # the reply as it was sent
    question: str  # what that customer asked
    answered_at: float
    channel: str
    uses: int  # how many of the similar questions got this same reply
    score: float  # the best bm25 among them (lower is better)

    def filled(self, values: Mapping[str, str | None]) -> Filled:
        return fill(self.template, values)


def terms_of(text: str) -> list[str]:
    """The words a question is looked up by: no function words, fillers, numbers or repeats."""
    found = _WORD.findall(text.lower())
    seen = dict.fromkeys(w for w in found if w not in words.ENGLISH and w not in words.OTHER
                         and w not in _FILLER)
    if not seen:  # "where is my order": only common words, so those are what it asks by
        seen = dict.fromkeys(w for w in found if w not in _FILLER)
    return list(seen)[:MAX_TERMS]


def match_expression(terms: list[str]) -> str:
    return " OR ".join(f'"{t}"' for t in terms)


def templated(answer: str, name: str, handle: str) -> str:
    """*answer* as a template: the earlier customer's name, first name and handle become placeholders,
    so the reply greets the customer it is used for."""
    out = escape(answer)
    first = first_name_of(name) if name else None
    swaps = [(name, "{name}")] if name and " " in name.strip() else []
    if first:
        swaps.append((first, "{first_name}"))
    if handle:
        swaps.append((handle, "{handle}"))
        if handle.startswith("@"):
            swaps.append((handle[1:], "{handle}"))
    for old, new in swaps:
        old = escape(old.strip())
        if len(old) >= 2 and old in out:  # most names are not in the reply: no expression to build
            out = re.sub(rf"(?<![\w@]){re.escape(old)}(?!\w)", new, out)
    return out


def _stem(word: str) -> str:
    """A crude stem, for matching a term to a question's words the way the index's porter stems do."""
    return word[:max(4, len(word) - 2)]


def rank(terms: list[str], found: list[tuple[int, str, bool]]) -> list[tuple[int, float]]:
    """Candidates ranked as bm25 would (lower is better): the sum of the rarity of the terms each holds,
    rarity measured among the candidates, shorter questions a little ahead. A term is held when a word
    of the question starts with its stem: one pass of one expression over each question."""
    if not found:
        return []
    stems = [_stem(t) for t in terms]
    # Longest first, so where a stem extends another the longer one is matched; it marks both terms.
    marks = {stem: frozenset(i for i, s in enumerate(stems) if stem.startswith(s)) for stem in stems}
    pattern = re.compile(r"(?<!\w)(" + "|".join(re.escape(x) for x in sorted(marks, key=len, reverse=True)) + ")")
    held: list[tuple[int, set[int], int]] = []
    counts = [0] * len(stems)
    for pair_id, question, _ in found:
        lowered = question.lower()
        present: set[int] = set()
        for stem in set(pattern.findall(lowered)):
            present |= marks[stem]
        for i in present:
            counts[i] += 1
        held.append((pair_id, present, len(_WORD.findall(lowered))))
    total = len(found)
    rarity = [math.log((total + 1) / (c + 0.5)) + 1.0 for c in counts]
    average = sum(n for _, _, n in held) / total or 1.0
    scored = []
    for pair_id, present, length in held:
        weight = sum(rarity[i] for i in present) / (0.75 + 0.25 * length / average)
        scored.append((pair_id, -weight))
    scored.sort(key=lambda s: (s[1], -s[0]))
    return scored


class History:
    """The answers-from-history lookups of one workspace."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def refresh(self) -> int:
        with self.store.transaction() as conn:
            return storage.refresh(conn)

    def answers(self, text: str, conversation_id: int | None = None, limit: int = 3, *,
                refresh: bool = True) -> list[PastAnswer]:
        """Our replies to the questions most like *text*, best first, one per distinct reply, none
        from the conversation itself."""
        if refresh:
            self.refresh()
        terms = terms_of(text)
        if not terms:
            return []
        conn = self.store.conn
        found_pairs = storage.candidates(conn, match_expression(terms), " ".join(f'"{t}"' for t in terms))
        hits = storage.hits(conn, rank(terms, found_pairs)[:CANDIDATES], conversation_id)
        found: dict[str, list[storage.Hit]] = {}
        templates: dict[str, str] = {}
        for hit in hits:
            template = templated(hit.answer, hit.customer_name, hit.customer_handle)
            key = " ".join(template.lower().split())
            found.setdefault(key, []).append(hit)
            templates.setdefault(key, template)
        # Best bm25 first; a reply given to several of the similar questions is the safer choice.
        ranked = sorted(found.items(), key=lambda kv: kv[1][0].score - 0.5 * (len(kv[1]) - 1))
        return [PastAnswer(templates[key], group[0].answer, group[0].question, group[0].answered_at,
                           group[0].channel, len(group), group[0].score) for key, group in ranked[:limit]]
