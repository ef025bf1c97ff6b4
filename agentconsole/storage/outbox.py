"""Where the outbox is kept: the interface the outbox's state machine uses, and its SQL implementation."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from agentconsole.domain.models import Kind, OutboundRequest, Person, SendAction, SendResult
from agentconsole.domain.records import OutboxRow, OutboxState
from agentconsole.storage.store import Store

__all__ = ["LastInbound", "OutboxStorage", "ReplyTarget", "SqlOutboxStorage"]

_SETTLED_SQL = "('sent', 'discarded')"


@dataclass(frozen=True, slots=True)
class ReplyTarget:
    """What a reply needs of its conversation: the thread, and the customer's identity (if any)."""

    account_id: int
    thread_key: str
    kind: Kind
    subject: str
    recipient: Person | None


@dataclass(frozen=True, slots=True)
class LastInbound:
    """The conversation's newest customer message."""

    id: int
    text: str
    external_id: str
    raw: bytes | str | None
    sent_at: float


class OutboxStorage(Protocol):
    """The outbox of one workspace. Writes inside transaction() apply together, and a state read inside it
    holds until it ends (another process waits)."""

    def transaction(self) -> AbstractContextManager[object]: ...

    # what a reply is made of
    def reply_target(self, conversation_id: int) -> ReplyTarget | None: ...
    def last_inbound(self, conversation_id: int) -> LastInbound | None: ...
    def last_unsettled(self, conversation_id: int) -> int | None:
        """The newest item of the conversation not sent or discarded yet."""
        ...
    def account_handle(self, account_id: int) -> str | None: ...

    # items
    def insert(self, account_id: int, request: OutboundRequest, *, conversation_id: int | None,
               agent_id: int | None, source: str | None, resolve: bool, after: int | None, state: OutboxState,
               at: float) -> int:
        """A new item; *after* is the item it waits on, *resolve* marks the conversation done once sent."""
        ...
    def state(self, item_id: int) -> OutboxState | None: ...
    def item(self, item_id: int) -> OutboxRow | None: ...
    def unsettled(self, conversation_id: int | None = None) -> list[OutboxRow]:
        """Items not sent or discarded (of one conversation, when given), oldest first."""
        ...
    def in_state(self, states: Collection[OutboxState]) -> list[OutboxRow]:
        """Items in one of *states*, oldest first."""
        ...
    def accepted_unfinished(self) -> list[OutboxRow]:
        """Sent items whose after-work is still recorded as due."""
        ...
    def due_ids(self, account_id: int, now: float) -> list[int]: ...
    def due_accounts(self, now: float) -> list[int]: ...

    # transitions; each changes an item only from the states it names, so a stale caller changes nothing
    def claim(self, owner: str, now: float, limit: int, *, account_id: int | None, only: int | None,
              accounts: Collection[int] | None) -> list[OutboxRow]:
        """Pending items due at *now* become 'sending' under *owner*; the claimed items, oldest first."""
        ...
    def set_phase(self, item_id: int, phase: str, at: float) -> None:
        """While the item is sending."""
        ...
    def finish(self, item_id: int, at: float) -> None:
        """Clear a sent item's recorded after-work."""
        ...
    def record_accepted(self, item_id: int, phase: str, accepted: SendResult | None) -> None: ...
    def settle_sent(self, item_id: int, external_id: str, message_id: int | None, at: float) -> None: ...
    def settle(self, item_id: int, state: OutboxState, error: str, retry_at: float, at: float) -> None:
        """Any state but 'sent' moves to *state* with *error*, due again at *retry_at*."""
        ...
    def set_retry_phase(self, item_id: int, phase: str) -> None:
        """While the item is pending."""
        ...
    def decide(self, item_id: int, state: OutboxState, at: float) -> None:
        """A decidable item moves to *state*, its doubt settled (phase cleared, due now)."""
        ...
    def move_followers(self, after_id: int, from_states: Collection[OutboxState], to: OutboxState,
                       at: float, error: str | None = None) -> None:
        """The items waiting on *after_id* in one of *from_states* move to *to* (with *error*, when given)."""
        ...
    def set_conversation(self, item_id: int, conversation_id: int) -> None: ...

    # what sending changes beyond the outbox
    def audit(self, agent_id: int | None, action: str, conversation_id: int | None,
              detail: dict[str, Any], at: float) -> None: ...
    def thread_key(self, conversation_id: int) -> str: ...
    def thread_taken(self, account_id: int, thread_key: str, conversation_id: int) -> bool:
        """Another conversation of the account has this thread key."""
        ...
    def set_thread_key(self, conversation_id: int, thread_key: str) -> None: ...
    def author(self, agent_id: int | None, account_id: int) -> Person:
        """Who a message we sent is from: the account, named after the agent when there is one."""
        ...
    def sent_message(self, account_id: int, external_id: str) -> tuple[int, int] | None:
        """(message id, conversation id) of a stored message."""
        ...
    def answer_escalated_posts(self, dm_item: int, at: float) -> list[int]:
        """The public posts escalated to this DM item without a public reply of their own stop waiting;
        returns those posts' conversation ids."""
        ...


