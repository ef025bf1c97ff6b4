"""DM escalation: a DM first, then (only once it was accepted) a public "we've sent you a DM"; and
crisis mode, one public status plus a DM to each person."""

from __future__ import annotations

from typing import TYPE_CHECKING

import uuid
from dataclasses import dataclass

from agentconsole.domain.rows import ConversationRow
from agentconsole.domain.models import (Capabilities, Channel, DmAvailability, Kind, OutboundRequest, Person,
                                        ReplySource, SendAction)
from agentconsole.replies import guard, reach
from agentconsole.replies.lengths import Length, measure
from agentconsole.replies.outbox import LOCAL_THREAD_PREFIX, Outbox

if TYPE_CHECKING:
    from agentconsole.storage.escalations import Customer, EscalationStorage
    from agentconsole.storage.store import Store


class EscalationRefused(Exception):
    """This conversation cannot be escalated; the message says why, for the agent."""


class CrisisBlocked(EscalationRefused):
    """Crisis mode would send something a platform refuses or a customer should not read; nothing
    was queued. *problems* lists each one in the agent's words."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class StatusFit:
    """The public status measured as one account's platform counts it."""

    account_id: int
    label: str  # "shop-x (X)"
    length: Length


@dataclass(frozen=True, slots=True)
class Escalation:
    public_conversation_id: int
    dm_conversation_id: int
    dm_item: int
    public_item: int | None


@dataclass(frozen=True, slots=True)
class CrisisPlan:
    batch: str
    status_items: dict[int, int]  # account id -> outbox item of the public status
    escalations: tuple[Escalation, ...]
    skipped: tuple[tuple[int, str], ...]  # (conversation id, why it gets no DM)
    status_skipped: tuple[tuple[int, str], ...] = ()  # (account id, why it gets no public status)


def why_not(store: Store, conversation_id: int, capabilities: Capabilities | None,
            availability: DmAvailability | None = None) -> str | None:
    """None when the conversation can be escalated to a DM, else the reason in the agent's words;
    *availability* is the connector's live answer, where it gives one (see reach.ask)."""
    conv = store.conversation(conversation_id)
    if conv is None:
        return "that conversation no longer exists"
    if conv.channel == Channel.EMAIL:
        return "email is already private: reply with r instead"
    if conv.kind != Kind.PUBLIC:
        return "this conversation is already a DM"
    if conv.contact_id is None:
        return "we don't know who wrote this, so there is nobody to DM"
    if capabilities is None:
        return f"{conv.account_name} is not connected right now"
    if not capabilities.direct_message:
        return f"{Channel(conv.channel).label} does not let us send DMs from this account"
    answer = reach.for_conversation(store, conversation_id, availability=availability)
    if answer is not None and not answer.can_send:
        return answer.reason
    return None


def _storage(store: Store) -> EscalationStorage:
    return store.escalation_storage()


def _customer(store: Store, conversation_id: int) -> Customer:
    found = _storage(store).customer(conversation_id)
    if found is None:
        raise EscalationRefused("we don't know who wrote this, so there is nobody to DM")
    return found


def customer_of(store: Store, conversation_id: int) -> Person | None:
    """Who a DM would go to (as the platform names them), or None when nobody is known."""
    found = _storage(store).customer(conversation_id)
    return None if found is None else found.person


def dm_conversation_for(store: Store, conversation_id: int) -> int:
    """The DM conversation with the same person on the same account: reused if it exists."""
    customer = _customer(store, conversation_id)
    storage = _storage(store)
    with storage.transaction():
        found = storage.dm_conversation(customer.account_id, customer.identity_id)
        if found is not None:
            return found
        return storage.add_dm_conversation(customer, f"{LOCAL_THREAD_PREFIX}dm:{customer.person.external_id}",
                                           store.clock.now())


def escalate(store: Store, conversation_id: int, *, dm_text: str, public_text: str | None,
             agent_id: int | None, capabilities: Capabilities | None, batch: str | None = None,
             status_item: int | None = None, opened_at: float | None = None,
             send_anyway: bool = False) -> Escalation:
    """Queue the DM, then the public reply waiting on it; link the two conversations both ways.

    With *opened_at* (when the agent began), the collision guard runs first (raises Collided)."""
    reason = why_not(store, conversation_id, capabilities)
    if reason:
        raise EscalationRefused(reason)
    with store.transaction():  # the collision guard and the queueing under one write lock
        return _escalate(store, conversation_id, dm_text, public_text, agent_id, batch, status_item,
                         opened_at, send_anyway)


