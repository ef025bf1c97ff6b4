"""The Mastodon connector driven by the real sync engine, outbox and store (HTTP served by respx)."""

from __future__ import annotations

import json

import pytest
import respx

from agentconsole.clock import FrozenClock
from agentconsole.engine import Engine
from agentconsole.store import Store
from connectors import mastodon
from tests.connectors.mastodon_payloads import (CUSTOMER, INSTANCE, OWN, conversation, instance,
                                                mention_of, notification, status)

NOW = 1_764_147_600.0


@pytest.fixture
def api():
    with respx.mock(base_url=INSTANCE, assert_all_called=False) as router:
        router.get("/api/v1/accounts/verify_credentials").respond(json=OWN)
        router.get("/api/v2/instance").respond(json=instance(500))
        router.get("/api/v1/notifications/requests").respond(json=[])
        yield router


async def test_a_dm_is_fetched_answered_once_and_our_answer_dedups_when_seen_again(api, tmp_path):
    clock = FrozenClock(NOW)
    store = Store(tmp_path / "a.db", clock)
    account = store.ensure_account("shop", "mastodon", "mastodon", handle="@trwnh@mastodon.social")
    theirs = status("700", CUSTOMER, "I was charged twice", visibility="direct")
    ours = status("990", OWN, "sorry, refunding now", visibility="direct", in_reply_to_id="700",
                  mentions=[mention_of(CUSTOMER)], created_at="2019-11-23T08:00:00.000Z")
    api.get("/api/v1/notifications").respond(json=[notification("30", theirs)])
    conversations = api.get("/api/v1/conversations").respond(
        json=[conversation("418450", [CUSTOMER], theirs)])
    api.get("/api/v1/statuses/700").respond(json=theirs)
    posted = api.post("/api/v1/statuses").respond(json=ours)

    connector = mastodon.MastodonConnector(INSTANCE, "tok", clock)
    engine = Engine(store, {account: connector}, clock=clock)
    assert await engine.sync_once(account) == 1
    [conv_id] = store.conversation_ids("all")
    assert store.conversation(conv_id).kind == "dm" and store.conversation(conv_id).needs_reply

    engine.outbox.enqueue_reply(conv_id, "sorry, refunding now", agent_id=None)
    assert await engine.dispatch_once() == 1
    body = json.loads(posted.calls.last.request.content)
    assert body == {"status": "@zsc sorry, refunding now", "in_reply_to_id": "700", "visibility": "direct"}
    key = posted.calls.last.request.headers["Idempotency-Key"]
    assert key == store.conn.execute("SELECT idempotency_key FROM outbox").fetchone()[0]

    # The server now lists our reply as the conversation's last status: stored already, not again.
    conversations.respond(json=[conversation("418450", [CUSTOMER], ours)])
    assert await engine.sync_once(account) == 0
    messages = store.messages(conv_id)
    assert [(m.external_id, m.direction) for m in messages] == [("700", "in"), ("990", "out")]
    assert not store.conversation(conv_id).needs_reply
    await connector.close()
    store.close()