class SqlOutboxStorage:
    """OutboxStorage over the store's connection, in SQL that SQLite and PostgreSQL both run."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def transaction(self) -> AbstractContextManager[object]:
        return self.store.transaction()

    def _one(self, sql: str, params: Iterable[object]) -> Any:
        return self.store.conn.execute(sql, tuple(params)).fetchone()

    def _rows(self, sql: str, params: Iterable[object] = ()) -> list[OutboxRow]:
        return [_row(r) for r in self.store.conn.execute(sql, tuple(params)).fetchall()]

    def reply_target(self, conversation_id: int) -> ReplyTarget | None:
        r = self._one("SELECT c.account_id, c.thread_key, c.kind, c.subject, i.external_id, i.handle,"
                      " i.display_name FROM conversations c LEFT JOIN identities i ON i.id = c.identity_id"
                      " WHERE c.id = ?", (conversation_id,))
        if r is None:
            return None
        recipient = Person(r[4], r[5], r[6]) if r[4] else None
        return ReplyTarget(r[0], r[1], Kind(r[2]), r[3], recipient)

    def last_inbound(self, conversation_id: int) -> LastInbound | None:
        r = self._one("SELECT id, text, external_id, raw, sent_at FROM messages WHERE conversation_id = ?"
                      " AND direction = 'in' ORDER BY sent_at DESC, id DESC LIMIT 1", (conversation_id,))
        return LastInbound(r[0], r[1], r[2], r[3], r[4]) if r else None

    def last_unsettled(self, conversation_id: int) -> int | None:
        r = self._one(f"SELECT max(id) FROM outbox WHERE conversation_id = ? AND state NOT IN {_SETTLED_SQL}",
                      (conversation_id,))
        return None if r is None else r[0]

    def account_handle(self, account_id: int) -> str | None:
        r = self._one("SELECT handle FROM accounts WHERE id = ?", (account_id,))
        return None if r is None else str(r[0])

    def insert(self, account_id: int, request: OutboundRequest, *, conversation_id: int | None,
               agent_id: int | None, source: str | None, resolve: bool, after: int | None, state: OutboxState,
               at: float) -> int:
        req = request
        r = self._one(
            "INSERT INTO outbox(idempotency_key, account_id, conversation_id, action, request, text,"
            " agent_id, source, resolve_after, after_id, state, created_at, updated_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id",
            (req.idempotency_key, account_id, conversation_id, req.action,
             json.dumps(request_to_json(req)), req.text, agent_id, source, int(resolve), after, str(state), at, at))
        return int(r[0])

    def state(self, item_id: int) -> OutboxState | None:
        r = self._one("SELECT state FROM outbox WHERE id = ?", (item_id,))
        return None if r is None else OutboxState(r[0])

    def item(self, item_id: int) -> OutboxRow | None:
        r = self._one("SELECT * FROM outbox WHERE id = ?", (item_id,))
        return None if r is None else _row(r)

    def unsettled(self, conversation_id: int | None = None) -> list[OutboxRow]:
        if conversation_id is None:
            return self._rows(f"SELECT * FROM outbox WHERE state NOT IN {_SETTLED_SQL} ORDER BY id")
        return self._rows(f"SELECT * FROM outbox WHERE conversation_id = ? AND state NOT IN {_SETTLED_SQL}"
                          " ORDER BY id", (conversation_id,))

    def in_state(self, states: Collection[OutboxState]) -> list[OutboxRow]:
        marks = ",".join("?" * len(states))
        return self._rows(f"SELECT * FROM outbox WHERE state IN ({marks}) ORDER BY id", [str(s) for s in states])

    def accepted_unfinished(self) -> list[OutboxRow]:
        return self._rows("SELECT * FROM outbox WHERE state = 'sent' AND phase = 'accepted'"
                          " AND accepted IS NOT NULL ORDER BY id")

    def due_ids(self, account_id: int, now: float) -> list[int]:
        return [r[0] for r in self.store.conn.execute(
            "SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_at <= ? AND account_id = ?"
            " ORDER BY id", (now, account_id)).fetchall()]

    def due_accounts(self, now: float) -> list[int]:
        return [r[0] for r in self.store.conn.execute(
            "SELECT DISTINCT account_id FROM outbox WHERE state = 'pending' AND next_attempt_at <= ?"
            " ORDER BY account_id", (now,)).fetchall()]

    def claim(self, owner: str, now: float, limit: int, *, account_id: int | None, only: int | None,
              accounts: Collection[int] | None) -> list[OutboxRow]:
        where, params = "", [now]
        if account_id is not None:
            where, params = where + " AND account_id = ?", [*params, account_id]
        if only is not None:
            where, params = where + " AND id = ?", [*params, only]
        if accounts is not None:
            if not accounts:
                return []
            where += f" AND account_id IN ({','.join('?' * len(accounts))})"
            params.extend(accounts)
        with self.store.transaction() as conn:
            due = [r[0] for r in conn.execute(
                f"SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_at <= ?{where}"
                " ORDER BY id LIMIT ?", (*params, limit)).fetchall()]
            # The state test makes each claim a compare-and-set: an item another process took meanwhile
            # is not returned.
            claimed = [conn.execute(
                "UPDATE outbox SET state = 'sending', attempts = attempts + 1, owner = ?, updated_at = ?,"
                " attempt_at = ?, first_attempt_at = coalesce(first_attempt_at, ?),"
                " phase = CASE phase WHEN 'unknown' THEN 'unknown' ELSE '' END"
                " WHERE id = ? AND state = 'pending' RETURNING *", (owner, now, now, now, item_id)).fetchone()
                for item_id in due]
        return [_row(r) for r in claimed if r is not None]

    def set_phase(self, item_id: int, phase: str, at: float) -> None:
        self.store.conn.execute("UPDATE outbox SET phase = ?, updated_at = ? WHERE id = ? AND state = 'sending'",
                                (phase, at, item_id))

    def finish(self, item_id: int, at: float) -> None:
        self.store.conn.execute("UPDATE outbox SET phase = '', accepted = NULL, updated_at = ? WHERE id = ?"
                                " AND state = 'sent'", (at, item_id))

    def record_accepted(self, item_id: int, phase: str, accepted: SendResult | None) -> None:
        self.store.conn.execute("UPDATE outbox SET phase = ?, accepted = ? WHERE id = ?",
                                (phase, None if accepted is None else json.dumps(_result_to_json(accepted)),
                                 item_id))

    def settle_sent(self, item_id: int, external_id: str, message_id: int | None, at: float) -> None:
        self.store.conn.execute("UPDATE outbox SET state = 'sent', external_id = ?, message_id = ?,"
                                " last_error = '', updated_at = ? WHERE id = ?",
                                (external_id, message_id, at, item_id))

    def settle(self, item_id: int, state: OutboxState, error: str, retry_at: float, at: float) -> None:
        self.store.conn.execute("UPDATE outbox SET state = ?, last_error = ?, next_attempt_at = ?, updated_at = ?"
                                " WHERE id = ? AND state != 'sent'", (str(state), error, retry_at, at, item_id))

    def set_retry_phase(self, item_id: int, phase: str) -> None:
        self.store.conn.execute("UPDATE outbox SET phase = ? WHERE id = ? AND state = 'pending'", (phase, item_id))

    def decide(self, item_id: int, state: OutboxState, at: float) -> None:
        self.store.conn.execute("UPDATE outbox SET state = ?, phase = '', next_attempt_at = 0, updated_at = ?"
                                " WHERE id = ? AND state IN ('unsure', 'failed', 'cancelled')",
                                (str(state), at, item_id))

    def move_followers(self, after_id: int, from_states: Collection[OutboxState], to: OutboxState,
                       at: float, error: str | None = None) -> None:
        marks = ",".join("?" * len(from_states))
        self.store.conn.execute(f"UPDATE outbox SET state = ?, last_error = coalesce(?, last_error),"
                                f" updated_at = ? WHERE after_id = ? AND state IN ({marks})",
                                (str(to), error, at, after_id, *(str(s) for s in from_states)))

    def set_conversation(self, item_id: int, conversation_id: int) -> None:
        self.store.conn.execute("UPDATE outbox SET conversation_id = ? WHERE id = ?", (conversation_id, item_id))

    def audit(self, agent_id: int | None, action: str, conversation_id: int | None,
              detail: dict[str, Any], at: float) -> None:
        self.store.conn.execute("INSERT INTO audit(agent_id, action, conversation_id, detail, at) VALUES (?,?,?,?,?)",
                                (agent_id, action, conversation_id, json.dumps(detail), at))

    def thread_key(self, conversation_id: int) -> str:
        return str(self._one("SELECT thread_key FROM conversations WHERE id = ?", (conversation_id,))[0])

    def thread_taken(self, account_id: int, thread_key: str, conversation_id: int) -> bool:
        return self._one("SELECT 1 FROM conversations WHERE account_id = ? AND thread_key = ? AND id != ?",
                         (account_id, thread_key, conversation_id)) is not None

    def set_thread_key(self, conversation_id: int, thread_key: str) -> None:
        self.store.conn.execute("UPDATE conversations SET thread_key = ? WHERE id = ?", (thread_key, conversation_id))

    def author(self, agent_id: int | None, account_id: int) -> Person:
        agent = self._one("SELECT name FROM agents WHERE id = ?", (agent_id,)) if agent_id is not None else None
        account = self._one("SELECT handle, display_name FROM accounts WHERE id = ?", (account_id,))
        return Person(external_id=f"account:{account_id}", handle=account[0],
                      display_name=agent[0] if agent else (account[1] or account[0]))

    def sent_message(self, account_id: int, external_id: str) -> tuple[int, int] | None:
        r = self._one("SELECT id, conversation_id FROM messages WHERE account_id = ? AND external_id = ?",
                      (account_id, external_id))
        return None if r is None else (int(r[0]), int(r[1]))

    def answer_escalated_posts(self, dm_item: int, at: float) -> list[int]:
        posts = [r[0] for r in self.store.conn.execute(
            "SELECT public_conversation_id FROM escalations WHERE dm_item = ? AND public_item IS NULL ORDER BY id",
            (dm_item,)).fetchall()]
        # CASE rather than a scalar max(): the same SQL runs on PostgreSQL.
        self.store.conn.execute(
            "UPDATE conversations SET needs_reply = 0, waiting_since = NULL,"
            " last_out_at = CASE WHEN COALESCE(last_out_at, 0) > ? THEN last_out_at ELSE ? END,"
            " first_response_at = COALESCE(first_response_at, ?)"
            " WHERE id IN (SELECT public_conversation_id FROM escalations WHERE dm_item = ? AND public_item IS NULL)"
            " AND COALESCE(last_in_at, 0) <= ?", (at, at, at, dm_item, at))
        return posts


def _person_json(p: Person | None) -> dict[str, str] | None:
    if p is None:
        return None
    return {"external_id": p.external_id, "handle": p.handle, "display_name": p.display_name}


def request_to_json(req: OutboundRequest) -> dict[str, Any]:
    return {"idempotency_key": req.idempotency_key, "action": req.action, "text": req.text,
            "thread_key": req.thread_key, "in_reply_to": req.in_reply_to,
            "recipient": _person_json(req.recipient), "subject": req.subject, "kind": str(req.kind),
            "extra": req.extra}


def request_from_json(data: dict[str, Any]) -> OutboundRequest:
    recipient = data.get("recipient")
    return OutboundRequest(
        idempotency_key=data["idempotency_key"], action=SendAction(data["action"]), text=data["text"],
        thread_key=data.get("thread_key"), in_reply_to=data.get("in_reply_to"),
        recipient=Person(**recipient) if recipient else None, subject=data.get("subject", ""),
        kind=Kind(data.get("kind", "public")), extra=data.get("extra") or {})


def _result_to_json(result: SendResult) -> dict[str, Any]:
    return {"external_id": result.external_id, "sent_at": result.sent_at, "thread_key": result.thread_key,
            "raw": result.raw}


def _row(r: Any) -> OutboxRow:
    accepted = SendResult(**json.loads(r["accepted"])) if r["accepted"] else None
    return OutboxRow(r["id"], r["conversation_id"], r["account_id"], SendAction(r["action"]), r["text"], OutboxState(r["state"]),
                     r["attempts"], r["last_error"], r["created_at"], request_from_json(json.loads(r["request"])),
                     r["phase"], r["attempt_at"], r["first_attempt_at"], accepted,
                     agent_id=r["agent_id"], source=r["source"], resolve_after=bool(r["resolve_after"]),
                     message_id=r["message_id"], owner=r["owner"], updated_at=r["updated_at"])
