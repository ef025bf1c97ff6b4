"""Where DM escalations are kept, and what escalation and the reach rule read of conversations: the
interface they use and its SQL implementation."""

from __future__ import annotations

from collections.abc import Collection
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from agentconsole.domain.models import Person
from agentconsole.domain.records import OutboxState
from agentconsole.storage.store import Store

__all__ = ["Customer", "EscalationStorage", "ItemProgress", "ReachFacts", "SqlEscalationStorage"]


@dataclass(frozen=True, slots=True)
class Customer:
    """Who wrote a conversation, as its account knows them."""

    account_id: int
    channel: str
    contact_id: int | None
    identity_id: int
    person: Person


@dataclass(frozen=True, slots=True)
class ItemProgress:
    """Where one outbox item of an escalation or crisis batch is."""

    account_name: str
    channel: str
    state: OutboxState
    last_error: str


@dataclass(frozen=True, slots=True)
class ReachFacts:
    """What the reach rule reads of a conversation: its channel and kind, and when the customer last wrote."""

    channel: str
    kind: str
    customer_at: float | None


class EscalationStorage(Protocol):
    """Escalations of one workspace. Writes inside transaction() apply together."""

    def transaction(self) -> AbstractContextManager[object]: ...
    def customer(self, conversation_id: int) -> Customer | None:
        """None when the conversation is gone or has no identity."""
        ...
    def dm_conversation(self, account_id: int, identity_id: int) -> int | None:
        """The most recent DM conversation with this identity on the account."""
        ...
    def add_dm_conversation(self, customer: Customer, thread_key: str, at: float) -> int: ...
    def thread_key(self, conversation_id: int) -> str | None: ...
    def last_inbound_id(self, conversation_id: int) -> str | None:
        """The external id of the conversation's newest customer message."""
        ...
    def link(self, public_conversation_id: int, dm_conversation_id: int) -> None:
        """Link the two both ways; the public one is marked escalated."""
        ...
    def add(self, public_conversation_id: int, dm_conversation_id: int, dm_item: int, public_item: int | None,
            status_item: int | None, batch: str | None, agent_id: int | None, at: float) -> None: ...
    def item_progress(self, item_id: int) -> ItemProgress | None: ...
    def batch_progress(self, batch: str) -> list[tuple[int, str, str, str]]:
        """(public conversation, customer name, DM state, last error) per escalation of a batch, in order."""
        ...

    # the reach rule
    def reach_facts(self, conversation_id: int) -> ReachFacts | None: ...
    def live_escalation(self, conversation_id: int, public: bool, dead: Collection[str]) -> tuple[int, float] | None:
        """(DM conversation, when its DM was queued) of the first escalation from (*public*) or to this
        conversation whose DM item is not in a *dead* state."""
        ...
    def first_inbound_after(self, conversation_id: int, after: float) -> float | None: ...


