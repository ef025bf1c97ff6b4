"""Who is viewing and who is composing which conversation: one row per console, kept by a
heartbeat and expiring on its own, so a console that dies leaves no ghost behind."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dataclasses import dataclass
from enum import StrEnum


if TYPE_CHECKING:
    from agentconsole.storage.store import Store


TTL_SECONDS = 6.0  # a console that stops beating is gone after this long
BEAT_SECONDS = 2.0  # how often a live console renews its row


class Activity(StrEnum):
    VIEWING = "viewing"
    COMPOSING = "composing"


@dataclass(frozen=True, slots=True)
class Present:
    """Another agent on a conversation."""

    agent_id: int
    name: str
    initials: str
    activity: Activity
    since: float

    def describe(self) -> str:
        first = self.name.split()[0] if self.name.split() else self.name
        return f"{first} is replying" if self.activity == Activity.COMPOSING else f"{first} is viewing"


class Presence:
    """This console's presence row, and everyone else's."""

    def __init__(self, store: Store, console: str, agent_id: int) -> None:
        self.store = store
        self.storage = store.team_storage()
        self.console = console
        self.agent_id = agent_id
        self._last: tuple[int | None, Activity] | None = None

    def beat(self, conversation_id: int | None, activity: Activity = Activity.VIEWING) -> None:
        """Say where this console is now; the row lives TTL_SECONDS unless beaten again."""
        now = self.store.clock.now()
        moved = self._last != (conversation_id, activity)
        self.storage.beat(self.console, self.agent_id, conversation_id, str(activity), now, now + TTL_SECONDS, moved)
        self._last = (conversation_id, activity)

    def leave(self) -> None:
        self.storage.leave(self.console)
        self._last = None

    def others(self) -> dict[int, tuple[Present, ...]]:
        return others(self.store, self.agent_id)


def others(store: Store, agent_id: int | None, conversation_id: int | None = None) -> dict[int, tuple[Present, ...]]:
    """Every live presence of agents other than *agent_id*, by conversation; composing first.

    The same agent on a second console is not "someone else": a console never shows its own agent.
    """
    found: dict[int, dict[int, Present]] = {}
    for row in store.team_storage().present(store.clock.now(), agent_id, conversation_id):
        seen = found.setdefault(row.conversation_id, {})
        here = Present(row.agent_id, row.name, row.initials or row.name[:2].upper(), Activity(row.activity),
                       row.since)
        old = seen.get(row.agent_id)
        if old is None or (here.activity == Activity.COMPOSING and old.activity != Activity.COMPOSING):
            seen[row.agent_id] = here
    return {cid: tuple(sorted(people.values(), key=lambda p: (p.activity != Activity.COMPOSING, p.since)))
            for cid, people in found.items()}


def sweep(store: Store) -> int:
    """Delete rows that expired (their consoles are gone); readers ignore them anyway."""
    return store.team_storage().sweep_presence(store.clock.now())