def _escalate(store: Store, conversation_id: int, dm_text: str, public_text: str | None,
              agent_id: int | None, batch: str | None, status_item: int | None, opened_at: float | None,
              send_anyway: bool) -> Escalation:
    from agentconsole.team import collision

    collision.guarded(store, conversation_id, agent_id=agent_id, opened_at=opened_at, send_anyway=send_anyway,
                      verb="escalation")
    customer = _customer(store, conversation_id)
    account_id, person = customer.account_id, customer.person
    dm_conv = dm_conversation_for(store, conversation_id)
    outbox = Outbox(store)
    storage = _storage(store)
    with storage.transaction():
        public = storage.thread_key(conversation_id)
        dm_thread = storage.thread_key(dm_conv) or ""
        last_in = storage.last_inbound_id(conversation_id)
        dm_item = outbox.enqueue(account_id, OutboundRequest(
            idempotency_key=uuid.uuid4().hex, action=SendAction.DM, text=dm_text.strip(),
            thread_key=None if dm_thread.startswith(LOCAL_THREAD_PREFIX) else dm_thread,
            recipient=person, kind=Kind.DM,
            # Meta's private reply answers the comment itself (one per comment).
            extra={"public_thread": public, "comment_id": last_in}),
            conversation_id=dm_conv, agent_id=agent_id, source=ReplySource.ESCALATION)
        public_item = None
        if public_text:
            public_item = outbox.enqueue(account_id, OutboundRequest(
                idempotency_key=uuid.uuid4().hex, action=SendAction.REPLY, text=public_text.strip(),
                thread_key=public, in_reply_to=last_in, recipient=person,
                kind=Kind.PUBLIC), conversation_id=conversation_id, agent_id=agent_id, source=ReplySource.ESCALATION,
                after=dm_item)
        storage.link(conversation_id, dm_conv)
        storage.add(conversation_id, dm_conv, dm_item, public_item, status_item, batch, agent_id, store.clock.now())
        store.audit(agent_id, "escalated", conversation_id, dm_conversation=dm_conv, dm_item=dm_item)
    return Escalation(conversation_id, dm_conv, dm_item, public_item)


def _crisis_plan(store: Store, conversation_ids: list[int], capabilities: dict[int, Capabilities], *,
                 agent_id: int | None = None, opened_at: float | None = None, send_anyway: bool = False
                 ) -> tuple[dict[int, int], list[tuple[int, str]]]:
    """(contact id -> the conversation whose DM speaks for that person, skipped with why). With
    *opened_at*, a post someone else answered (or is answering) since then is skipped, unless
    *send_anyway*."""
    from agentconsole.team import collision

    skipped: list[tuple[int, str]] = []
    chosen: dict[int, int] = {}
    for cid in conversation_ids:
        conv = store.conversation(cid)
        reason = why_not(store, cid, capabilities.get(conv.account_id) if conv else None)
        clash = () if reason or opened_at is None or send_anyway else collision.check(
            store, cid, agent_id=agent_id, opened_at=opened_at)
        if conv is None or reason:
            skipped.append((cid, reason or "that conversation no longer exists"))
        elif clash:
            skipped.append((cid, clash[0].describe(store.clock.now())))
        elif conv.contact_id is None or conv.contact_id in chosen:
            skipped.append((cid, "same person as another marked post: one DM covers both"))
        else:
            chosen[conv.contact_id] = cid
    return chosen, skipped


def status_fits(store: Store, conversation_ids: list[int], status_text: str,
                capabilities: dict[int, Capabilities]) -> list[StatusFit]:
    """The status measured on every account it would be posted to, strictest first."""
    chosen, _ = _crisis_plan(store, conversation_ids, capabilities)
    return _fits(list(store.conversations_by_ids(chosen.values()).values()), status_text, capabilities)


def _fits(rows: list[ConversationRow], status_text: str, capabilities: dict[int, Capabilities]) -> list[StatusFit]:
    fits: dict[int, StatusFit] = {}
    for conv in rows:
        if conv.account_id not in fits and capabilities[conv.account_id].public_post:
            channel = Channel(conv.channel)
            length = measure(status_text.strip(), channel, Kind.PUBLIC,
                             capabilities[conv.account_id].max_length)
            fits[conv.account_id] = StatusFit(conv.account_id, f"{conv.account_name} ({channel.label})", length)
    return sorted(fits.values(), key=lambda f: -(f.length.used / f.length.limit) if f.length.limit else 0.0)


