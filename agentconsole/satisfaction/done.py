"""The one way a conversation becomes done: `e` in the inbox, a reply sent with resolve (ctrl+r in the
composer: the sender calls after_sent once the outbox stored it) and any later verb all call mark_done, so the survey policy (satisfaction.service.decide:
opted-in account, DMs and email only unless public is enabled, once per customer per N days, never in
crisis mode) is applied to every one of them the same way, in the transaction that marks it done."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentconsole.domain.models import Status
from agentconsole.satisfaction.service import Decision, Surveys

if TYPE_CHECKING:
    from agentconsole.domain.records import OutboxRow
    from agentconsole.storage.store import Store


def mark_done(store: Store, conversation_id: int, agent_id: int | None) -> Decision:
    """Mark the conversation done and queue the account's satisfaction question when the policy allows
    (the question is never asked twice after the same last message, so a repeat call asks nothing)."""
    with store.transaction():
        store.set_status(conversation_id, Status.DONE, agent_id)
        return Surveys(store).after_done(conversation_id, agent_id)


def after_sent(store: Store, item: OutboxRow) -> Decision | None:
    """After an outbox item is stored as sent: a reply sent with resolve (ctrl+r) is done through
    mark_done like any other done (None for every other item)."""
    if not item.resolve_after or item.conversation_id is None:
        return None
    return mark_done(store, item.conversation_id, item.agent_id)
