"""DM escalation and crisis mode: DM before public, refusal posts nothing, links, reuse, retries."""

from __future__ import annotations

import pytest

from agentconsole.sync.engine import Engine
from agentconsole.domain.errors import PermanentError
from agentconsole.replies.escalation import (CrisisBlocked, EscalationRefused, batch_progress, crisis, escalate,
                                            status_fits, status_progress, why_not)
from agentconsole.domain.models import Capabilities, Direction, InboundMessage, Kind, Person, SendResult, Status
from agentconsole.replies.outbox import Outbox

from tests.core.fakes import ScriptedConnector

DM_OK = Capabilities(direct_message=True, public_post=True, idempotent_send=True)
DANA = Person("u1", "dana_k", "Dana Kim")
SAM = Person("u2", "sam", "Sam Ortiz")


class DMConnector(ScriptedConnector):
    """Gives DMs a platform thread per person, like a chat API does."""

    async def send(self, request):
        result = await super().send(request)
        if request.action == "dm":
            return SendResult(result.external_id, result.sent_at, f"chat-{request.recipient.external_id}")
        return result


@pytest.fixture
def account(store):
    return store.ensure_account("shop-b", "bluesky", "scripted", handle="shop.bsky.social")


def public_post(store, account, clock, ext="p1", person=DANA):
    store.ingest(account, [InboundMessage(ext, ext, Kind.PUBLIC, person, "my order never arrived",
                                          clock.now() - 600)])
    return store.conn.execute("SELECT id FROM conversations WHERE thread_key = ?", (ext,)).fetchone()[0]


async def test_dm_goes_first_then_public_reply_and_both_are_linked(store, account, clock):
    cid = public_post(store, account, clock)
    esc = escalate(store, cid, dm_text="Hi Dana, what's your order number?",
                   public_text="@dana_k we've sent you a DM", agent_id=None, capabilities=DM_OK)
    outbox = Outbox(store)
    assert outbox.item(esc.public_item).state == "waiting"
    conn = DMConnector(clock, capabilities=DM_OK)
    engine = Engine(store, {account: conn}, clock=clock)
    await engine.dispatch_once()  # the DM only: the public reply was still waiting on it
    assert [r.action for r in conn.sent] == ["dm"]
    await engine.dispatch_once()
    assert [r.action for r in conn.sent] == ["dm", "reply"]
    assert conn.sent[1].in_reply_to == "p1"
    public, dm = store.conversation(cid), store.conversation(esc.dm_conversation_id)
    assert public.linked_id == dm.id and dm.linked_id == public.id and public.escalated
    assert dm.kind == "dm" and dm.message_count == 1 and not public.needs_reply
    assert store.conn.execute("SELECT thread_key FROM conversations WHERE id = ?", (dm.id,)).fetchone()[0] \
        == "chat-u1"
    assert store.view_counts()["escalated"] == 1
    # A reply in the DM from the platform's chat thread lands in the same conversation.
    store.ingest(account, [InboundMessage("d2", "chat-u1", Kind.DM, DANA, "it's #4411", clock.now())])
    assert store.conversation(dm.id).message_count == 2
    store.set_status(dm.id, Status.DONE, None)
    assert store.conversation(cid).status == "done"


async def test_refused_dm_posts_nothing_public(store, account, clock):
    cid = public_post(store, account, clock)
    esc = escalate(store, cid, dm_text="hi", public_text="we've sent you a DM", agent_id=None,
                   capabilities=DM_OK)
    conn = DMConnector(clock, capabilities=DM_OK, fail_send=[PermanentError("recipient does not accept DMs")])
    engine = Engine(store, {account: conn}, clock=clock)
    await engine.dispatch_once()
    await engine.dispatch_once()
    outbox = Outbox(store)
    assert [r.action for r in conn.sent] == ["dm"]
    assert outbox.item(esc.dm_item).state == "failed"
    public = outbox.item(esc.public_item)
    assert public.state == "cancelled" and "does not accept DMs" in public.last_error


async def test_existing_dm_conversation_is_reused(store, account, clock):
    store.ingest(account, [InboundMessage("d1", "chat-u1", Kind.DM, DANA, "earlier DM", clock.now() - 9000)])
    existing = store.conversation_ids()[0]
    cid = public_post(store, account, clock)
    esc = escalate(store, cid, dm_text="hi again", public_text=None, agent_id=None, capabilities=DM_OK)
    assert esc.dm_conversation_id == existing


