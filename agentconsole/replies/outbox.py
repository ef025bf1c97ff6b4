"""The outbox: every reply, DM and post is persisted before it is sent, and never sent twice."""

from __future__ import annotations

from typing import TYPE_CHECKING

import json
import os
import socket
import uuid
from collections.abc import Collection
from dataclasses import dataclass, field

from agentconsole.domain.models import Direction, InboundMessage, Kind, OutboundRequest, Person, SendResult, Status
from agentconsole.domain.sanitize import clean
from agentconsole.replies.reply_all import cc_for

if TYPE_CHECKING:
    from agentconsole.storage.store import Store

# Thread keys of conversations we start ourselves before the platform has named the thread.
LOCAL_THREAD_PREFIX = "local:"
# A claim older than this belongs to a process that is gone even if its pid was reused.
CLAIM_LEASE_SECONDS = 600.0
SENT_STATES = ("sent", "discarded")
DECIDABLE = ("unsure", "failed", "cancelled")  # the states decide() accepts: the agent's call


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    conversation_id: int | None
    account_id: int
    action: str
    text: str
    state: str  # waiting | pending | sending | sent | failed | unsure | cancelled | discarded
    attempts: int
    last_error: str
    created_at: float
    request: OutboundRequest
    phase: str = ""  # a SendPhase value: how far the current (or last) attempt got
    attempt_at: float | None = None  # when the current attempt began (a stuck send shows how long)
    first_attempt_at: float | None = None  # when the first attempt began (lookups search from here)
    accepted: SendResult | None = field(default=None, compare=False)  # accepted; after-work due


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _owner_alive(owner: str) -> bool:
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True  # another host's claim: only the lease can expire it
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Outbox:
    """Queue, claim and settle outbound items; the engine does the sending."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # ------------------------------------------------------------ enqueue

    def enqueue(self, account_id: int, request: OutboundRequest, *, conversation_id: int | None,
                agent_id: int | None, source: str | None = None, resolve: bool = False,
                after: int | None = None) -> int:
        """Persist one outbound item. With *after*, it waits until that item is sent, and is
        cancelled if that one fails (a public "we've sent you a DM" never goes out without the DM)."""
        now = self.store.clock.now()
        with self.store.transaction() as conn:
            state = "pending"
            if after is not None:
                before = conn.execute("SELECT state FROM outbox WHERE id = ?", (after,)).fetchone()[0]
                state = {"sent": "pending", "failed": "cancelled", "cancelled": "cancelled"}.get(before, "waiting")
            item = conn.execute(
                "INSERT INTO outbox(idempotency_key, account_id, conversation_id, action, request, text,"
                " agent_id, source, resolve_after, after_id, state, created_at, updated_at)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (request.idempotency_key, account_id, conversation_id, request.action,
                 json.dumps(_request_to_json(request)), request.text, agent_id, source, int(resolve),
                 after, state, now, now)).lastrowid
            conn.execute("INSERT INTO audit(agent_id, action, conversation_id, detail, at) VALUES (?,?,?,?,?)",
                         (agent_id, f"queued_{request.action}", conversation_id,
                          json.dumps({"outbox_id": item}), now))
        return item

    def enqueue_reply(self, conversation_id: int, text: str, *, agent_id: int | None,
                      source: str = "personal", resolve: bool = False, reply_all: bool = False,
                      shown_cc: tuple[str, ...] | None = None) -> int:
        """Queue a reply on the conversation's own channel and thread, to its last customer message;
        with *reply_all* (email), copied to everyone that message went to but us, and only to those of
        *shown_cc* when given (what the agent saw: a message arriving meanwhile adds nobody unseen)."""
        conn = self.store.conn
        conv = conn.execute(
            "SELECT c.account_id, c.thread_key, c.kind, c.subject, i.external_id, i.handle, i.display_name"
            " FROM conversations c LEFT JOIN identities i ON i.id = c.identity_id WHERE c.id = ?",
            (conversation_id,)).fetchone()
        if conv is None:
            raise KeyError(f"no conversation {conversation_id}")
        last_in = conn.execute(
            "SELECT external_id, raw, sent_at FROM messages WHERE conversation_id = ? AND direction = 'in'"
            " ORDER BY sent_at DESC, id DESC LIMIT 1", (conversation_id,)).fetchone()
        recipient = Person(conv[4], conv[5], conv[6]) if conv[4] else None
        local = conv[1].startswith(LOCAL_THREAD_PREFIX)
        extra: dict = {}
        if reply_all and Kind(conv[2]) == Kind.EMAIL and last_in is not None:
            cc = reply_cc(self.store, conv[0], last_in[1], recipient)
            extra["cc"] = cc if shown_cc is None else [a for a in cc if a in shown_cc]
        request = OutboundRequest(
            idempotency_key=uuid.uuid4().hex, action="dm" if local else "reply", text=clean(text).strip(),
            thread_key=None if local else conv[1], in_reply_to=last_in[0] if last_in else None,
            recipient=recipient, subject=conv[3], kind=Kind(conv[2]),
            # A messaging window (Meta) is judged when the reply leaves: who wrote it, and from when.
            extra={**extra, "source": source, "customer_at": last_in[2] if last_in else None})
        # A DM thread we opened and the platform has not named yet: keep our messages in order.
        before = conn.execute("SELECT max(id) FROM outbox WHERE conversation_id = ? AND state NOT IN"
                              " ('sent', 'discarded')", (conversation_id,)).fetchone()[0] if local else None
        return self.enqueue(conv[0], request, conversation_id=conversation_id, agent_id=agent_id,
                            source=source, resolve=resolve, after=before)

    # ------------------------------------------------------------ reads

    def reply_all_cc(self, conversation_id: int) -> list[str]:
        """Whom enqueue_reply(reply_all=True) would copy now (the composer shows them before sending)."""
        conv = self.store.conn.execute(
            "SELECT c.account_id, c.kind, i.external_id FROM conversations c LEFT JOIN identities i"
            " ON i.id = c.identity_id WHERE c.id = ?", (conversation_id,)).fetchone()
        if conv is None or conv[1] != Kind.EMAIL:
            return []
        last_in = self.store.conn.execute(
            "SELECT raw FROM messages WHERE conversation_id = ? AND direction = 'in'"
            " ORDER BY sent_at DESC, id DESC LIMIT 1", (conversation_id,)).fetchone()
        recipient = Person(conv[2]) if conv[2] else None
        return reply_cc(self.store, conv[0], last_in[0] if last_in else None, recipient)

    def pending(self, conversation_id: int) -> list[OutboxRow]:
        """Items of a conversation that are not settled yet, oldest first."""
        rows = self.store.conn.execute(
            "SELECT * FROM outbox WHERE conversation_id = ? AND state NOT IN ('sent', 'discarded')"
            " ORDER BY id", (conversation_id,)).fetchall()
        return [_row(r) for r in rows]

    def item(self, item_id: int) -> OutboxRow:
        return _row(self.store.conn.execute("SELECT * FROM outbox WHERE id = ?", (item_id,)).fetchone())

    def interrupted(self) -> list[OutboxRow]:
        """Items claimed by a process that died (or whose lease ran out) before settling them."""
        rows = self.store.conn.execute("SELECT * FROM outbox WHERE state = 'sending'").fetchall()
        return [_row(r) for r in rows if self._abandoned(r)]

    def unfinished(self) -> list[OutboxRow]:
        """Accepted sends whose after-work (filing the copy in Sent) a dead process left undone."""
        rows = self.store.conn.execute("SELECT * FROM outbox WHERE state = 'sent' AND phase = 'accepted'"
                                       " AND accepted IS NOT NULL").fetchall()
        return [_row(r) for r in rows if self._abandoned(r)]

    def _abandoned(self, r) -> bool:
        return not _owner_alive(r["owner"]) or self.store.clock.now() - r["updated_at"] > CLAIM_LEASE_SECONDS

    def needing_decision(self) -> list[OutboxRow]:
        """Items only the agent can settle (may have been sent, refused, cancelled), oldest first."""
        rows = self.store.conn.execute(
            "SELECT * FROM outbox WHERE state IN ('unsure', 'failed', 'cancelled') ORDER BY id").fetchall()
        return [_row(r) for r in rows]

    def unsettled(self) -> list[OutboxRow]:
        """Every item not sent or discarded yet, oldest first."""
        rows = self.store.conn.execute(
            "SELECT * FROM outbox WHERE state NOT IN ('sent', 'discarded') ORDER BY id").fetchall()
        return [_row(r) for r in rows]

    def due_ids(self, account_id: int) -> list[int]:
        """The account's items due for sending now, oldest first."""
        return [r[0] for r in self.store.conn.execute(
            "SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_at <= ? AND account_id = ?"
            " ORDER BY id", (self.store.clock.now(), account_id))]

    def due_accounts(self) -> list[int]:
        """Accounts with an item due for sending now."""
        return [r[0] for r in self.store.conn.execute(
            "SELECT DISTINCT account_id FROM outbox WHERE state = 'pending' AND next_attempt_at <= ?",
            (self.store.clock.now(),))]

    # ------------------------------------------------------------ claim and settle

    def claim_due(self, limit: int = 20, *, account_id: int | None = None, only: int | None = None,
                  accounts: Collection[int] | None = None) -> list[OutboxRow]:
        """Take due items (of one account, with *account_id*; of *accounts* only, when given: those
        whose lease this process holds) for sending; the claim is committed before any send starts.
        The phase of an attempt that ended unknown is kept, so the engine judges it again first."""
        now = self.store.clock.now()
        if accounts is not None and not accounts:
            return []
        where = "" if account_id is None else f" AND account_id = {int(account_id)}"
        where += "" if only is None else f" AND id = {int(only)}"
        if accounts is not None:
            where += f" AND account_id IN ({','.join(str(int(a)) for a in accounts)})"
        with self.store.transaction() as conn:
            rows = conn.execute(f"SELECT * FROM outbox WHERE state = 'pending' AND next_attempt_at <= ?{where}"
                                " ORDER BY id LIMIT ?", (now, limit)).fetchall()
            conn.executemany(
                "UPDATE outbox SET state = 'sending', attempts = attempts + 1, owner = ?, updated_at = ?,"
                " attempt_at = ?, first_attempt_at = coalesce(first_attempt_at, ?),"
                " phase = CASE phase WHEN 'unknown' THEN 'unknown' ELSE '' END"
                " WHERE id = ? AND state = 'pending'", [(_owner(), now, now, now, r["id"]) for r in rows])
            claimed = [conn.execute("SELECT * FROM outbox WHERE id = ?", (r["id"],)).fetchone() for r in rows]
        return [_row(r) for r in claimed]

    def set_phase(self, item_id: int, phase: str) -> None:
        """Commit how far the attempt got, before it goes further (what a restart relies on)."""
        with self.store.transaction() as conn:
            conn.execute("UPDATE outbox SET phase = ?, updated_at = ? WHERE id = ? AND state = 'sending'",
                         (phase, self.store.clock.now(), item_id))

    def finished(self, item_id: int) -> None:
        """The after-work of an accepted send is done (or given up): nothing is left to do."""
        with self.store.transaction() as conn:
            conn.execute("UPDATE outbox SET phase = '', accepted = NULL, updated_at = ? WHERE id = ?"
                         " AND state = 'sent'", (self.store.clock.now(), item_id))

    def mark_sent(self, item_id: int, result: SendResult, *, after_work: bool = False) -> int | None:
        """Record the platform's acceptance and store our message in the thread, atomically; with
        *after_work*, remember *result* until finished() says the connector's after-work is done."""
        now = self.store.clock.now()
        with self.store.transaction() as conn:
            r = conn.execute("SELECT * FROM outbox WHERE id = ?", (item_id,)).fetchone()
            if r["state"] == "sent":
                return r["message_id"]
            conn.execute("UPDATE outbox SET phase = ?, accepted = ? WHERE id = ?",
                         ("accepted" if after_work else "",
                          json.dumps(_result_to_json(result)) if after_work else None, item_id))
            item = _row(r)
            message_id = None
            if item.conversation_id is not None or item.action != "post":
                message_id = self._store_message(item, r, result)
            conn.execute("UPDATE outbox SET state = 'sent', external_id = ?, message_id = ?, last_error = '',"
                         " updated_at = ? WHERE id = ?", (result.external_id, message_id, now, item_id))
            conn.execute("UPDATE outbox SET state = 'pending', updated_at = ? WHERE after_id = ?"
                         " AND state = 'waiting'", (now, item_id))
            conn.execute("INSERT INTO audit(agent_id, action, conversation_id, detail, at) VALUES (?,?,?,?,?)",
                         (r["agent_id"], f"sent_{item.action}", item.conversation_id,
                          json.dumps({"outbox_id": item_id, "external_id": result.external_id}), now))
            if item.action == "dm":
                _answer_escalated_posts(conn, item_id, result.sent_at)
            if r["resolve_after"] and item.conversation_id is not None:
                self.store.set_status(item.conversation_id, Status.DONE, r["agent_id"])
        return message_id

    def _store_message(self, item: OutboxRow, r, result: SendResult) -> int | None:
        """Store what we sent as a message of its conversation, and learn the platform's thread key."""
        req = item.request
        thread_key = result.thread_key or req.thread_key or result.external_id
        if item.conversation_id is not None:
            current = self.store.conn.execute("SELECT thread_key FROM conversations WHERE id = ?",
                                              (item.conversation_id,)).fetchone()[0]
            taken = self.store.conn.execute(
                "SELECT 1 FROM conversations WHERE account_id = ? AND thread_key = ? AND id != ?",
                (item.account_id, thread_key, item.conversation_id)).fetchone()
            if current.startswith(LOCAL_THREAD_PREFIX) and not taken:
                # A conversation we opened ourselves (a new DM) now has the platform's own thread.
                self.store.conn.execute("UPDATE conversations SET thread_key = ? WHERE id = ?",
                                        (thread_key, item.conversation_id))
            else:
                thread_key = current
        agent = self.store.conn.execute("SELECT name FROM agents WHERE id = ?", (r["agent_id"],)).fetchone()
        account = self.store.conn.execute("SELECT handle, display_name FROM accounts WHERE id = ?",
                                          (item.account_id,)).fetchone()
        author = Person(external_id=f"account:{item.account_id}", handle=account[0],
                        display_name=agent[0] if agent else (account[1] or account[0]))
        message = InboundMessage(
            external_id=result.external_id, thread_key=thread_key, kind=req.kind, author=author,
            text=req.text, sent_at=result.sent_at, direction=Direction.OUT, subject=req.subject,
            in_reply_to=req.in_reply_to, raw=result.raw,
            extra={"agent_id": r["agent_id"], "source": r["source"], "recipient": req.recipient})
        self.store.ingest(item.account_id, [message], set_cursor=False)
        row = self.store.conn.execute("SELECT id, conversation_id FROM messages WHERE account_id = ?"
                                      " AND external_id = ?", (item.account_id, result.external_id)).fetchone()
        if row and item.conversation_id is None:
            self.store.conn.execute("UPDATE outbox SET conversation_id = ? WHERE id = ?", (row[1], item.id))
        return row[0] if row else None

    def mark_retry(self, item_id: int, error: str, retry_at: float, *, unknown: bool = False) -> None:
        """Send again at *retry_at*; *unknown* when an earlier attempt may have arrived, so the engine
        judges the item again (lookup, idempotency window) right before that retry."""
        with self.store.transaction() as conn:
            self._settle(item_id, "pending", error, retry_at)
            conn.execute("UPDATE outbox SET phase = ? WHERE id = ? AND state = 'pending'",
                         ("unknown" if unknown else "", item_id))

    def mark_failed(self, item_id: int, error: str) -> None:
        with self.store.transaction() as conn:
            self._settle(item_id, "failed", error)
            conn.execute("UPDATE outbox SET state = 'cancelled', last_error = ?, updated_at = ?"
                         " WHERE after_id = ? AND state = 'waiting'",
                         (f"not sent because the item before it failed: {clean(error)[:300]}",
                          self.store.clock.now(), item_id))

    def mark_unsure(self, item_id: int, error: str) -> None:
        self._settle(item_id, "unsure", error)

    def _settle(self, item_id: int, state: str, error: str, retry_at: float = 0.0) -> None:
        with self.store.transaction() as conn:
            conn.execute("UPDATE outbox SET state = ?, last_error = ?, next_attempt_at = ?, updated_at = ?"
                         " WHERE id = ? AND state != 'sent'",
                         (state, clean(error)[:500], retry_at, self.store.clock.now(), item_id))

    def decide(self, item_id: int, decision: str, agent_id: int | None) -> None:
        """The agent's call on an unsure, failed or cancelled item: resend, mark as sent, or discard."""
        states = {"resend": "pending", "discard": "discarded", "mark_sent": "sent"}
        if decision not in states:
            raise ValueError(f"unknown decision {decision!r}")
        now = self.store.clock.now()
        with self.store.transaction() as conn:
            # The agent's call settles the doubt: a resend is a plain send, not re-judged into 'unsure'.
            conn.execute("UPDATE outbox SET state = ?, phase = '', next_attempt_at = 0, updated_at = ?"
                         " WHERE id = ? AND state IN ('unsure', 'failed', 'cancelled')",
                         (states[decision], now, item_id))
            if decision == "resend":  # whatever waited on it waits again instead of staying cancelled
                conn.execute("UPDATE outbox SET state = 'waiting', last_error = '', updated_at = ?"
                             " WHERE after_id = ? AND state = 'cancelled'", (now, item_id))
            elif decision == "mark_sent":
                conn.execute("UPDATE outbox SET state = 'pending', last_error = '', updated_at = ?"
                             " WHERE after_id = ? AND state IN ('waiting', 'cancelled')", (now, item_id))
            conn.execute("INSERT INTO audit(agent_id, action, conversation_id, detail, at)"
                         " SELECT ?, ?, conversation_id, ?, ? FROM outbox WHERE id = ?",
                         (agent_id, f"outbox_{decision}", json.dumps({"outbox_id": item_id}), now, item_id))


