"""The outbox: every reply, DM and post is persisted before it is sent, and never sent twice."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Collection
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from agentconsole.domain.models import (Direction, InboundMessage, Kind, OutboundRequest, Person, ReplySource,
                                        SendAction, SendResult, Status)
from agentconsole.domain.records import DECIDABLE, SETTLED, OutboxRow, OutboxState
from agentconsole.domain.sanitize import clean

if TYPE_CHECKING:
    from agentconsole.storage.outbox import OutboxStorage
    from agentconsole.storage.store import Store

__all__ = ["CLAIM_LEASE_SECONDS", "DECIDABLE", "LOCAL_THREAD_PREFIX", "SENT_STATES", "Outbox", "OutboxRow",
           "OutboxState", "SendDecision", "describe_state", "duration", "reply_cc", "sending_for"]

# Thread keys of conversations we start ourselves before the platform has named the thread.
LOCAL_THREAD_PREFIX = "local:"
# A claim older than this belongs to a process that is gone even if its pid was reused.
CLAIM_LEASE_SECONDS = 600.0
SENT_STATES = SETTLED
# What the item an enqueued one waits on (its *after*) makes of it.
_AFTER = {OutboxState.SENT: OutboxState.PENDING, OutboxState.FAILED: OutboxState.CANCELLED,
          OutboxState.CANCELLED: OutboxState.CANCELLED}


class SendDecision(StrEnum):
    """The agent's call on an item only they can settle (the CLI and the pane take these words)."""

    RESEND = "resend"
    MARK_SENT = "mark_sent"
    DISCARD = "discard"


