"""The collision guard: before an answer goes out, has someone else answered this conversation since
the composer opened, is another answer on its way, or is another agent writing one right now?"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dataclasses import dataclass
from enum import StrEnum

from agentconsole.domain.sanitize import one_line
from agentconsole.response.sla import format_wait
from agentconsole.team import presence

if TYPE_CHECKING:
    from agentconsole.storage.store import Store

UNSETTLED = ("waiting", "pending", "sending", "unsure")


class What(StrEnum):
    ANSWERED = "answered"  # an answer reached the thread after the composer opened
    QUEUED = "queued"  # another agent's answer is on its way
    COMPOSING = "composing"  # another agent is writing one now


class Choice(StrEnum):
    SEND_ANYWAY = "send_anyway"
    DISCARD = "discard"
    KEEP = "keep"


@dataclass(frozen=True, slots=True)
class Collision:
    """Something another agent (or the platform's own app) did to a conversation since it was opened."""
    what: What
    who: str  # an agent's name, or "" for someone using the platform's own app
    at: float
    text: str = ""
    mine: bool = False  # this agent's own earlier answer (another console, or sent twice by mistake)

    def describe(self, now: float) -> str:
        ago = _ago(now - self.at)
        who = "You" if self.mine else self.who or "Someone on the platform's own app"
        if self.what == What.ANSWERED:
            said = f": {self.text}" if self.text else ""
            return f"{who} replied {ago}{said}"
        if self.what == What.QUEUED:
            whose = "Your" if self.mine else f"{who}'s"
            return f"{whose} reply is on its way (queued {ago}): {self.text}"
        return f"{who} is writing a reply right now (started {ago})"


class Collided(Exception):
    """The send stopped: someone else got there first. The agent chooses what happens next."""

    def __init__(self, collisions: tuple[Collision, ...], now: float) -> None:
        super().__init__("; ".join(c.describe(now) for c in collisions))
        self.collisions = collisions
        self.now = now


def check(store: Store, conversation_id: int, *, agent_id: int | None, opened_at: float) -> tuple[Collision, ...]:
    """Every reason this agent's answer would be a second one; newest first; () when it is clear.

    An answer still on its way counts whoever queued it, this agent included: until it is sent, the
    customer's message still looks unanswered, and a second answer to it is the accident to stop."""
    storage = store.team_storage()
    found: list[Collision] = []
    for a in storage.answers_since(conversation_id, opened_at, 5):
        found.append(Collision(What.ANSWERED, a.who, min(a.at, store.clock.now()), one_line(a.text, 80),
                               a.agent_id is not None and a.agent_id == agent_id))
    for a in storage.answers_on_their_way(conversation_id, UNSETTLED, 5):
        found.append(Collision(What.QUEUED, a.who, a.at, one_line(a.text, 80),
                               a.agent_id is not None and a.agent_id == agent_id))
    for person in presence.others(store, agent_id, conversation_id).get(conversation_id, ()):
        if person.activity == presence.Activity.COMPOSING:
            found.append(Collision(What.COMPOSING, person.name, person.since))
    return tuple(sorted(found, key=lambda c: -c.at))


def guarded(store: Store, conversation_id: int, *, agent_id: int | None, opened_at: float | None,
            send_anyway: bool, verb: str) -> tuple[Collision, ...]:
    """Raise Collided unless clear or *send_anyway*; an override is audited with what it overrode.

    Call inside the write transaction that queues the answer: the check and the queueing then happen
    under one lock, so two agents can never both pass it for the same conversation.
    """
    if opened_at is None:
        return ()
    collisions = check(store, conversation_id, agent_id=agent_id, opened_at=opened_at)
    if not collisions:
        return ()
    now = store.clock.now()
    if not send_anyway:
        raise Collided(collisions, now)
    store.audit(agent_id, "sent_anyway", conversation_id, verb=verb,
                over=[{"what": str(c.what), "who": c.who, "at": c.at} for c in collisions])
    return collisions


def reply(store: Store, conversation_id: int, text: str, *, agent_id: int | None, opened_at: float | None,
          send_anyway: bool = False, source: str = "personal", resolve: bool = False,
          reply_all: bool = False, shown_cc: tuple[str, ...] | None = None) -> int:
    """Queue a reply through the collision guard; returns the outbox item."""
    from agentconsole.replies.outbox import Outbox

    with store.transaction():
        guarded(store, conversation_id, agent_id=agent_id, opened_at=opened_at, send_anyway=send_anyway,
                verb="reply")
        return Outbox(store).enqueue_reply(conversation_id, text, agent_id=agent_id, source=source,
                                           resolve=resolve, reply_all=reply_all, shown_cc=shown_cc)


def _ago(seconds: float) -> str:
    """"20 s ago", "3m ago": the wait line's compact form, with a space for seconds as people say them."""
    seconds = max(0.0, seconds)
    return f"{int(seconds)} s ago" if seconds < 60 else f"{format_wait(seconds)} ago"