def test_email_and_dms_cannot_be_escalated(store, clock):
    mail = store.ensure_account("mail", "email", "scripted")
    store.ingest(mail, [InboundMessage("e1", "e1", Kind.EMAIL, DANA, "hi", clock.now())])
    cid = store.conversation_ids()[0]
    assert "email is already private" in why_not(store, cid, DM_OK)
    with pytest.raises(EscalationRefused):
        escalate(store, cid, dm_text="x", public_text="y", agent_id=None, capabilities=DM_OK)
    account = store.ensure_account("shop-x", "x", "scripted")
    store.ingest(account, [InboundMessage("x1", "x1", Kind.PUBLIC, DANA, "hi", clock.now())])
    public = store.conn.execute("SELECT id FROM conversations WHERE thread_key = 'x1'").fetchone()[0]
    assert "does not let us send DMs" in why_not(store, public, Capabilities())
    assert "not connected" in why_not(store, public, None)


async def test_crash_between_dm_and_public_sends_each_exactly_once(store, account, clock):
    cid = public_post(store, account, clock)
    esc = escalate(store, cid, dm_text="hi", public_text="sent you a DM", agent_id=None, capabilities=DM_OK)
    platform = DMConnector(clock, capabilities=DM_OK)
    engine = Engine(store, {account: platform}, clock=clock)
    outbox = Outbox(store)
    # The DM reaches the platform, then the process dies before marking it sent.
    [claimed] = outbox.claim_due()
    await platform.send(claimed.request)
    store.conn.execute("UPDATE outbox SET owner = 'gone:999999999' WHERE id = ?", (esc.dm_item,))
    clock.advance(700)
    restarted = Engine(store, {account: platform}, clock=clock)
    await restarted.reconcile()
    for _ in range(3):
        await restarted.dispatch_once()
    assert len(platform.delivered) == 2  # one DM, one public reply, whatever was retried
    assert outbox.item(esc.dm_item).state == "sent" and outbox.item(esc.public_item).state == "sent"
    del engine


async def test_crisis_mode_one_status_one_dm_per_person_partial_failure_and_retry(store, account, clock):
    a = public_post(store, account, clock, "p1", DANA)
    b = public_post(store, account, clock, "p2", DANA)  # same person twice
    c = public_post(store, account, clock, "p3", SAM)
    mail = store.ensure_account("mail", "email", "scripted")
    store.ingest(mail, [InboundMessage("e1", "e1", Kind.EMAIL, SAM, "down?", clock.now())])
    e = store.conn.execute("SELECT id FROM conversations WHERE thread_key = 'e1'").fetchone()[0]
    plan = crisis(store, [a, b, c, e], status_text="We're having an outage; updates here.",
                  dm_texts={a: "Hi Dana", b: "Hi Dana", c: "Hi Sam", e: "Hi Sam"}, agent_id=None,
                  capabilities={account: DM_OK, mail: Capabilities()})
    assert len(plan.status_items) == 1 and len(plan.escalations) == 2
    assert {cid for cid, _ in plan.skipped} == {b, e}
    platform = DMConnector(clock, capabilities=DM_OK,
                           fail_send=[None, PermanentError("window closed")])  # the status goes, a DM fails
    engine = Engine(store, {account: platform}, clock=clock)
    await engine.dispatch_once()
    progress = batch_progress(store, plan.batch)
    assert sorted(p[2] for p in progress) == ["failed", "sent"]
    assert "window closed" in [p[3] for p in progress if p[2] == "failed"][0]
    failed = [esc for esc in plan.escalations if Outbox(store).item(esc.dm_item).state == "failed"]
    Outbox(store).decide(failed[0].dm_item, "resend", None)
    await engine.dispatch_once()
    assert sorted(p[2] for p in batch_progress(store, plan.batch)) == ["sent", "sent"]
    for esc in plan.escalations:
        assert store.conversation(esc.public_conversation_id).linked_id == esc.dm_conversation_id
    assert store.conversation(a).escalated and not store.conversation(b).escalated
    out = [m for m in store.messages(plan.escalations[0].dm_conversation_id) if m.direction == Direction.OUT]
    assert len(out) == 1