# The state each decision leads to.
_DECISIONS = {SendDecision.RESEND: OutboxState.PENDING, SendDecision.DISCARD: OutboxState.DISCARDED,
              SendDecision.MARK_SENT: OutboxState.SENT}


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
    """Queue, claim and settle outbound items; the engine does the sending. The state machine is here;
    what it reads and writes goes through an OutboxStorage."""

    def __init__(self, store: Store, storage: OutboxStorage | None = None) -> None:
        self.store = store
        self.storage = storage if storage is not None else store.outbox_storage()

    # ------------------------------------------------------------ enqueue

    def enqueue(self, account_id: int, request: OutboundRequest, *, conversation_id: int | None,
                agent_id: int | None, source: str | None = None, resolve: bool = False,
                after: int | None = None) -> int:
        """Persist one outbound item. With *after*, it waits until that item is sent, and is
        cancelled if that one fails (a public "we've sent you a DM" never goes out without the DM)."""
        now = self.store.clock.now()
        with self.storage.transaction():
            state = OutboxState.PENDING
            if after is not None:
                before = self.storage.state(after)
                if before is None:
                    raise KeyError(f"no outbox item {after}")
                state = _AFTER.get(before, OutboxState.WAITING)
            item = self.storage.insert(account_id, request, conversation_id=conversation_id, agent_id=agent_id,
                                       source=source, resolve=resolve, after=after, state=state, at=now)
            self.storage.audit(agent_id, f"queued_{request.action}", conversation_id, {"outbox_id": item}, now)
        return item

    def enqueue_reply(self, conversation_id: int, text: str, *, agent_id: int | None,
                      source: str = ReplySource.PERSONAL, resolve: bool = False, reply_all: bool = False,
                      shown_cc: tuple[str, ...] | None = None) -> int:
        """Queue a reply on the conversation's own channel and thread, to its last customer message;
        with *reply_all* (email), copied to everyone that message went to but us, and only to those of
        *shown_cc* when given (what the agent saw: a message arriving meanwhile adds nobody unseen)."""
        conv = self.storage.reply_target(conversation_id)
        if conv is None:
            raise KeyError(f"no conversation {conversation_id}")
        last_in = self.storage.last_inbound(conversation_id)
        local = conv.thread_key.startswith(LOCAL_THREAD_PREFIX)
        extra: dict[str, Any] = {}
        if reply_all and conv.kind == Kind.EMAIL and last_in is not None:
            cc = reply_cc(self.store, conv.account_id, last_in.raw, conv.recipient)
            extra["cc"] = cc if shown_cc is None else [a for a in cc if a in shown_cc]
        request = OutboundRequest(
            idempotency_key=uuid.uuid4().hex, action=SendAction.DM if local else SendAction.REPLY, text=clean(text).strip(),
            thread_key=None if local else conv.thread_key, in_reply_to=last_in.external_id if last_in else None,
            recipient=conv.recipient, subject=conv.subject, kind=conv.kind,
            # A messaging window (Meta) is judged when the reply leaves: who wrote it, and from when.
            extra={**extra, "source": source, "customer_at": last_in.sent_at if last_in else None})
        # A DM thread we opened and the platform has not named yet: keep our messages in order.
        before = self.storage.last_unsettled(conversation_id) if local else None
        return self.enqueue(conv.account_id, request, conversation_id=conversation_id, agent_id=agent_id,
                            source=source, resolve=resolve, after=before)

    # ------------------------------------------------------------ reads

    def reply_all_cc(self, conversation_id: int) -> list[str]:
        """Whom enqueue_reply(reply_all=True) would copy now (the composer shows them before sending)."""
        conv = self.storage.reply_target(conversation_id)
        if conv is None or conv.kind != Kind.EMAIL:
            return []
        last_in = self.storage.last_inbound(conversation_id)
        recipient = Person(conv.recipient.external_id) if conv.recipient else None
        return reply_cc(self.store, conv.account_id, last_in.raw if last_in else None, recipient)

    def pending(self, conversation_id: int) -> list[OutboxRow]:
        """Items of a conversation that are not settled yet, oldest first."""
        return self.storage.unsettled(conversation_id)

    def item(self, item_id: int) -> OutboxRow:
        row = self.storage.item(item_id)
        if row is None:
            raise KeyError(f"no outbox item {item_id}")
        return row

    def interrupted(self) -> list[OutboxRow]:
        """Items claimed by a process that died (or whose lease ran out) before settling them."""
        return [r for r in self.storage.in_state([OutboxState.SENDING]) if self._abandoned(r)]

    def unfinished(self) -> list[OutboxRow]:
        """Accepted sends whose after-work (filing the copy in Sent) a dead process left undone."""
        return [r for r in self.storage.accepted_unfinished() if self._abandoned(r)]

    def _abandoned(self, r: OutboxRow) -> bool:
        return not _owner_alive(r.owner) or self.store.clock.now() - r.updated_at > CLAIM_LEASE_SECONDS

    def needing_decision(self) -> list[OutboxRow]:
        """Items only the agent can settle (may have been sent, refused, cancelled), oldest first."""
        return self.storage.in_state(DECIDABLE)

    def unsettled(self) -> list[OutboxRow]:
        """Every item not sent or discarded yet, oldest first."""
        return self.storage.unsettled()

    def due_ids(self, account_id: int) -> list[int]:
        """The account's items due for sending now, oldest first."""
        return self.storage.due_ids(account_id, self.store.clock.now())

    def due_accounts(self) -> list[int]:
        """Accounts with an item due for sending now."""
        return self.storage.due_accounts(self.store.clock.now())

    # ------------------------------------------------------------ claim and settle

    def claim_due(self, limit: int = 20, *, account_id: int | None = None, only: int | None = None,
                  accounts: Collection[int] | None = None) -> list[OutboxRow]:
        """Take due items (of one account, with *account_id*; of *accounts* only, when given: those
        whose lease this process holds) for sending; the claim is committed before any send starts.
        The phase of an attempt that ended unknown is kept, so the engine judges it again first."""
        if accounts is not None and not accounts:
            return []
        return self.storage.claim(_owner(), self.store.clock.now(), limit, account_id=account_id, only=only,
                                  accounts=accounts)

    def set_phase(self, item_id: int, phase: str) -> None:
        """Commit how far the attempt got, before it goes further (what a restart relies on)."""
        with self.storage.transaction():
            self.storage.set_phase(item_id, phase, self.store.clock.now())

    def finished(self, item_id: int) -> None:
        """The after-work of an accepted send is done (or given up): nothing is left to do."""
        with self.storage.transaction():
            self.storage.finish(item_id, self.store.clock.now())

    def mark_sent(self, item_id: int, result: SendResult, *, after_work: bool = False) -> int | None:
        """Record the platform's acceptance and store our message in the thread, atomically; with
        *after_work*, remember *result* until finished() says the connector's after-work is done."""
        now = self.store.clock.now()
        with self.storage.transaction():
            item = self.item(item_id)
            if item.state == OutboxState.SENT:
                return item.message_id
            self.storage.record_accepted(item_id, "accepted" if after_work else "", result if after_work else None)
            message_id = None
            if item.conversation_id is not None or item.action != SendAction.POST:
                message_id = self._store_message(item, result)
            self.storage.settle_sent(item_id, result.external_id, message_id, now)
            self.storage.move_followers(item_id, [OutboxState.WAITING], OutboxState.PENDING, now)
            self.storage.audit(item.agent_id, f"sent_{item.action}", item.conversation_id,
                               {"outbox_id": item_id, "external_id": result.external_id}, now)
            if item.action == SendAction.DM:
                # A DM escalation without a public reply of its own (crisis mode) answers the public post
                # it came from: once the DM is accepted, the post's wait ends as if we had replied there.
                self.storage.answer_escalated_posts(item_id, result.sent_at)
            if item.resolve_after and item.conversation_id is not None:
                self.store.set_status(item.conversation_id, Status.DONE, item.agent_id)
        return message_id

    def _store_message(self, item: OutboxRow, result: SendResult) -> int | None:
        """Store what we sent as a message of its conversation, and learn the platform's thread key."""
        req = item.request
        thread_key = result.thread_key or req.thread_key or result.external_id
        if item.conversation_id is not None:
            current = self.storage.thread_key(item.conversation_id)
            taken = self.storage.thread_taken(item.account_id, thread_key, item.conversation_id)
            if current.startswith(LOCAL_THREAD_PREFIX) and not taken:
                # A conversation we opened ourselves (a new DM) now has the platform's own thread.
                self.storage.set_thread_key(item.conversation_id, thread_key)
            else:
                thread_key = current
        message = InboundMessage(
            external_id=result.external_id, thread_key=thread_key, kind=req.kind,
            author=self.storage.author(item.agent_id, item.account_id),
            text=req.text, sent_at=result.sent_at, direction=Direction.OUT, subject=req.subject,
            in_reply_to=req.in_reply_to, raw=result.raw,
            extra={"agent_id": item.agent_id, "source": item.source, "recipient": req.recipient})
        self.store.ingest(item.account_id, [message], set_cursor=False)
        row = self.storage.sent_message(item.account_id, result.external_id)
        if row and item.conversation_id is None:
            self.storage.set_conversation(item.id, row[1])
        return row[0] if row else None

    def mark_retry(self, item_id: int, error: str, retry_at: float, *, unknown: bool = False) -> None:
        """Send again at *retry_at*; *unknown* when an earlier attempt may have arrived, so the engine
        judges the item again (lookup, idempotency window) right before that retry."""
        with self.storage.transaction():
            self._settle(item_id, OutboxState.PENDING, error, retry_at)
            self.storage.set_retry_phase(item_id, "unknown" if unknown else "")

    def mark_failed(self, item_id: int, error: str) -> None:
        with self.storage.transaction():
            self._settle(item_id, OutboxState.FAILED, error)
            self.storage.move_followers(item_id, [OutboxState.WAITING], OutboxState.CANCELLED,
                                        self.store.clock.now(),
                                        f"not sent because the item before it failed: {clean(error)[:300]}")

    def mark_unsure(self, item_id: int, error: str) -> None:
        self._settle(item_id, OutboxState.UNSURE, error)

    def _settle(self, item_id: int, state: OutboxState, error: str, retry_at: float = 0.0) -> None:
        with self.storage.transaction():
            self.storage.settle(item_id, state, clean(error)[:500], retry_at, self.store.clock.now())

    def decide(self, item_id: int, decision: SendDecision | str, agent_id: int | None) -> None:
        """The agent's call on an unsure, failed or cancelled item: resend, mark as sent, or discard."""
        if decision not in _DECISIONS:
            raise ValueError(f"unknown decision {decision!r}")
        decision = SendDecision(decision)
        now = self.store.clock.now()
        with self.storage.transaction():
            # The agent's call settles the doubt: a resend is a plain send, not re-judged into 'unsure'.
            self.storage.decide(item_id, _DECISIONS[decision], now)
            if decision == SendDecision.RESEND:  # whatever waited on it waits again instead of staying cancelled
                self.storage.move_followers(item_id, [OutboxState.CANCELLED], OutboxState.WAITING, now, "")
            elif decision == SendDecision.MARK_SENT:
                self.storage.move_followers(item_id, [OutboxState.WAITING, OutboxState.CANCELLED],
                                            OutboxState.PENDING, now, "")
            item = self.storage.item(item_id)
            if item is not None:
                self.storage.audit(agent_id, f"outbox_{decision}", item.conversation_id, {"outbox_id": item_id},
                                   now)


def reply_cc(store: Store, account_id: int, raw: bytes | str | None, recipient: Person | None) -> list[str]:
    """Who a reply-all copies: the answered message's To and Cc, without the account or the customer."""
    from agentconsole.replies.reply_all import cc_for  # email's header parser: not needed to start

    own = store.outbox_storage().account_handle(account_id)
    return cc_for(raw, sender=recipient.external_id if recipient else "", own=[own] if own is not None else [])


STATE_WORDS: dict[str, str] = {
    "pending": "queued", "sending": "sending", "waiting": "waiting for an earlier send",
    "failed": "refused", "unsure": "may have been sent: needs your decision",
    "cancelled": "cancelled (an earlier send failed)", "sent": "sent", "discarded": "discarded",
}


def sending_for(item: OutboxRow, now: float) -> float | None:
    """How long the current attempt has been going (a stuck send shows this), or None."""
    if item.state != OutboxState.SENDING or item.attempt_at is None:
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
