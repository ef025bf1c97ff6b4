"""The one rule for "can we message this person now, and how": Meta's private reply and messaging
window, and the live DM answer of platforms that can give one (X, Bluesky)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from agentconsole.domain.clock import Clock
from agentconsole.domain.models import Channel, DmAvailability, Kind, Person, ReplySource

if TYPE_CHECKING:
    from agentconsole.storage.escalations import EscalationStorage


class Store(Protocol):
    """What the rule reads (agentconsole.storage.store.Store); typed structurally so that connectors,
    which apply the same window when a reply leaves, never import the storage package."""

    @property
    def clock(self) -> Clock: ...

    def escalation_storage(self) -> EscalationStorage: ...


log = logging.getLogger(__name__)

HOUR = 3600.0
DAY = 24 * HOUR
WINDOW = 24 * HOUR  # Messenger and Instagram: standard replies within 24 h of the customer's last message
HUMAN_AGENT_LIMIT = 7 * DAY  # the HUMAN_AGENT tag, for a person's own words, up to 7 days
PRIVATE_REPLY_LIMIT = 7 * DAY  # one private reply per comment, within 7 days of the comment
WINDOWED = frozenset({Channel.FACEBOOK, Channel.INSTAGRAM})
# Outbox sources whose text a person wrote for this customer; canned-as-is, away and crisis texts
# are not, so they never travel under the HUMAN_AGENT tag.
HUMAN_SOURCES = frozenset({ReplySource.PERSONAL, ReplySource.EDITED, ReplySource.ESCALATION})
DEAD_ITEM_STATES = ("failed", "cancelled", "discarded")


class ReachState(StrEnum):
    OPEN = "open"  # no window rule on this channel (or a public reply)
    PRIVATE_REPLY = "private_reply"  # a comment's one private reply is still available
    WAITING = "waiting"  # the private reply went (or is going) out; the customer has not answered
    WINDOW = "window"  # inside 24 h of the customer's last message
    HUMAN_AGENT = "human_agent"  # 24 h to 7 days: only a person's own words, tagged HUMAN_AGENT
    CLOSED = "closed"  # nothing can be sent now
    UNAVAILABLE = "unavailable"  # the platform says this person cannot be sent a DM


@dataclass(frozen=True, slots=True)
class Reach:
    """The answer: whether a message may go now, in what form, why not, and until when it holds.

    ``notice`` is the line the composer shows before the agent types; ``until`` is when the answer
    changes on its own (the window closing), None when only a new event changes it."""

    state: ReachState
    can_send: bool
    reason: str = ""
    notice: str = ""
    messaging_type: str | None = None  # Meta's Send API: RESPONSE or MESSAGE_TAG
    tag: str | None = None
    until: float | None = None
    public_hint: str = ""

    @property
    def private_reply(self) -> bool:
        return self.state == ReachState.PRIVATE_REPLY


@dataclass(frozen=True, slots=True)
class Facts:
    """What the rule reads about one conversation; gathered from the store by :func:`facts_for`.

    ``customer_at`` is the newest customer message in the thread (a comment on a public thread; any
    message, a story mention included, in a DM). ``private_reply_at`` is when the private reply was
    queued (None: none alive); ``answered_at`` the customer's first DM message after it."""

    channel: Channel
    kind: Kind
    customer_at: float | None = None
    private_reply_at: float | None = None
    answered_at: float | None = None


def _app(channel: Channel) -> str:
    return "Instagram" if channel == Channel.INSTAGRAM else "Messenger"