async def test_typing_in_the_new_dm_before_it_is_accepted_follows_the_dm(store, account, clock):
    cid = public_post(store, account, clock)
    esc = escalate(store, cid, dm_text="Hi Dana", public_text=None, agent_id=None, capabilities=DM_OK)
    follow = Outbox(store).enqueue_reply(esc.dm_conversation_id, "Also: which colour?", agent_id=None)
    assert Outbox(store).item(follow).state == "waiting"
    platform = DMConnector(clock, capabilities=DM_OK)
    engine = Engine(store, {account: platform}, clock=clock)
    await engine.dispatch_once()
    await engine.dispatch_once()
    assert [r.action for r in platform.sent] == ["dm", "dm"]
    assert store.conversation(esc.dm_conversation_id).message_count == 2


def test_crisis_status_is_measured_on_every_account_and_blocked_before_anything_is_queued(store, clock):
    x = store.ensure_account("shop-x", "x", "scripted")
    masto = store.ensure_account("shop-m", "mastodon", "scripted")
    on_x = public_post(store, x, clock, "x1", DANA)
    on_m = public_post(store, masto, clock, "m1", SAM)
    caps = {x: Capabilities(direct_message=True, public_post=True, max_length=280),
            masto: Capabilities(direct_message=True, public_post=True, max_length=500)}
    status = "z" * 287
    fits = status_fits(store, [on_m, on_x], status, caps)
    assert [(f.label, f.length.used, f.length.limit, f.length.over) for f in fits] == [
        ("shop-x (X)", 287, 280, 7), ("shop-m (Mastodon)", 287, 500, 0)]  # strictest first
    with pytest.raises(CrisisBlocked) as blocked:
        crisis(store, [on_m, on_x], status_text=status, dm_texts={on_x: "Hi Dana", on_m: "Hi Sam"},
               agent_id=None, capabilities=caps)
    assert blocked.value.problems == ["the status is too long for shop-x (X): 287/280 characters, 7 over"]
    assert store.conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0
    with pytest.raises(CrisisBlocked, match=r"DM to Sam Ortiz: fill in \{order_number\} before sending"):
        crisis(store, [on_m, on_x], status_text="Outage; updates here.",
               dm_texts={on_x: "Hi Dana", on_m: "Hi Sam, your {order_number}?"}, agent_id=None, capabilities=caps)
    plan = crisis(store, [on_m, on_x], status_text="Outage; updates here.",
                  dm_texts={on_x: "Hi Dana", on_m: "Hi Sam"}, agent_id=None, capabilities=caps)
    assert [(label, state) for label, state, _ in status_progress(store, plan.status_items)] == [
        ("shop-x (X)", "pending"), ("shop-m (Mastodon)", "pending")]


async def test_a_crisis_dm_once_accepted_ends_its_public_posts_wait(store, account, clock):
    """A single `d` answers its post publicly; crisis mode answers each post by its DM (issue 18, item
    6), so the marked posts stop waiting as soon as their DM is accepted, and not before."""
    a = public_post(store, account, clock, "p1", DANA)
    c = public_post(store, account, clock, "p3", SAM)
    plan = crisis(store, [a, c], status_text="We're having an outage; updates here.",
                  dm_texts={a: "Hi Dana", c: "Hi Sam"}, agent_id=None, capabilities={account: DM_OK})
    assert store.conversation(a).needs_reply and store.conversation(c).needs_reply
    platform = DMConnector(clock, capabilities=DM_OK, fail_send=[None, PermanentError("window closed")])
    engine = Engine(store, {account: platform}, clock=clock)
    await engine.dispatch_once()
    failed = [e for e in plan.escalations if Outbox(store).item(e.dm_item).state == "failed"]
    answered = [e for e in plan.escalations if Outbox(store).item(e.dm_item).state == "sent"]
    assert len(failed) == len(answered) == 1
    done = store.conversation(answered[0].public_conversation_id)
    assert not done.needs_reply and done.waiting_since is None
    assert done.first_response_at is not None
    assert store.conversation(failed[0].public_conversation_id).needs_reply  # its DM never arrived
    Outbox(store).decide(failed[0].dm_item, "resend", None)
    await engine.dispatch_once()
    assert not store.conversation(a).needs_reply and not store.conversation(c).needs_reply
    # The customer writing again in public makes the post wait again, as after any answer.
    clock.advance(60)
    store.ingest(account, [InboundMessage("p1-2", "p1", Kind.PUBLIC, DANA, "still nothing", clock.now())])
    assert store.conversation(a).needs_reply
