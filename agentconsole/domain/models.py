"""Plain data exchanged between the connectors, the store and the screens."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Channel(StrEnum):
    X = "x"
    FACEBOOK = "facebook"
    INSTAGRAM = "instagram"
    MASTODON = "mastodon"
    BLUESKY = "bluesky"
    EMAIL = "email"

    @property
    def label(self) -> str:
        return _CHANNEL_LABELS[self]

    @property
    def short(self) -> str:
        return _CHANNEL_SHORT[self]


_CHANNEL_LABELS = {
    Channel.X: "X",
    Channel.FACEBOOK: "Facebook",
    Channel.INSTAGRAM: "Instagram",
    Channel.MASTODON: "Mastodon",
    Channel.BLUESKY: "Bluesky",
    Channel.EMAIL: "Email",
}
_CHANNEL_SHORT = {
    Channel.X: "X",
    Channel.FACEBOOK: "FB",
    Channel.INSTAGRAM: "IG",
    Channel.MASTODON: "M",
    Channel.BLUESKY: "B",
    Channel.EMAIL: "✉",
}


class Kind(StrEnum):
    """What sort of conversation: a public thread, a private DM, or an email thread."""

    PUBLIC = "public"
    DM = "dm"
    EMAIL = "email"


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class SendAction(StrEnum):
    """What an outbound item does (stored in the outbox as these words)."""

    REPLY = "reply"  # in the conversation's thread
    DM = "dm"  # a direct message, in a DM thread we may be opening
    POST = "post"  # a public post of the account's own (shift hello and goodbye, crisis status)


class ReplySource(StrEnum):
    """Who or what wrote an outbound text (stored with the outbox item and its message as these words)."""

    PERSONAL = "personal"  # the agent's own words
    EDITED = "edited"  # a canned reply the agent changed but mostly kept
    CANNED = "canned"  # a canned reply sent as inserted
    ESCALATION = "escalation"  # a DM escalation and its public "we've sent you a DM"
    CRISIS = "crisis"  # crisis mode's public status
    SHIFT = "shift"  # a shift's hello or goodbye post
    AWAY = "away"  # the away reply while nobody is on shift
    SURVEY = "survey"  # the satisfaction question after done


class Status(StrEnum):
    OPEN = "open"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class Person:
    """Who wrote a message, as the platform identifies them."""

    external_id: str
    handle: str = ""
    display_name: str = ""
    bio: str = ""
    location: str = ""


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One message fetched by a connector, before it is stored.

    ``thread_key`` groups messages into a conversation within an account (a root post id, a DM
    conversation id, an email thread root Message-ID). ``direction`` is OUT for our own messages
    seen on the platform (e.g. sent from the web UI), so they answer the customer like a reply would.
    """

    external_id: str
    thread_key: str
    kind: Kind
    author: Person
    text: str
    sent_at: float
    direction: Direction = Direction.IN
    subject: str = ""
    in_reply_to: str | None = None
    raw: bytes | str | None = None
    parse_note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FetchResult:
    """A batch of messages and the cursor to resume after it; both are committed together."""

    messages: list[InboundMessage]
    cursor: str | None
    more: bool = False


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a connector can do and the limits it imposes on what we send."""

    public_reply: bool = True
    direct_message: bool = False
    public_post: bool = False
    max_length: int | None = None
    length_unit: str = "characters"
    # Resending with the same idempotency key can never post twice (e.g. Mastodon's header) ...
    idempotent_send: bool = False
    # ... while the platform remembers the key: seconds, None for ever (Mastodon keeps it one hour).
    idempotency_window: float | None = None
    # find_sent() can tell whether an interrupted send reached the platform (e.g. email's Sent folder).
    can_find_sent: bool = False
    # ... and its "not found" proves the send never arrived (else the agent decides).
    find_sent_authoritative: bool = False
    # send() reports its phases (agentconsole.channels.phases), so a claim without one never left.
    reports_send_phases: bool = False


@dataclass(frozen=True, slots=True)
class OutboundRequest:
    """A reply, DM or post handed to a connector by the outbox."""

    idempotency_key: str
    action: SendAction
    text: str
    thread_key: str | None = None
    in_reply_to: str | None = None
    recipient: Person | None = None
    subject: str = ""
    kind: Kind = Kind.PUBLIC
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SendResult:
    """The platform's answer to a send: its id for what we posted."""

    external_id: str
    sent_at: float
    thread_key: str | None = None
    raw: str | None = None


@dataclass(frozen=True, slots=True)
class DmAvailability:
    """Whether the platform lets this account start or continue a DM with a person right now.

    ``reason`` says why not in the agent's words (e.g. "they accept DMs only from accounts they
    follow"); ``public_hint`` is what to say publicly instead ("please DM us"), when there is one."""

    can_dm: bool
    reason: str = ""
    public_hint: str = ""
