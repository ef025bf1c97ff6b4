"""The send guard: what blocks a reply (length, unfilled gaps), what only warns, and how it is classified."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agentconsole.replies.lengths import Length, measure
from agentconsole.domain.models import Channel, Kind, ReplySource
from agentconsole.replies.templates import find_gaps

if TYPE_CHECKING:
    from agentconsole.replies.reach import Reach

CANNED, EDITED, PERSONAL = ReplySource.CANNED, ReplySource.EDITED, ReplySource.PERSONAL
# How much of the template must survive (rapidfuzz partial_ratio) for a reply to count as "edited"
# rather than written by hand: below this the agent has replaced the template with their own words.
EDITED_THRESHOLD = 60
# A placeholder typed by hand ("Hi {first_name}") or left from a template pasted elsewhere: it would
# reach the customer as braces, so it blocks like an unfilled canned gap.
_TYPED_SLOT = re.compile(r"\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\|[^{}\n]*)?\}")


@dataclass(frozen=True, slots=True)
class Verdict:
    """The guard's decision on one reply; *blocks* stop sending, *warnings* need an override."""

    length: Length
    blocks: tuple[str, ...]
    warnings: tuple[str, ...]
    source: str

    def allows(self, override_warnings: bool = False) -> bool:
        return not self.blocks and (override_warnings or not self.warnings)

    @property
    def summary(self) -> str:
        return " · ".join(self.blocks + self.warnings)


def check(text: str, channel: Channel | str, kind: Kind | str, *, limit: int | None = None,
          customer: Mapping[str, str | None] | None = None, template_text: str | None = None,
          reach: Reach | None = None) -> Verdict:
    """Judge *text* before it goes out on *channel*/*kind*.

    *customer* is the placeholder values of the conversation (templates.values_for); *template_text*
    is the filled canned reply that was inserted, if any, to classify what is sent; *reach* is
    replies.reach's answer for the conversation: a window that is closed (or waiting) blocks.
    """
    channel, kind = Channel(channel), Kind(kind)
    length = measure(text, channel, kind, limit)
    blocks: list[str] = []
    warnings: list[str] = []
    if not text.strip():
        blocks.append("nothing to send")
    if reach is not None and not reach.can_send:
        blocks.append(reach.reason)
    if length.over:
        blocks.append(f"{length.over} over the {channel.label} limit ({length.used}/{length.limit} "
                      f"{length.unit})")
    source = classify(text, template_text)
    if reach is not None and reach.can_send and reach.tag == "HUMAN_AGENT" and source == CANNED:
        blocks.append("after 24 hours only your own words may go out (with the human-agent tag): "
                      "edit the canned reply first")
    names = [g.name for g in find_gaps(text)] + [m.group(1) for m in _TYPED_SLOT.finditer(text)]
    if names:
        listed = ", ".join(dict.fromkeys("{" + name + "}" for name in names))
        blocks.append(f"fill in {listed} before sending")
    if text.strip() and channel != Channel.EMAIL and kind != Kind.EMAIL and customer is not None:
        missing = _name_missing(text, customer)
        if missing:
            warnings.append(f"the reply never uses the customer's name ({missing})")
    return Verdict(length, tuple(blocks), tuple(warnings), source)


def _name_missing(text: str, customer: Mapping[str, str | None]) -> str | None:
    """The name to suggest when *text* uses none of the customer's names, else None."""
    known = [customer.get(key) for key in ("first_name", "name", "handle")]
    forms = [f.strip() for f in known if f and f.strip()]
    if not forms:
        return None  # nothing known to greet them by
    handle = customer.get("handle") or ""
    if handle.startswith("@"):
        forms.append(handle[1:])
    folded = text.casefold()
    if any(form.casefold() in folded for form in forms):
        return None
    return forms[0]


def classify(text: str, template_text: str | None) -> str:
    """"canned" when the inserted template went out unchanged (whitespace aside), "edited" when it
    was changed but mostly kept, "personal" when there was no template or little of it remains."""
    if template_text is None or not template_text.strip():
        return PERSONAL
    sent, tpl = " ".join(text.split()), " ".join(template_text.split())
    if sent == tpl:
        return CANNED
    # A few surviving words ("ok", "thanks") do not make a reply canned: a third of it must remain.
    kept_enough = min(len(sent), len(tpl)) >= len(tpl) / 3
    from rapidfuzz import fuzz  # loaded on first send, not at start-up

    if kept_enough and fuzz.partial_ratio(sent, tpl) >= EDITED_THRESHOLD:
        return EDITED
    return PERSONAL
