"""Moderating a customer's comment where the platform allows it: hide (the author still sees it; nobody
else does), unhide, delete; every action audited with who did it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from agentconsole.domain.models import Kind

if TYPE_CHECKING:
    from agentconsole.storage.outbox import OutboxStorage


class Moderation(StrEnum):
    HIDE = "hide"
    UNHIDE = "unhide"
    DELETE = "delete"

    @property
    def done(self) -> str:
        return {Moderation.HIDE: "hidden", Moderation.UNHIDE: "shown again", Moderation.DELETE: "deleted"}[self]


@runtime_checkable
class ModeratesComments(Protocol):
    """An optional connector extra (Facebook, Instagram): act on one comment by its platform id.
    Raises the typed connector errors."""

    async def moderate(self, comment_id: str, action: Moderation) -> None: ...


class ModerationRefused(Exception):
    """Nothing was asked of the platform; the message says why, for the agent."""


@dataclass(frozen=True, slots=True)
class Target:
    conversation_id: int
    message_id: int
    external_id: str
    preview: str


class _Store(Protocol):
    def outbox_storage(self) -> OutboxStorage: ...

    def audit(self, agent_id: int | None, action: str, conversation_id: int | None = None,
              **detail: object) -> None: ...


def target(store: _Store, conversation_id: int) -> Target | None:
    """The newest customer comment of a public conversation (what the agent is looking at), or None."""
    storage = store.outbox_storage()
    conversation = storage.reply_target(conversation_id)
    if conversation is None or conversation.kind != Kind.PUBLIC:
        return None
    found = storage.last_inbound(conversation_id)
    if found is None:
        return None
    return Target(conversation_id, found.id, found.external_id, " ".join(str(found.text).split())[:60])


async def moderate(store: _Store, connector: object, found: Target, action: Moderation,
                   agent_id: int | None) -> str:
    """Ask the platform, then audit what was done; returns what to tell the agent."""
    if not isinstance(connector, ModeratesComments):
        raise ModerationRefused("this account cannot moderate comments from here (or is not connected)")
    import asyncio

    await connector.moderate(found.external_id, action)
    await asyncio.to_thread(store.audit, agent_id, f"comment_{action.value}", found.conversation_id,
                            message_id=found.message_id, external_id=found.external_id)
    return f"Comment {action.done}: “{found.preview}”"
