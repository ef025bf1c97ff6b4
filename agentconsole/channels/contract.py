"""The protocol every channel connector implements; the engine talks to connectors only through it."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from agentconsole.domain.models import (
    Capabilities,
    Channel,
    DmAvailability,
    FetchResult,
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
