"""The one rule for what a platform allows in answer to a heard post, and the heard post as the Heard view
shows it; plain data, no storage (the screens import it)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from agentconsole.channels.contract import Reply
from agentconsole.domain.models import Channel

if TYPE_CHECKING:
    from agentconsole.storage.heard import HeardRow


class HeardGone(Exception):
    """The heard post was dismissed or removed meanwhile (by another console, say)."""


class QuoteRefused(ValueError):
    """The send guard blocks this quote (empty, over the channel's limit): nothing was queued."""


class Offer(StrEnum):
    """A way to answer a heard post that its platform allows."""

    REPLY = "reply"  # promote it, then reply in its thread (r in the inbox)
    DM = "dm"  # promote it, then move it to a DM (d): only where the author accepts our DMs
    QUOTE = "quote"  # a post of our own quoting it (X)
    LIKE = "like"  # like it (X)


@dataclass(frozen=True, slots=True)
class HeardItem:
    """A heard post with what its platform allows, in the agent's words."""

    row: HeardRow
    offers: tuple[Offer, ...]
    allows: str


def offers(row: HeardRow) -> tuple[Offer, ...]:
    """What the platform lets us do with *row*: where a reply is refused (X, to a post that did not
    @mention or quote the brand), a quote, and a DM only where the author's answer says they take ours."""
    if row.reply == Reply.REPLY:
        return (Offer.REPLY,) + ((Offer.DM,) if row.receives_dm is not False else ())
    return (Offer.LIKE, Offer.QUOTE) + ((Offer.DM,) if row.receives_dm is True else ())


def allows(row: HeardRow) -> str:
    found = offers(row)
    if row.reply == Reply.REPLY:
        return "reply in its thread once promoted" + (", or DM" if Offer.DM in found else "")
    dm = ("they accept our DMs" if row.receives_dm else
          "they do not accept our DMs" if row.receives_dm is False else "X did not say whether they take DMs")
    label = Channel(row.channel).label if row.channel in Channel._value2member_map_ else row.channel
    return f"{label} refuses a reply (it did not mention us): like or quote it; {dm}"


def item(row: HeardRow) -> HeardItem:
    return HeardItem(row, offers(row), allows(row))
