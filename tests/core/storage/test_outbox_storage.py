"""The outbox, escalation and account storages, the same on every backend: what the state machine, the
escalation and account removal rely on."""

from __future__ import annotations

import pytest

from agentconsole.domain.models import Channel, Kind, OutboundRequest, Person, SendResult
from agentconsole.domain.records import DECIDABLE, OutboxState
from agentconsole.replies.outbox import Outbox


@pytest.fixture
def ws(backend):
    store = backend.store
    backend.x = store.ensure_account("shop-x", Channel.X, "demo", handle="@shop")
    backend.mail = store.ensure_account("shop-mail", Channel.EMAIL, "demo", handle="help@shop.example")
    backend.alice = store.ensure_agent("Alice Ng")
    backend.cid = backend.message(backend.x, "t1", "where is my parcel?", backend.clock.now() - 60)
    return backend


def _request(key: str, text: str = "on its way") -> OutboundRequest:
    return OutboundRequest(idempotency_key=key, action="reply", text=text, thread_key="t1",
                           recipient=Person("dana", "@dana", "Dana"), kind=Kind.PUBLIC, extra={"source": "personal"})


def _insert(ws, key: str, state: OutboxState = OutboxState.PENDING, after: int | None = None) -> int:
    s = ws.store.outbox_storage()
    with s.transaction():
        return s.insert(ws.x, _request(key), conversation_id=ws.cid, agent_id=ws.alice, source="personal",
                        resolve=True, after=after, state=state, at=ws.clock.now())


def test_an_item_reads_back_as_inserted(ws):
    s = ws.store.outbox_storage()
    first, second = _insert(ws, "k1"), _insert(ws, "k2", OutboxState.WAITING)
    assert second > first  # ids come from RETURNING, in order
    item = s.item(first)
    assert (item.state, item.account_id, item.conversation_id, item.agent_id, item.source, item.resolve_after) == (
        OutboxState.PENDING, ws.x, ws.cid, ws.alice, "personal", True)
    assert item.request == _request("k1") and item.attempts == 0 and item.accepted is None
    assert s.state(second) == "waiting" and s.state(999) is None and s.item(999) is None
    assert [i.id for i in s.unsettled(ws.cid)] == [first, second] == [i.id for i in s.unsettled()]


def test_a_claim_is_taken_once(ws):
    s, now = ws.store.outbox_storage(), ws.clock.now()
    first, second = _insert(ws, "k1"), _insert(ws, "k2")
    assert s.due_ids(ws.x, now) == [first, second] and s.due_accounts(now) == [ws.x]
    claimed = s.claim("here:1", now, 1, account_id=None, only=None, accounts=None)
    assert [(c.id, c.state, c.attempts, c.owner, c.attempt_at) for c in claimed] == [
        (first, OutboxState.SENDING, 1, "here:1", now)]
    assert s.claim("there:2", now, 5, account_id=None, only=first, accounts=None) == []  # already taken
    assert s.claim("there:2", now, 5, account_id=ws.mail, only=None, accounts=None) == []
    assert s.claim("there:2", now, 5, account_id=None, only=None, accounts=[]) == []
    [other] = s.claim("there:2", now, 5, account_id=None, only=None, accounts=[ws.x])
    assert (other.id, other.owner) == (second, "there:2") and s.due_ids(ws.x, now) == []
    assert [i.id for i in s.in_state([OutboxState.SENDING])] == [first, second]


def test_settling_moves_only_the_states_it_names(ws):
    s, now = ws.store.outbox_storage(), ws.clock.now()
    item = _insert(ws, "k1")
    follower = _insert(ws, "k2", OutboxState.WAITING, after=item)
    with s.transaction():
        s.settle(item, OutboxState.FAILED, "refused", 0.0, now)
        s.move_followers(item, [OutboxState.WAITING], OutboxState.CANCELLED, now, "the one before failed")
    assert (s.item(item).state, s.item(item).last_error) == (OutboxState.FAILED, "refused")
    assert (s.item(follower).state, s.item(follower).last_error) == (OutboxState.CANCELLED, "the one before failed")
    assert [i.id for i in s.in_state(DECIDABLE)] == [item, follower]
    with s.transaction():
        s.decide(item, OutboxState.PENDING, now)
        s.move_followers(item, [OutboxState.CANCELLED], OutboxState.WAITING, now, "")
    assert s.item(item).state == OutboxState.PENDING and s.item(follower).last_error == ""
    with s.transaction():
        s.decide(item, OutboxState.DISCARDED, now)  # not decidable now: nothing changes
        s.settle_sent(item, "x-1", None, now)
        s.settle(item, OutboxState.UNSURE, "late", 0.0, now)  # a sent item stays sent
        s.move_followers(item, [OutboxState.WAITING], OutboxState.PENDING, now)
    assert s.item(item).state == OutboxState.SENT and s.item(follower).state == OutboxState.PENDING