def _left(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds >= 2 * DAY:
        return f"{seconds / DAY:.0f} days"
    if seconds >= 2 * HOUR:
        return f"{seconds / HOUR:.0f} h"
    return f"{max(1.0, seconds / 60):.0f} min"


def window(channel: Channel, customer_at: float | None, now: float, *, human: bool = True) -> Reach:
    """The messaging window of a Messenger / Instagram DM thread whose customer last wrote at
    *customer_at*; *human* False for text no person wrote for this customer (canned sent as is,
    away replies, crisis mode), which may never use the HUMAN_AGENT tag."""
    if customer_at is None:
        return Reach(ReachState.CLOSED, False,
                     f"{channel.label} lets a business message only someone who wrote first",
                     f"{channel.label}: nothing can be sent until the customer writes")
    age = now - customer_at
    if age < WINDOW:
        end = customer_at + WINDOW
        return Reach(ReachState.WINDOW, True, notice=f"{channel.label} window open: {_left(end - now)} left",
                     messaging_type="RESPONSE", until=end)
    if age < HUMAN_AGENT_LIMIT:
        end = customer_at + HUMAN_AGENT_LIMIT
        if not human:
            return Reach(ReachState.HUMAN_AGENT, False,
                         "the 24-hour window has passed; only a reply a person writes may go out now "
                         "(with the human-agent tag), never a canned or automatic one",
                         f"{channel.label}: after 24 h only your own words go out, {_left(end - now)} left",
                         until=end)
        return Reach(ReachState.HUMAN_AGENT, True,
                     notice=f"{channel.label}: 24 h passed; your reply goes with the human-agent tag, "
                            f"{_left(end - now)} left",
                     messaging_type="MESSAGE_TAG", tag="HUMAN_AGENT", until=end)
    return Reach(ReachState.CLOSED, False,
                 f"the conversation closed after 7 days without a message from the customer; "
                 f"{channel.label} allows nothing more until they write again",
                 f"{channel.label}: closed after 7 days; nothing can be sent until the customer writes")


def assess(facts: Facts, now: float, *, human: bool = True,
           availability: DmAvailability | None = None) -> Reach:
    """Can we message this person now, and how: for a public post, whether (and how) a DM may start;
    for a DM thread, whether the next message may go out."""
    channel = facts.channel
    if availability is not None and not availability.can_dm and facts.kind == Kind.PUBLIC:
        return Reach(ReachState.UNAVAILABLE, False, availability.reason or f"{channel.label} refuses a DM",
                     public_hint=availability.public_hint)
    if channel not in WINDOWED or facts.kind == Kind.EMAIL:
        return Reach(ReachState.OPEN, True)
    if facts.kind == Kind.PUBLIC:
        return _comment(facts, now)
    return _thread(facts, now, human)


def _comment(facts: Facts, now: float) -> Reach:
    channel = facts.channel
    if facts.private_reply_at is not None:
        if facts.answered_at is not None:
            return Reach(ReachState.CLOSED, False, "this comment already had its private reply and the "
                         "customer answered: continue in the DM (L)")
        return Reach(ReachState.WAITING, False,
                     f"this comment already had its one private reply; waiting for the customer to reply "
                     f"in {_app(channel)}", f"waiting for the customer to reply in {_app(channel)}")
    if facts.customer_at is None:
        return Reach(ReachState.CLOSED, False, "there is no customer comment here to reply to privately")
    end = facts.customer_at + PRIVATE_REPLY_LIMIT
    if now >= end:
        return Reach(ReachState.CLOSED, False,
                     f"the comment is over 7 days old; {channel.label} allows a private reply only within "
                     "7 days of a comment", f"{channel.label}: private reply no longer possible (7 days)")
    return Reach(ReachState.PRIVATE_REPLY, True,
                 notice=f"one private reply to this comment, {_left(end - now)} left", until=end)


def _thread(facts: Facts, now: float, human: bool) -> Reach:
    channel = facts.channel
    if facts.private_reply_at is not None:
        if facts.answered_at is None:
            return Reach(ReachState.WAITING, False,
                         f"waiting for the customer to reply in {_app(channel)}: {channel.label} allows one "
                         "private reply until they answer",
                         f"waiting for the customer to reply in {_app(channel)}")
        return window(channel, facts.customer_at, now, human=human)
    return window(channel, facts.customer_at, now, human=human)


def messaging_for(channel: Channel, customer_at: float | None, now: float, source: str | None) -> Reach:
    """What the connector sends with a DM reply at *now* (it may go out later than it was queued)."""
    return window(channel, customer_at, now, human=source is None or source in HUMAN_SOURCES)


# ---------------------------------------------------------------- the facts, from the store


def facts_for(store: Store, conversation_id: int) -> Facts | None:
    """The facts of one conversation, or None when it does not exist."""
    storage = store.escalation_storage()
    row = storage.reach_facts(conversation_id)
    if row is None:
        return None
    try:
        channel, kind = Channel(row.channel), Kind(row.kind)
    except ValueError:
        return None
    customer_at = row.customer_at
    if channel not in WINDOWED:
        return Facts(channel, kind, customer_at)
    found = storage.live_escalation(conversation_id, kind == Kind.PUBLIC, DEAD_ITEM_STATES)
    if found is None:
        return Facts(channel, kind, customer_at)
    dm_conversation, queued_at = found
    answered = storage.first_inbound_after(dm_conversation, queued_at)
    return Facts(channel, kind, customer_at, private_reply_at=queued_at, answered_at=answered)


def for_conversation(store: Store, conversation_id: int, *, human: bool = True,
                     availability: DmAvailability | None = None) -> Reach | None:
    """:func:`assess` for a stored conversation at the store's clock; None when it is gone."""
    facts = facts_for(store, conversation_id)
    if facts is None:
        return None
    return assess(facts, store.clock.now(), human=human, availability=availability)


async def ask(connector: object, person: Person) -> DmAvailability | None:
    """The connector's live DM answer (ChecksDmAvailability), or None when it has none or cannot say
    now; a failure to ask never blocks the agent, the send itself will tell."""
    from agentconsole.channels.contract import ChecksDmAvailability
    from agentconsole.domain.errors import ConnectorError

    if not isinstance(connector, ChecksDmAvailability):
        return None
    try:
        return await connector.dm_availability(person)
    except ConnectorError as exc:
        log.info("could not ask whether %s accepts a DM: %s", getattr(person, "handle", "?"), exc)
        return None



def why_no_post(channel: Channel | str) -> str:
    """Why an account cannot take a public text post (shift hello/goodbye, crisis status)."""
    if channel == Channel.INSTAGRAM:
        return "Instagram has no text-only post (every post needs a photo or video), so it is skipped"
    if channel == Channel.EMAIL:
        return "email has no public posts"
    return "this account cannot post publicly"


def for_reply(answer: Reach | None, kind: Kind | str) -> Reach | None:
    """The part of *answer* that governs a reply typed in a conversation of *kind*: a DM thread's
    window does; a public reply never waits on the DM rules."""
    return answer if answer is not None and Kind(kind) == Kind.DM else None
