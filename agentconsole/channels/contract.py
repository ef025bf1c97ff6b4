"""The protocol every channel connector implements; the engine talks to connectors only through it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from agentconsole.domain.models import (
    Capabilities,
    Channel,
    DmAvailability,
    FetchResult,
    InboundMessage,
    OutboundRequest,
    Person,
    SendResult,
)


@runtime_checkable
class Connector(Protocol):
    """A channel account the engine can poll and send through.

    ``fetch`` returns messages newer than ``cursor`` (None for the first sync) and the cursor to
    resume from; the engine commits both together. ``send`` delivers one outbox item; it must be
    safe to call again with the same ``idempotency_key`` where the platform allows it.
    ``find_sent`` looks an interrupted send up on the platform and returns None when it did not
    arrive; it is only called when ``capabilities.can_find_sent``. Where a connector can neither
    find a send nor resend idempotently, the outbox asks the agent instead of resending blindly.
    """

    channel: Channel
    capabilities: Capabilities
    poll_interval: float

    async def fetch(self, cursor: str | None) -> FetchResult: ...

    async def send(self, request: OutboundRequest) -> SendResult: ...

    async def find_sent(self, request: OutboundRequest) -> SendResult | None: ...

    async def check(self) -> str:
        """Log in and verify the account works; returns a one-line description of what was checked.
        Raises the typed errors (AuthError with exactly what failed)."""
        ...

    async def close(self) -> None: ...


@runtime_checkable
class ChecksDmAvailability(Protocol):
    """An optional extra a connector implements when its platform can say, before we try, whether a
    person can be sent a DM (X's ``receives_your_dm``, Bluesky's ``getConvoAvailability``). The DM
    escalation asks it before offering a DM; a connector without it is assumed to allow DMs when its
    capabilities say ``direct_message``. Raises the typed connector errors like every other call."""

    async def dm_availability(self, person: Person) -> DmAvailability: ...


@dataclass(frozen=True, slots=True)
class ListenTerms:
    """What an account follows beyond its @mentions: plain keywords (a brand name, a product) and
    hashtags (without the #), as the agent set them."""

    keywords: tuple[str, ...] = ()
    hashtags: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.keywords or self.hashtags)


class Reply(StrEnum):
    """How the platform lets us answer a post that did not @mention us."""

    REPLY = "reply"  # a public reply in its thread is fine (Mastodon, Bluesky, the demo)
    REFUSED = "refused"  # no public reply (X refuses replies to posts that did not mention or quote us)


@dataclass(frozen=True, slots=True)
class HeardPost:
    """One public post found by listening, as plain data. ``message`` is the inbox message it becomes
    when the agent promotes it (built exactly as the connector builds a mention's); ``matched`` is the
    term that found it; ``receives_dm`` is the platform's word on whether its author accepts our DMs
    (None: it did not say). Media is never fetched: attachments show as the connector's text lines."""

    message: InboundMessage
    matched: str
    url: str = ""
    reply: Reply = Reply.REPLY
    receives_dm: bool | None = None


@dataclass(frozen=True, slots=True)
class ListenResult:
    """What one listening round found and the cursor to resume from; the engine commits both together."""

    posts: list[HeardPost]
    cursor: str | None


@runtime_checkable
class Listens(Protocol):
    """An optional extra a connector implements when its platform can search public posts beyond the
    brand's @mentions (Mastodon's hashtag timelines and status search, Bluesky's searchPosts, X's recent
    search). ``listen`` returns posts newer than ``cursor`` (None: the newest page per term only) that
    match *terms* and do not mention the brand (those come through ``fetch``), and the cursor to resume
    from; a term added later starts at its own newest page. ``listen_interval`` is the seconds between
    rounds the connector suggests (X bills every post read). Raises the typed connector errors like
    every other call. Media is never fetched."""

    listen_interval: float

    async def listen(self, terms: ListenTerms, cursor: str | None) -> ListenResult: ...


@runtime_checkable
class LikesPosts(Protocol):
    """An optional extra: the platform lets us like a public post (X, where a heard post cannot be
    answered publicly). Liking twice is harmless. Raises the typed connector errors."""

    async def like(self, external_id: str) -> None: ...
