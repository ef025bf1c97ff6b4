"""The placeholder engine for canned replies, DM escalation texts and shift posts: parse, check, fill."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from agentconsole.domain.models import Channel
from agentconsole.domain.rows import AgentRow, ConversationRow, initials_of
from agentconsole.domain.sanitize import one_line

# Every placeholder a template may use, with what it becomes (shown in the editor's help).
PLACEHOLDERS: dict[str, str] = {
    "first_name": "the customer's first name, from their display name",
    "name": "the customer's full display name",
    "handle": "the customer's handle (@dana_k) or email address",
    "channel": "the channel's name (X, Mastodon, Email ...)",
    "agent_name": "your name",
    "agent_first_name": "your first name",
    "agent_initials": "your initials",
    "conversation_id": "the conversation's number in agentconsole",
    "shift_end": "when the current shift ends",
    "next_agent": "who is on the next shift",
    "next_start": "when the next shift starts",
}

_NAME = re.compile(r"[a-z_][a-z0-9_]*\Z")
# The gap marker stays visible in the composer and is what the send guard looks for.
GAP_OPEN, GAP_CLOSE = "⟦", "⟧"
_GAP = re.compile(re.escape(GAP_OPEN) + r"([a-z_][a-z0-9_]*)" + re.escape(GAP_CLOSE))
_MAX_FALLBACK = 200


class TemplateError(ValueError):
    """A template that cannot be used; *line* and *col* (1-based) point at the offending character."""

    def __init__(self, message: str, line: int, col: int) -> None:
        super().__init__(f"line {line}, column {col}: {message}")
        self.message = message
        self.line = line
        self.col = col


@dataclass(frozen=True, slots=True)
class Slot:
    """One `{name}` or `{name|fallback}` in a template."""

    name: str
    fallback: str | None
    line: int
    col: int


@dataclass(frozen=True, slots=True)
class Template:
    source: str
    parts: tuple[str | Slot, ...]

    @property
    def slots(self) -> tuple[Slot, ...]:
        return tuple(p for p in self.parts if isinstance(p, Slot))


@dataclass(frozen=True, slots=True)
class Gap:
    """A placeholder left unfilled: its marker sits at text[start:end]."""

    name: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Filled:
    text: str
    gaps: tuple[Gap, ...]

    @property
    def complete(self) -> bool:
        return not self.gaps


def parse(source: str, allowed: Mapping[str, str] | None = None) -> Template:
    """Split *source* into text and slots; raise TemplateError at the first problem."""
    allowed = PLACEHOLDERS if allowed is None else allowed
    parts: list[str | Slot] = []
    buf: list[str] = []
    i, n = 0, len(source)
    line, line_start = 1, 0
    while i < n:
        ch = source[i]
        if ch == "{":
            if source.startswith("{{", i):
                buf.append("{")
                i += 2
                continue
            col = i - line_start + 1
            end = _closing(source, i, line, col)
            slot = _slot(source[i + 1:end], allowed, line, col)
            if buf:
                parts.append("".join(buf))
                buf = []
            parts.append(slot)
            i = end + 1
            continue
        if ch == "}":
            if source.startswith("}}", i):
                buf.append("}")
                i += 2
                continue
            raise TemplateError("a lone '}' (write '}}' for a literal brace)", line, i - line_start + 1)
        if ch == "\n":
            line, line_start = line + 1, i + 1
        buf.append(ch)
        i += 1
    if buf:
        parts.append("".join(buf))
    return Template(source, tuple(parts))


def _closing(source: str, start: int, line: int, col: int) -> int:
    for j in range(start + 1, len(source)):
        ch = source[j]
        if ch == "}":
            return j
        if ch in "{\n":
            break
    raise TemplateError("'{' is not closed on this line (write '{{' for a literal brace)", line, col)


def _slot(inner: str, allowed: Mapping[str, str], line: int, col: int) -> Slot:
    name, bar, fallback = inner.partition("|")
    name = name.strip()
    if not name:
        raise TemplateError("empty placeholder", line, col)
    if not _NAME.match(name):
        # Rejects attribute access, indexing and conversions ({a.b}, {a[0]}, {a!r}) by construction.
        raise TemplateError(f"{{{inner}}} is not a placeholder name (letters, digits and _ only)", line, col)
    if name not in allowed:
        raise TemplateError(f"unknown placeholder {{{name}}}; known: {', '.join(sorted(allowed))}",
                            line, col)
    if bar and len(fallback) > _MAX_FALLBACK:
        raise TemplateError(f"the fallback of {{{name}}} is longer than {_MAX_FALLBACK} characters",
                            line, col)
    return Slot(name, fallback if bar else None, line, col)


def check(source: str, allowed: Mapping[str, str] | None = None) -> TemplateError | None:
    """The first problem in *source*, or None when it is a usable template."""
    try:
        parse(source, allowed)
    except TemplateError as exc:
        return exc
    return None


def fill(template: str | Template, values: Mapping[str, str | None]) -> Filled:
    """Substitute *values*; a missing value uses the slot's fallback, else leaves a visible gap."""
    tpl = parse(template) if isinstance(template, str) else template
    out: list[str] = []
    gaps: list[Gap] = []
    pos = 0
    for part in tpl.parts:
        if isinstance(part, str):
            piece = part
        else:
            value = values.get(part.name)
            if value is not None and value.strip():
                piece = value
            elif part.fallback is not None:
                piece = part.fallback
            else:
                piece = gap_marker(part.name)
                gaps.append(Gap(part.name, pos, pos + len(piece)))
        out.append(piece)
        pos += len(piece)
    return Filled("".join(out), tuple(gaps))