class SqlEscalationStorage:
    """EscalationStorage over the store's connection, in SQL that SQLite and PostgreSQL both run."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def transaction(self) -> AbstractContextManager[object]:
        return self.store.transaction()

    def _one(self, sql: str, params: tuple[object, ...]) -> Any:
        return self.store.conn.execute(sql, params).fetchone()

    def customer(self, conversation_id: int) -> Customer | None:
        r = self._one("SELECT c.account_id, c.channel, c.contact_id, i.id, i.external_id, i.handle, i.display_name"
                      " FROM conversations c JOIN identities i ON i.id = c.identity_id WHERE c.id = ?",
                      (conversation_id,))
        return None if r is None else Customer(r[0], r[1], r[2], r[3], Person(r[4], r[5], r[6]))

    def dm_conversation(self, account_id: int, identity_id: int) -> int | None:
        r = self._one("SELECT id FROM conversations WHERE account_id = ? AND identity_id = ? AND kind = 'dm'"
                      " ORDER BY last_message_at DESC LIMIT 1", (account_id, identity_id))
        return None if r is None else int(r[0])

    def add_dm_conversation(self, customer: Customer, thread_key: str, at: float) -> int:
        r = self._one("INSERT INTO conversations(account_id, channel, kind, thread_key, contact_id, identity_id,"
                      " last_message_at, created_at) VALUES (?,?,?,?,?,?,?,?) RETURNING id",
                      (customer.account_id, customer.channel, "dm", thread_key, customer.contact_id,
                       customer.identity_id, at, at))
        return int(r[0])

    def thread_key(self, conversation_id: int) -> str | None:
        r = self._one("SELECT thread_key FROM conversations WHERE id = ?", (conversation_id,))
        return None if r is None else str(r[0])

    def last_inbound_id(self, conversation_id: int) -> str | None:
        r = self._one("SELECT external_id FROM messages WHERE conversation_id = ? AND direction = 'in'"
                      " ORDER BY sent_at DESC, id DESC LIMIT 1", (conversation_id,))
        return None if r is None else str(r[0])

    def link(self, public_conversation_id: int, dm_conversation_id: int) -> None:
        conn = self.store.conn
        conn.execute("UPDATE conversations SET linked_id = ?, escalated = 1 WHERE id = ?",
                     (dm_conversation_id, public_conversation_id))
        conn.execute("UPDATE conversations SET linked_id = ? WHERE id = ?", (public_conversation_id, dm_conversation_id))

    def add(self, public_conversation_id: int, dm_conversation_id: int, dm_item: int, public_item: int | None,
            status_item: int | None, batch: str | None, agent_id: int | None, at: float) -> None:
        self.store.conn.execute(
            "INSERT INTO escalations(public_conversation_id, dm_conversation_id, dm_item, public_item,"
            " status_item, batch, agent_id, created_at) VALUES (?,?,?,?,?,?,?,?)",
            (public_conversation_id, dm_conversation_id, dm_item, public_item, status_item, batch, agent_id, at))

    def item_progress(self, item_id: int) -> ItemProgress | None:
        r = self._one("SELECT a.name, a.channel, o.state, o.last_error FROM outbox o"
                      " JOIN accounts a ON a.id = o.account_id WHERE o.id = ?", (item_id,))
        return None if r is None else ItemProgress(r[0], r[1], OutboxState(r[2]), r[3])

    def batch_progress(self, batch: str) -> list[tuple[int, str, str, str]]:
        rows = self.store.conn.execute(
            "SELECT e.public_conversation_id, COALESCE(ct.display_name, ''), o.state, o.last_error"
            " FROM escalations e JOIN outbox o ON o.id = e.dm_item"
            " JOIN conversations c ON c.id = e.public_conversation_id LEFT JOIN contacts ct ON ct.id = c.contact_id"
            " WHERE e.batch = ? ORDER BY e.id", (batch,)).fetchall()
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    def reach_facts(self, conversation_id: int) -> ReachFacts | None:
        r = self._one("SELECT channel, kind FROM conversations WHERE id = ?", (conversation_id,))
        if r is None:
            return None
        customer_at = self._one("SELECT max(sent_at) FROM messages INDEXED BY messages_conversation"
                                " WHERE conversation_id = ? AND direction = 'in'",
                                (conversation_id,))[0]
        return ReachFacts(r[0], r[1], customer_at)

    def live_escalation(self, conversation_id: int, public: bool, dead: Collection[str]) -> tuple[int, float] | None:
        column = "public_conversation_id" if public else "dm_conversation_id"
        marks = ",".join("?" * len(dead))
        r = self._one(f"SELECT e.dm_conversation_id, o.created_at FROM escalations e JOIN outbox o ON o.id = e.dm_item"
                      f" WHERE e.{column} = ? AND o.state NOT IN ({marks}) ORDER BY o.created_at LIMIT 1",
                      (conversation_id, *(str(s) for s in dead)))
        return None if r is None else (r[0], r[1])

    def first_inbound_after(self, conversation_id: int, after: float) -> float | None:
        r = self._one("SELECT min(sent_at) FROM messages INDEXED BY messages_conversation"
                      " WHERE conversation_id = ? AND direction = 'in' AND sent_at > ?",
                      (conversation_id, after))
        return None if r is None else r[0]
