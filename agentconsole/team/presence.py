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
        self.console = console
        self.agent_id = agent_id
        self._last: tuple[int | None, Activity] | None = None

    def beat(self, conversation_id: int | None, activity: Activity = Activity.VIEWING) -> None:
        """Say where this console is now; the row lives TTL_SECONDS unless beaten again."""
        now = self.store.clock.now()
        changed = self._last != (conversation_id, activity)
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT INTO presence(console, agent_id, conversation_id, activity, since, expires_at)"
                " VALUES (?,?,?,?,?,?) ON CONFLICT(console) DO UPDATE SET agent_id = excluded.agent_id,"
                " conversation_id = excluded.conversation_id, activity = excluded.activity,"
                " since = CASE WHEN ? THEN excluded.since ELSE presence.since END,"
                " expires_at = excluded.expires_at",
                (self.console, self.agent_id, conversation_id, str(activity), now, now + TTL_SECONDS,
                 int(changed)))
        self._last = (conversation_id, activity)

    def leave(self) -> None:
        with self.store.transaction() as conn:
            conn.execute("DELETE FROM presence WHERE console = ?", (self.console,))
        self._last = None

    def others(self) -> dict[int, tuple[Present, ...]]:
        return others(self.store, self.agent_id)


def others(store: Store, agent_id: int | None, conversation_id: int | None = None) -> dict[int, tuple[Present, ...]]:
    """Every live presence of agents other than *agent_id*, by conversation; composing first.

    The same agent on a second console is not "someone else": a console never shows its own agent.
    """
    now = store.clock.now()
    sql = ("SELECT p.conversation_id, p.agent_id, a.name, a.initials, p.activity, p.since FROM presence p"
           " JOIN agents a ON a.id = p.agent_id WHERE p.expires_at > ? AND p.conversation_id IS NOT NULL"
           " AND p.agent_id IS NOT ?")
    params: list = [now, agent_id]
    if conversation_id is not None:
        sql += " AND p.conversation_id = ?"
        params.append(conversation_id)
    found: dict[int, dict[int, Present]] = {}
    for cid, aid, name, initials, activity, since in store.conn.execute(sql, params):
        seen = found.setdefault(cid, {})
        here = Present(aid, name, initials or name[:2].upper(), Activity(activity), since)
        old = seen.get(aid)
        if old is None or (here.activity == Activity.COMPOSING and old.activity != Activity.COMPOSING):
            seen[aid] = here
    return {cid: tuple(sorted(people.values(), key=lambda p: (p.activity != Activity.COMPOSING, p.since)))
            for cid, people in found.items()}


def sweep(store: Store) -> int:
    """Delete rows that expired (their consoles are gone); readers ignore them anyway."""
    with store.transaction() as conn:
        return conn.execute("DELETE FROM presence WHERE expires_at <= ?", (store.clock.now(),)).rowcount
