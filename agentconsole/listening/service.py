"""What the agent does with heard posts: the one rule for what each platform allows in answer, promoting
a post to a conversation, dismissing it, quoting it, and the account's terms."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from agentconsole.channels.contract import ListenTerms, Reply
from agentconsole.domain.models import Channel, Kind, OutboundRequest
from agentconsole.domain.sanitize import clean
from agentconsole.listening import terms as listen_terms
from agentconsole.storage import heard
from agentconsole.storage.heard import HeardRow, HeardState

if TYPE_CHECKING:
    from agentconsole.replies.outbox import Outbox
    from agentconsole.storage.store import Store


class HeardGone(Exception):
    """The heard post was dismissed or removed meanwhile (by another console, say)."""


class Offer(StrEnum):
    """A way to answer a heard post that its platform allows."""

    REPLY = "reply"  # promote it, then reply in its thread (r in the inbox)
    DM = "dm"  # promote it, then move it to a DM (d): only where the author accepts our DMs
    QUOTE = "quote"  # a post of our own quoting it (X)
    LIKE = "like"  # like it (X)


@dataclass(frozen=True, slots=True)
class HeardItem:
    """A heard post with what its platform allows, in the agent's words."""

    row: HeardRow
    offers: tuple[Offer, ...]
    allows: str


def offers(row: HeardRow) -> tuple[Offer, ...]:
    """What the platform lets us do with *row*: where a reply is refused (X, to a post that did not
    @mention or quote the brand), a quote, and a DM only where the author's answer says they take ours."""
    if row.reply == Reply.REPLY:
        return (Offer.REPLY,) + ((Offer.DM,) if row.receives_dm is not False else ())
    return (Offer.LIKE, Offer.QUOTE) + ((Offer.DM,) if row.receives_dm is True else ())


def allows(row: HeardRow) -> str:
    found = offers(row)
    if row.reply == Reply.REPLY:
        return "reply in its thread once promoted" + (", or DM" if Offer.DM in found else "")
    dm = ("they accept our DMs" if row.receives_dm else
          "they do not accept our DMs" if row.receives_dm is False else "X did not say whether they take DMs")
    label = Channel(row.channel).label if row.channel in Channel._value2member_map_ else row.channel
    return f"{label} refuses a reply (it did not mention us): like or quote it; {dm}"


def item(row: HeardRow) -> HeardItem:
    return HeardItem(row, offers(row), allows(row))


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
    row = heard.get(store.conn, heard_id)
    if row is None or row.state == HeardState.DISMISSED:
        raise HeardGone("that heard post was dismissed meanwhile")
    request = OutboundRequest(uuid.uuid4().hex, "post", clean(text).strip(), kind=Kind.PUBLIC,
                              extra={"quote_of": row.external_id})
    return outbox.enqueue(row.account_id, request, conversation_id=None, agent_id=agent_id, source="heard")


def set_terms(store: Store, account_id: int, terms: ListenTerms, interval: float | None = None) -> None:
    with store.transaction() as conn:
        heard.save_terms(conn, account_id, listen_terms.as_settings(terms, interval))