def reply_cc(store: Store, account_id: int, raw: bytes | str | None, recipient: Person | None) -> list[str]:
    """Who a reply-all copies: the answered message's To and Cc, without the account or the customer."""
    own = store.conn.execute("SELECT handle FROM accounts WHERE id = ?", (account_id,)).fetchone()
    return cc_for(raw, sender=recipient.external_id if recipient else "", own=[own[0]] if own else [])


def _answer_escalated_posts(conn, dm_item: int, at: float) -> None:
    """A DM escalation without a public reply of its own (crisis mode) answers the public post it
    came from: once the DM is accepted, the post's wait ends as if we had replied there."""
    conn.execute(
        "UPDATE conversations SET needs_reply = 0, waiting_since = NULL,"
        " last_out_at = max(COALESCE(last_out_at, 0), ?), first_response_at = COALESCE(first_response_at, ?)"
        " WHERE id IN (SELECT public_conversation_id FROM escalations WHERE dm_item = ? AND public_item IS NULL)"
        " AND COALESCE(last_in_at, 0) <= ?", (at, at, dm_item, at))


def _person_json(p: Person | None) -> dict | None:
    if p is None:
        return None
    return {"external_id": p.external_id, "handle": p.handle, "display_name": p.display_name}


def _request_to_json(req: OutboundRequest) -> dict:
    return {"idempotency_key": req.idempotency_key, "action": req.action, "text": req.text,
            "thread_key": req.thread_key, "in_reply_to": req.in_reply_to,
            "recipient": _person_json(req.recipient), "subject": req.subject, "kind": str(req.kind),
            "extra": req.extra}


