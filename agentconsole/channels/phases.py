"""How far a send got: connectors report phases while sending, the engine commits each one at once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from enum import StrEnum
from typing import Protocol, runtime_checkable

from agentconsole.domain.models import OutboundRequest, SendResult


class SendPhase(StrEnum):
    """The outbox's record of an attempt; what survives a kill -9 decides what a restart may do."""

    CLAIMED = ""  # taken for sending; for a connector that reports phases, nothing has left yet
    TRANSMITTING = "transmitting"  # the body is going out: from here on the outcome may be unknown
    ACCEPTED = "accepted"  # the platform said yes (state 'sent'); after-work such as filing a copy is due
    UNKNOWN = "unknown"  # an attempt ended without an answer; re-judged before every retry


class PhaseReporter(Protocol):
    async def transmitting(self) -> None: ...

    async def accepted(self, result: SendResult) -> None: ...


@runtime_checkable
class PhasedConnector(Protocol):
    """A connector with ``capabilities.reports_send_phases``: it calls :func:`transmitting` right
    before the body leaves and :func:`accepted` the moment the platform accepts, then does its
    after-work (email files its copy in Sent); ``complete_send`` redoes only that after-work for a
    send a crash interrupted after acceptance, and never sends anything."""

    async def complete_send(self, request: OutboundRequest, result: SendResult) -> None: ...


_reporter: ContextVar[PhaseReporter | None] = ContextVar("send_phase_reporter", default=None)


@contextmanager
def reporting(reporter: PhaseReporter) -> Iterator[None]:
    """Route the phases the connector reports during this send to *reporter* (the engine's)."""
    token = _reporter.set(reporter)
    try:
        yield
    finally:
        _reporter.reset(token)


async def transmitting() -> None:
    """Called by a connector right before the request body leaves; returns once that is recorded."""
    reporter = _reporter.get()
    if reporter is not None:
        await reporter.transmitting()


async def accepted(result: SendResult) -> None:
    """Called by a connector the moment the platform accepted; returns once that is committed."""
    reporter = _reporter.get()
    if reporter is not None:
        await reporter.accepted(result)