def escape(text: str) -> str:
    """*text* as a template that fills to exactly *text* (braces doubled)."""
    return text.replace("{", "{{").replace("}", "}}")


def gap_marker(name: str) -> str:
    return f"{GAP_OPEN}{name}{GAP_CLOSE}"


def find_gaps(text: str) -> tuple[Gap, ...]:
    """Gap markers still present in (possibly edited) text."""
    return tuple(Gap(m.group(1), m.start(), m.end()) for m in _GAP.finditer(text))


# ------------------------------------------------------------------ values for a conversation

_HONORIFICS = {"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "rev"}
# Words that make a display name an organisation's or a role's, not a person's: "Hi Refund" or
# "Hi Acme" greets nobody, so such names take the template's fallback instead.
_NOT_A_PERSON = {
    "admin", "bank", "billing", "bot", "care", "club", "co", "company", "corp", "customer", "customers",
    "desk", "gmbh", "group", "help", "helpdesk", "hq", "inc", "info", "llc", "ltd", "marketing",
    "news", "noreply", "no-reply", "office", "official", "orders", "refund", "refunds", "sales",
    "service", "services", "shop", "store", "studio", "support", "team",
}
# Scripts whose names are conventionally written family name first (Chinese, Japanese, Korean): the
# first word of "佐藤 花子" is the family name, so without a given-name field we do not guess.
_FAMILY_FIRST = re.compile(r"[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff"
                           r"\uac00-\ud7af\uf900-\ufaff\U00020000-\U0002fa1f]")
_WORD = re.compile(r"[^\W\d_](?:[^\W\d_]|['’-][^\W\d_])*")


def first_name_of(display_name: str) -> str | None:
    """A first name from a display name, or None when it does not look like a person's name.

    "Kim, Dana" (email style) gives Dana; honorifics are skipped; addresses, handles, names made of
    digits, organisations' names ("Refund Desk") and names in family-name-first scripts ("佐藤 花子")
    give None so the template's fallback (or a gap) is used instead of a wrong greeting.
    """
    name = one_line(display_name, 120).strip().strip("\"'")
    if not name or "@" in name or _FAMILY_FIRST.search(name):
        return None
    if any(token.strip(".,;:!?()[]\"'&").casefold() in _NOT_A_PERSON for token in name.split()):
        return None
    if "," in name:
        last, _, first = name.partition(",")
        if first.strip():
            name = first
    for token in name.split():
        word = token.strip(".,;:!?()[]\"'")
        if word.lower().rstrip(".") in _HONORIFICS or not any(ch.isalpha() for ch in word):
            continue  # "Dr." or a decoration such as "🌻" or "|"
        match = _WORD.fullmatch(word)
        if match is None:
            return None  # "dana_k", "x123" or emoji: not something to greet a person with
        return word[0].upper() + word[1:] if word.islower() else word
    return None


def handle_label(handle: str, channel: Channel | str) -> str | None:
    """The handle as a customer would recognise it: @name on social networks, the address for email."""
    handle = one_line(handle, 200).strip()
    if not handle:
        return None
    if Channel(channel) == Channel.EMAIL or handle.startswith("@"):
        return handle
    return "@" + handle


def values_for(conversation: ConversationRow | None, agent: AgentRow | None, *,
               shift_end: str | None = None, next_agent: str | None = None,
               next_start: str | None = None) -> dict[str, str | None]:
    """Placeholder values for replying in *conversation* as *agent*; unknown ones are None."""
    values: dict[str, str | None] = dict.fromkeys(PLACEHOLDERS)
    if conversation is not None:
        name = one_line(conversation.contact_name, 120).strip()
        values["name"] = name if name and "@" not in name else None
        values["first_name"] = first_name_of(name)
        values["handle"] = handle_label(conversation.handle, conversation.channel)
        values["channel"] = Channel(conversation.channel).label
        values["conversation_id"] = str(conversation.id)
    if agent is not None:
        agent_name = one_line(agent.name, 120).strip()
        values["agent_name"] = agent_name or None
        values["agent_first_name"] = agent_name.split()[0] if agent_name else None
        values["agent_initials"] = agent.initials or (initials_of(agent_name) if agent_name else None)
    values["shift_end"] = shift_end
    values["next_agent"] = next_agent
    values["next_start"] = next_start
    return values