def _request_from_json(data: dict) -> OutboundRequest:
    recipient = data.get("recipient")
    return OutboundRequest(
        idempotency_key=data["idempotency_key"], action=data["action"], text=data["text"],
        thread_key=data.get("thread_key"), in_reply_to=data.get("in_reply_to"),
        recipient=Person(**recipient) if recipient else None, subject=data.get("subject", ""),
        kind=Kind(data.get("kind", "public")), extra=data.get("extra") or {})


def _result_to_json(result: SendResult) -> dict:
    return {"external_id": result.external_id, "sent_at": result.sent_at, "thread_key": result.thread_key,
            "raw": result.raw}


def _row(r) -> OutboxRow:
    accepted = SendResult(**json.loads(r["accepted"])) if r["accepted"] else None
    return OutboxRow(r["id"], r["conversation_id"], r["account_id"], r["action"], r["text"], r["state"],
                     r["attempts"], r["last_error"], r["created_at"], _request_from_json(json.loads(r["request"])),
                     r["phase"], r["attempt_at"], r["first_attempt_at"], accepted)


STATE_WORDS = {
    "pending": "queued", "sending": "sending", "waiting": "waiting for an earlier send",
    "failed": "refused", "unsure": "may have been sent: needs your decision",
    "cancelled": "cancelled (an earlier send failed)", "sent": "sent", "discarded": "discarded",
}


def sending_for(item: OutboxRow, now: float) -> float | None:
    """How long the current attempt has been going (a stuck send shows this), or None."""
    if item.state != "sending" or item.attempt_at is None:
        return None
    return max(0.0, now - item.attempt_at)


def duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"


def describe_state(item: OutboxRow, now: float) -> str:
    """The item's state in words, with how long a send has been going when it is under way."""
    words = STATE_WORDS.get(item.state, item.state)
    stuck = sending_for(item, now)
    return f"{words} for {duration(stuck)}" if stuck is not None else words