def crisis_problems(store: Store, conversation_ids: list[int], *, status_text: str, dm_texts: dict[int, str],
                    capabilities: dict[int, Capabilities]) -> list[str]:
    """What blocks crisis mode as it stands: an empty or over-long status on any account it goes to,
    and every DM the send guard would stop (unfilled placeholders, over-length, empty)."""
    problems: list[str] = []
    if not status_text.strip():
        problems.append("the public status is empty")
    chosen, _ = _crisis_plan(store, conversation_ids, capabilities)
    rows = store.conversations_by_ids(chosen.values())
    for fit in _fits(list(rows.values()), status_text, capabilities):
        if fit.length.over:
            problems.append(f"the status is too long for {fit.label}: {fit.length.used}/{fit.length.limit} "
                            f"{fit.length.unit}, {fit.length.over} over")
    for cid in chosen.values():
        conv = rows[cid]
        verdict = guard.check(dm_texts.get(cid, ""), conv.channel, Kind.DM)
        if verdict.blocks:
            who = conv.contact_name or conv.handle or f"#{cid}"
            problems.append(f"DM to {who}: {verdict.blocks[0]}")
    return problems


def crisis(store: Store, conversation_ids: list[int], *, status_text: str, dm_texts: dict[int, str],
           agent_id: int | None, capabilities: dict[int, Capabilities], opened_at: float | None = None,
           send_anyway: bool = False) -> CrisisPlan:
    """One public status per account involved and one DM per person (de-duplicated by contact).

    *dm_texts* maps each conversation id to its DM, already filled for that person. Nothing is
    queued (CrisisBlocked) while any status or DM would be refused or reach someone unfilled. With
    *opened_at*, a post someone else answered (or is answering) since then is skipped, unless
    *send_anyway*.
    """
    problems = crisis_problems(store, conversation_ids, status_text=status_text, dm_texts=dm_texts,
                               capabilities=capabilities)
    if problems:
        raise CrisisBlocked(problems)
    batch = uuid.uuid4().hex
    outbox = Outbox(store)
    chosen, skipped = _crisis_plan(store, conversation_ids, capabilities, agent_id=agent_id,
                                   opened_at=opened_at, send_anyway=send_anyway)
    status_items: dict[int, int] = {}
    no_status: dict[int, str] = {}
    escalations: list[Escalation] = []
    for cid in chosen.values():
        conv = store.conversation(cid)
        if conv is None:  # deleted since the plan was made (its account was removed): nobody to DM
            skipped.append((cid, "that conversation no longer exists"))
            continue
        account_id = conv.account_id
        if not capabilities[account_id].public_post:  # Instagram: the DMs go, the status cannot
            no_status[account_id] = f"{conv.account_name}: {reach.why_no_post(conv.channel)}"
        elif account_id not in status_items:
            status_items[account_id] = outbox.enqueue(account_id, OutboundRequest(
                idempotency_key=uuid.uuid4().hex, action=SendAction.POST, text=status_text.strip(), kind=Kind.PUBLIC),
                conversation_id=None, agent_id=agent_id, source=ReplySource.CRISIS)
        escalations.append(escalate(store, cid, dm_text=dm_texts[cid], public_text=None, agent_id=agent_id,
                                    capabilities=capabilities[account_id], batch=batch,
                                    status_item=status_items.get(account_id), opened_at=opened_at,
                                    send_anyway=send_anyway))
    return CrisisPlan(batch, status_items, tuple(escalations), tuple(skipped), tuple(no_status.items()))


def status_skips(store: Store, conversation_ids: list[int], capabilities: dict[int, Capabilities]) -> list[str]:
    """The accounts crisis mode posts no public status to, each with why (Instagram has no text post)."""
    chosen, _ = _crisis_plan(store, conversation_ids, capabilities)
    out: dict[int, str] = {}
    for conv in store.conversations_by_ids(chosen.values()).values():
        if not capabilities[conv.account_id].public_post:
            out[conv.account_id] = f"{conv.account_name}: {reach.why_no_post(conv.channel)}"
    return list(out.values())


def status_progress(store: Store, status_items: dict[int, int]) -> list[tuple[str, str, str]]:
    """(account label, state, last error) of each account's public status in a crisis batch."""
    storage = _storage(store)
    out: list[tuple[str, str, str]] = []
    for _account_id, item_id in sorted(status_items.items()):
        found = storage.item_progress(item_id)
        if found is not None:
            out.append((f"{found.account_name} ({Channel(found.channel).label})", found.state, found.last_error))
    return out


def batch_progress(store: Store, batch: str) -> list[tuple[int, str, str, str]]:
    """(public conversation, customer, DM state, last error) for every escalation in a crisis batch."""
    return _storage(store).batch_progress(batch)
