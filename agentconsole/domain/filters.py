"""The `\\` filter of a view, parsed from what the agent typed: channels, kinds, an assignee and words."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from agentconsole.domain.models import Channel, Kind
from agentconsole.domain.normalise import valid_str

CHANNEL_WORDS = {
    "x": Channel.X, "twitter": Channel.X, "fb": Channel.FACEBOOK, "facebook": Channel.FACEBOOK,
    "ig": Channel.INSTAGRAM, "instagram": Channel.INSTAGRAM, "m": Channel.MASTODON,
    "mastodon": Channel.MASTODON, "b": Channel.BLUESKY, "bsky": Channel.BLUESKY, "bluesky": Channel.BLUESKY,
    "email": Channel.EMAIL, "mail": Channel.EMAIL,
}
KIND_WORDS = {"dm": Kind.DM, "dms": Kind.DM, "public": Kind.PUBLIC}
UNASSIGNED = 0  # the assignee "nobody"


@dataclass(frozen=True, slots=True)
class ViewFilter:
    """What narrows the current view; words match the preview, the subject and the customer's name
    or handle (all words must match, case-insensitively)."""

    typed: str = ""
    channels: frozenset[str] = frozenset()
    kinds: frozenset[str] = frozenset()
    assignee: int | None = None  # an agent id, UNASSIGNED for nobody, None for anyone
    words: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.channels or self.kinds or self.assignee is not None or self.words)


HELP = ("x fb ig m b email · dm public · mine, @AN (initials) or unassigned · any other word: "
        "text, name or handle")


def parse_filter(typed: str, me: int | None, agents: Mapping[str, int]) -> ViewFilter:
    """*agents* maps lower-cased initials and first names to agent ids (for @AN, @bob)."""
    channels: set[str] = set()
    kinds: set[str] = set()
    assignee: int | None = None
    words: list[str] = []
    typed = valid_str(typed, 200)  # bound into SQL: valid Unicode, a sane length
    for token in typed.split():
        word = token.casefold()
        if word in CHANNEL_WORDS:
            channels.add(str(CHANNEL_WORDS[word]))
        elif word in KIND_WORDS:
            kinds.add(str(KIND_WORDS[word]))
        elif word in ("mine", "@me") and me is not None:
            assignee = me
        elif word == "unassigned":
            assignee = UNASSIGNED
        elif word.startswith("@") and word[1:] in agents:
            assignee = agents[word[1:]]
        else:
            words.append(token)
    return ViewFilter(" ".join(typed.split()), frozenset(channels), frozenset(kinds), assignee, tuple(words))
