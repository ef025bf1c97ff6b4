"""What the agent does with heard posts: promoting one to a conversation, dismissing it, quoting it, and the
account's terms (what each platform allows is agentconsole.listening.offers)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from agentconsole.channels.contract import ListenTerms
from agentconsole.domain.models import Kind, OutboundRequest, SendAction
from agentconsole.domain.sanitize import clean
from agentconsole.listening import terms as listen_terms
from agentconsole.storage import heard
from agentconsole.listening.offers import HeardGone, HeardItem, Offer, QuoteRefused, allows, item, offers
from agentconsole.storage.heard import HeardState

__all__ = ["HeardGone", "HeardItem", "Offer", "QuoteRefused", "allows", "dismiss", "item", "offers", "promote",
           "quote", "set_terms"]

if TYPE_CHECKING:
    from agentconsole.replies.outbox import Outbox
    from agentconsole.storage.store import Store


def promote(store: Store, heard_id: int, agent_id: int | None) -> int:
    """The heard post as a conversation in the inbox (its message stored as a mention would be), its wait
    starting now; returns the conversation. Promoting it again returns the same conversation."""
    now = store.clock.now()
    with store.transaction() as conn:
        row = heard.get(conn, heard_id)
        if row is None or row.state == HeardState.DISMISSED:
            raise HeardGone("that heard post was dismissed meanwhile")
        if row.state == HeardState.PROMOTED and row.conversation_id is not None:
            return row.conversation_id
        message = heard.as_message(conn, heard_id)
        assert message is not None
        report = store.ingest(row.account_id, [message], set_cursor=False)
        conversation_id = heard.conversation_of(conn, row.account_id, row.external_id)
        if conversation_id is None:
            raise HeardGone("the heard post could not be stored as a message")
        if report.new_messages:
            heard.start_wait(conn, conversation_id, now)
        heard.decide(conn, heard_id, HeardState.PROMOTED, conversation_id, agent_id, now)
    store.audit(agent_id, "promoted_heard", conversation_id, heard_id=heard_id)
    return conversation_id


def dismiss(store: Store, heard_id: int, agent_id: int | None) -> bool:
    with store.transaction() as conn:
        done = heard.decide(conn, heard_id, HeardState.DISMISSED, None, agent_id, store.clock.now())
    if done:
        store.audit(agent_id, "dismissed_heard", None, heard_id=heard_id)
    return done


def quote(store: Store, outbox: Outbox, heard_id: int, text: str, agent_id: int | None) -> int:
    """Queue a post of our own that quotes the heard post (where a reply is refused); the outbox item."""
    from agentconsole.replies import guard

    row = heard.get(store.conn, heard_id)
    if row is None or row.state == HeardState.DISMISSED:
        raise HeardGone("that heard post was dismissed meanwhile")
    verdict = guard.check(text, row.channel, Kind.PUBLIC)
    if verdict.blocks:
        raise QuoteRefused(" · ".join(verdict.blocks))
    request = OutboundRequest(uuid.uuid4().hex, SendAction.POST, clean(text).strip(), kind=Kind.PUBLIC,
                              extra={"quote_of": row.external_id})
    return outbox.enqueue(row.account_id, request, conversation_id=None, agent_id=agent_id, source="heard")


def set_terms(store: Store, account_id: int, terms: ListenTerms, interval: float | None = None) -> None:
    with store.transaction() as conn:
        heard.save_terms(conn, account_id, listen_terms.as_settings(terms, interval))