def test_an_accepted_send_keeps_its_after_work_until_finished(ws):
    s, now = ws.store.outbox_storage(), ws.clock.now()
    item = _insert(ws, "k1")
    result = SendResult("x-1", now, "t1", '{"id": "x-1"}')
    with s.transaction():
        s.record_accepted(item, "accepted", result)
        s.settle_sent(item, "x-1", None, now)
    assert [i.accepted for i in s.accepted_unfinished()] == [result]
    with s.transaction():
        s.finish(item, now)
    assert s.accepted_unfinished() == [] and s.item(item).phase == ""


def test_what_a_reply_is_made_of(ws):
    s = ws.store.outbox_storage()
    target = s.reply_target(ws.cid)
    assert (target.account_id, target.thread_key, target.kind, target.recipient.handle) == (
        ws.x, "t1", Kind.PUBLIC, "@dana")
    last = s.last_inbound(ws.cid)
    assert last.text == "where is my parcel?" and last.sent_at == ws.clock.now() - 60
    assert s.reply_target(999) is None and s.last_inbound(999) is None
    assert s.account_handle(ws.mail) == "help@shop.example" and s.account_handle(999) is None
    assert s.author(ws.alice, ws.x) == Person(f"account:{ws.x}", "@shop", "Alice Ng")
    assert s.author(None, ws.x).display_name == "@shop"


def test_a_dm_answers_the_post_it_was_escalated_from(ws):
    s, e, now = ws.store.outbox_storage(), ws.store.escalation_storage(), ws.clock.now()
    customer = e.customer(ws.cid)
    with e.transaction():
        dm = e.add_dm_conversation(customer, "local:dm:dana", now)
        e.link(ws.cid, dm)
    assert e.dm_conversation(ws.x, customer.identity_id) == dm and e.thread_key(dm) == "local:dm:dana"
    item = Outbox(ws.store).enqueue(ws.x, OutboundRequest("k-dm", "dm", "hi", recipient=customer.person,
                                                          kind=Kind.DM), conversation_id=dm, agent_id=ws.alice)
    with e.transaction():
        e.add(ws.cid, dm, item, None, None, "batch-1", ws.alice, now)
    assert e.batch_progress("batch-1") == [(ws.cid, "Dana", "pending", "")]
    assert e.live_escalation(ws.cid, True, ["failed"]) == (dm, now)
    assert e.live_escalation(ws.cid, True, ["pending"]) is None
    with s.transaction():
        assert s.answer_escalated_posts(item, now + 5) == [ws.cid]
    post = ws.store.conversation(ws.cid)
    assert (post.needs_reply, post.waiting_since, post.first_response_at, post.linked_id, post.escalated) == (
        False, None, now + 5, dm, True)
    assert ws.store.conversation(dm).linked_id == ws.cid


def test_removing_an_account_takes_what_is_only_its_own(ws):
    store, now = ws.store, ws.clock.now()
    other = ws.message(ws.mail, "m1", "parcel question by mail", now - 30, who="eve")
    store.add_note(ws.cid, ws.alice, "asked the courier")
    outbox = Outbox(store)
    reply = outbox.enqueue_reply(ws.cid, "on its way", agent_id=ws.alice)
    outbox.enqueue_reply(other, "on its way too", agent_id=ws.alice)
    e = store.escalation_storage()
    customer = e.customer(ws.cid)
    with e.transaction():
        dm = e.add_dm_conversation(customer, "local:dm:dana", now)
        e.link(ws.cid, dm)
        e.add(ws.cid, dm, reply, None, None, None, ws.alice, now)
    with store.transaction() as conn:  # a conversation of the other account that points at one of ours
        conn.execute("UPDATE conversations SET linked_id = ? WHERE id = ?", (ws.cid, other))
    accounts = store.account_storage()
    assert accounts.conversation_count(ws.x) == 2 and accounts.conversation_count(ws.mail) == 1

    accounts.remove(ws.x)

    count = lambda sql: store.conn.execute(sql).fetchone()[0]  # noqa: E731
    assert [a.id for a in store.accounts()] == [ws.mail] and accounts.conversation_count(ws.x) == 0
    assert count("SELECT count(*) FROM conversations") == 1 and count("SELECT count(*) FROM messages") == 1
    assert count("SELECT count(*) FROM notes") == 0 and count("SELECT count(*) FROM escalations") == 0
    assert count("SELECT count(*) FROM outbox") == 1 and count("SELECT count(*) FROM contacts") == 2
    assert store.conversation(other).linked_id is None  # the reference is cleared, the row stays
    assert count("SELECT count(*) FROM audit WHERE conversation_id IS NOT NULL AND conversation_id != "
                 f"{other}") == 0  # the audit keeps its rows, without the gone conversations
    assert count("SELECT count(*) FROM audit") > 0
    assert [h.conversation_id for h in store.search("parcel")] == [other]
    if ws.name == "sqlite":
        assert store.conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert count("SELECT count(*) FROM messages_fts") == 1
