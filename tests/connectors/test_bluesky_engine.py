"""The whole Bluesky path through the real engine, outbox and store, on the REAL local PDS: a customer's mention
reaches the inbox, the agent replies in thread with facets, then escalates to a DM through the PDS's chat proxy
(to the chat stand-in), and the customer's answer lands in that DM conversation."""

from __future__ import annotations

import time

from agentconsole import secrets
from agentconsole.domain.clock import FrozenClock
from agentconsole.replies.escalation import escalate
from agentconsole.storage.store import Store
from agentconsole.sync.engine import Engine
from connectors.bluesky import CAPABILITIES
from connectors.bluesky.connector import from_account
from tests.connectors.bluesky_appview import AppViewFront
from tests.connectors.bluesky_chat import chat_service  # noqa: F401  (fixture)
from tests.connectors.bluesky_pds import PLC_URL, bluesky_pds, brand, customer  # noqa: F401
from tests.connectors.test_bluesky_dm import customer_chat


async def test_mention_reply_in_thread_then_escalate_to_a_dm(brand, customer, chat_service, tmp_path,
                                                             monkeypatch) -> None:
    clock = FrozenClock(time.time())
    customer.allow_incoming("all")
    monkeypatch.setenv(secrets.env_var_name("shop"), brand.app_password(privileged=True))
    front = await AppViewFront().start()
    store = Store(tmp_path / "inbox.db", clock)
    account = store.ensure_account("shop", "bluesky", "bluesky", handle="@" + brand.handle, settings={
        "handle": brand.handle, "service": front.url, "resolve_pds": False, "plc": PLC_URL,
        "chat_service": chat_service.did})
    connector = from_account(store.account(account), clock)
    engine = Engine(store, {account: connector}, clock=clock)
    try:
        mention = customer.mention(brand, "my order 4411 never arrived 😞")
        front.notify(mention, customer)
        assert await engine.sync_once(account) == 1
        [conv_id] = store.conversation_ids("all")
        conv = store.conversation(conv_id)
        assert conv.kind == "public" and conv.needs_reply

        clock.set(time.time())  # the agent answers after the customer wrote
        engine.outbox.enqueue_reply(conv_id, f"😞→🙂 @{customer.handle} sorry! Checking now.", agent_id=None)
        assert await engine.dispatch_once() == 1
        [reply] = [r["value"] for r in brand.records()]
        assert reply["reply"]["root"] == reply["reply"]["parent"] == {"uri": mention["uri"], "cid": mention["cid"]}
        start = reply["facets"][0]["index"]["byteStart"]
        assert start == len("😞→🙂 ".encode()) and reply["facets"][0]["features"][0]["did"] == customer.did
        assert not store.conversation(conv_id).needs_reply

        done = escalate(store, conv_id, dm_text="Could you send us the order's email address?",
                        public_text="We've sent you a DM.", agent_id=None, capabilities=CAPABILITIES)
        assert await engine.dispatch_once() == 1  # the DM; the public note waits for it
        assert await engine.dispatch_once() == 1
        [convo] = [c for c in chat_service.convos.values() if set(c.members) == {brand.did, customer.did}]
        assert convo.messages[-1]["text"] == "Could you send us the order's email address?"
        dm = store.conversation(done.dm_conversation_id)
        key = store.conn.execute("SELECT thread_key FROM conversations WHERE id = ?", (dm.id,)).fetchone()[0]
        assert dm.kind == "dm" and key == f"convo:{convo.id}"  # named by the platform once the DM went out
        assert [r["value"]["text"] for r in brand.records()][0] == "We've sent you a DM."

        customer_chat(customer, chat_service, "POST", "chat.bsky.convo.sendMessage",
                      json={"convoId": convo.id, "message": {"text": "it's mo@example.test"}})
        assert await engine.sync_once(account) == 1  # our own DM came back in the log, already stored
        texts = [m.text for m in store.messages(done.dm_conversation_id)]
        assert texts == ["Could you send us the order's email address?", "it's mo@example.test"]
        assert store.conversation(done.dm_conversation_id).needs_reply
    finally:
        await connector.close()
        await front.stop()
        store.close()
