"""The Mastodon connector driven by the real sync engine, outbox and store (HTTP served by respx)."""

from __future__ import annotations

import json
import random

import httpx
import pytest
import respx

from agentconsole.domain.clock import FrozenClock
from agentconsole.sync.engine import Engine
from agentconsole.domain.errors import AuthError
from agentconsole.replies.escalation import escalate
from agentconsole.storage.store import Store
from connectors.mastodon import connector as mastodon
from connectors.mastodon import stream as mastodon_stream
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


async def test_the_notification_stream_wakes_polling_and_reconnects_with_backoff(api):
    streaming = "https://streaming.mastodon.social"
    # The instance advertises its own streaming host.
    api.get("/api/v2/instance").respond(json=dict(instance(500), configuration=dict(
        instance(500)["configuration"], urls={"streaming": "wss://streaming.mastodon.social"})))
    mention_event = json.dumps(notification("31", status("701", CUSTOMER)))
    favourite_event = json.dumps(dict(notification("32", status("702", CUSTOMER)), type="favourite"))
    body = (":)\n\nevent: notification\ndata: " + mention_event + "\n\n:thump\n\n"
            "event: notification\ndata: " + favourite_event + "\n\n"
            "event: conversation\ndata: {\"id\": \"418450\"}\n\n").encode()
    stream = api.get(f"{streaming}/api/v1/streaming/user/notification").mock(side_effect=[
        httpx.Response(200, content=body, headers={"Content-Type": "text/event-stream"}),
        httpx.Response(502),
        httpx.Response(401, json={"error": "The access token is invalid"})])
    woken, slept = [], []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    connector = mastodon.MastodonConnector(INSTANCE, "tok", FrozenClock(NOW))
    await connector.load_limits()
    with pytest.raises(AuthError, match="re-authorise"):
        await mastodon_stream.watch(connector._client, connector.streaming_url, lambda: woken.append(1),
                                    sleep=sleep, rng=random.Random(7))
    assert len(woken) == 2  # the mention and the conversation, not the favourite
    assert stream.call_count == 3
    assert stream.calls[0].request.headers["Authorization"] == "Bearer tok"
    assert 0.5 <= slept[0] <= 1.0 and 1.0 <= slept[1] <= 2.0  # reset after events, then growing
    await connector.close()


async def test_escalating_a_public_mention_opens_the_dm_thread_the_customers_answer_joins(api, tmp_path):
    clock = FrozenClock(NOW)
    store = Store(tmp_path / "e.db", clock)
    account = store.ensure_account("shop", "mastodon", "mastodon", handle="@trwnh@mastodon.social")
    public = status("800", CUSTOMER, "you charged me twice!")
    answer = status("802", CUSTOMER, "order 4411", visibility="direct", in_reply_to_id="801")
    notifications = api.get("/api/v1/notifications").respond(json=[notification("40", public)])
    api.get("/api/v1/conversations").respond(json=[])
    api.get("/api/v1/statuses/800").respond(json=public)
    posted = api.post("/api/v1/statuses").mock(side_effect=[
        httpx.Response(200, json=status("801", OWN, "dm", visibility="direct", mentions=[mention_of(CUSTOMER)])),
        httpx.Response(200, json=status("803", OWN, "public", in_reply_to_id="800"))])
    connector = mastodon.MastodonConnector(INSTANCE, "tok", clock)
    engine = Engine(store, {account: connector}, clock=clock)
    await engine.sync_once(account)
    [public_conv] = store.conversation_ids("all")
    done = escalate(store, public_conv, dm_text="Could you send the order number?",
                    public_text="We've sent you a DM.", agent_id=None, capabilities=connector.capabilities)
    assert await engine.dispatch_once() + await engine.dispatch_once() == 2
    dm_body, reply_body = (json.loads(c.request.content) for c in posted.calls)
    assert dm_body == {"status": "@zsc@mastodon.social Could you send the order number?", "visibility": "direct"}
    assert reply_body == {"status": "@zsc We've sent you a DM.", "in_reply_to_id": "800", "visibility": "public"}

    notifications.respond(json=[notification("41", answer)])
    await engine.sync_once(account)
    assert [m.external_id for m in store.messages(done.dm_conversation_id)] == ["801", "802"]
    assert [m.external_id for m in store.messages(public_conv)] == ["800", "803"]
    await connector.close()
    store.close()
