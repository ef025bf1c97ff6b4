"""The Facebook plug-in over documented payloads and the fake Graph: Messenger and comments in, the
private reply exactly once (even across a crash), the messaging window when replying, hostile text inert."""

from __future__ import annotations

import json

import httpx
import pytest

from agentconsole.domain.clock import FrozenClock
from agentconsole.domain.models import Channel, Kind
from agentconsole.replies import escalation, guard, reach
from agentconsole.replies.outbox import CLAIM_LEASE_SECONDS, Outbox
from agentconsole.replies.reach import DAY, HOUR, ReachState
from agentconsole.storage.store import Store
from agentconsole.sync.engine import Engine
from connectors.meta import build_connector
from tests.connectors.contract.harness_facebook import (CUSTOMER, PAGE, PSID, FacebookHarness, payload)

DM = escalation.Capabilities(direct_message=True, public_post=True)


class Crash(BaseException):
    """The process dies here: nothing may catch it and carry on."""


def mocked(routes: dict, clock, instagram=False, calls=None):
    def handler(request: httpx.Request) -> httpx.Response:
        if calls is not None:
            calls.append(request)
        for suffix, body in routes.items():
            if request.url.path.endswith(suffix):
                return httpx.Response(200, json=body(request) if callable(body) else body)
        return httpx.Response(400, json={"error": {"message": "Unsupported", "code": 100}})

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    own = "17841400000000001" if instagram else PAGE["id"]
    return build_connector(instagram, {"account_id": own, "graph_url": "https://graph.test"}, "tok", clock,
                           own_id=None, client=client)


async def test_documented_conversations_and_comments_become_messages():
    clock = FrozenClock(1_764_061_200.0)
    connector = mocked({"/conversations": payload("conversations.json"), "/feed": payload("feed.json")}, clock)
    result = await connector.fetch(None)
    by_id = {m.external_id: m for m in result.messages}
    dms = [m for m in result.messages if m.kind == Kind.DM]
    assert {m.thread_key for m in dms} == {"dm:7101234567890123"}
    assert any(m.text == "Is the store open on Sunday?" for m in dms)
    assert any("[attachment: image/jpeg image-4412.jpg]" in m.text for m in dms)  # labelled, never fetched
    assert "page-scoped id" in dms[0].author.bio
    top = by_id["1234567890123456_998877665544332"]
    assert top.kind == Kind.PUBLIC and top.thread_key == top.external_id and top.subject.startswith("New sourdough")
    ours, again = by_id["1234567890123456_998877665544400"], by_id["1234567890123456_998877665544401"]
    assert ours.direction == "out" and again.direction == "in" and again.in_reply_to == top.external_id
    assert [m.sent_at for m in result.messages] == sorted(m.sent_at for m in result.messages)
    # The same answers again bring nothing: the cursor covers them.
    assert (await connector.fetch(result.cursor)).messages == []


async def test_conversations_are_walked_back_to_the_high_water_mark_and_no_further():
    clock = FrozenClock(1_764_061_200.0)
    pages = {
        None: ["2025-11-25T08:00:20+0000"],
        "P2": ["2025-11-25T08:00:10+0000", "2025-11-25T07:59:55+0000"],
        "P3": ["2025-11-25T07:00:00+0000"],
    }
    nxt = {None: "P2", "P2": "P3"}
    calls: list = []

    def conversations(request):
        after = request.url.params.get("after")
        data = [{"id": f"t_{t}", "updated_time": t, "participants": {"data": [{"id": "555"}, PAGE]},
                 "messages": {"data": [{"id": f"m_{t[11:19].replace(':', '')}", "message": "hi",
                                        "from": {"id": "555", "name": "C"}, "created_time": t}]}}
                for t in pages[after]]
        paging = {"cursors": {"after": nxt[after]}, "next": "https://x/next"} if after in nxt else {}
        return {"data": data, "paging": paging}

    connector = mocked({"/conversations": conversations, "/feed": {"data": []}}, clock, calls=calls)
    mark = json.dumps({"dm": {"at": 1_764_057_600.0, "ids": []}, "cm": {}})  # 08:00:00
    result = await connector.fetch(mark)
    assert sorted(m.external_id for m in result.messages) == ["m_080010", "m_080020"]
    afters = [c.url.params.get("after") for c in calls if c.url.path.endswith("/conversations")]
    assert afters == [None, "P2"]  # stopped at the mark: page 3 was never asked for


# ---------------------------------------------------------------- through the engine, on the fake Graph


@pytest.fixture
async def fb(tmp_path, monkeypatch):
    harness = FacebookHarness(tmp_path, monkeypatch)
    await harness.start()
    store = Store(tmp_path / "fb.db", harness.clock)
    row = harness.account()
    account = store.ensure_account(row.name, row.channel, row.connector, handle=row.handle, settings=row.settings)
    connectors = []

    def engine():
        connectors.append(harness.build())
        return Engine(store, {account: connectors[-1]}, clock=harness.clock)

    yield harness, store, account, engine
    for c in connectors:
        await c.close()
    store.close()
    await harness.stop()


def conversation(store, thread):
    return store.conn.execute("SELECT id FROM conversations WHERE thread_key = ?", (thread,)).fetchone()[0]


async def test_d_on_a_comment_is_one_private_reply_then_the_public_note_then_the_window(fb):
    harness, store, account, make = fb
    comment = harness.fake.add_comment(CUSTOMER, "my order never arrived", at=harness.clock.now() - 600)
    engine = make()
    await engine.sync_once(account)
    public = conversation(store, comment["id"])
    assert reach.for_conversation(store, public).state == ReachState.PRIVATE_REPLY
    esc = escalation.escalate(store, public, dm_text="Hi Dana, what's the order number?",
                              public_text="We've sent you a private message.", agent_id=None, capabilities=DM)
    await engine.dispatch_once()
    await engine.dispatch_once()
    sent = [m for m in harness.fake.messages if m["from"]["id"] == PAGE["id"]]
    assert [m["message"] for m in sent] == ["Hi Dana, what's the order number?"]
    assert comment["id"] in harness.fake.private_replied
    assert harness.fake.own_comments("We've sent you a private message.")  # only after the DM was accepted
    dm = store.conversation(esc.dm_conversation_id)
    assert store.conn.execute("SELECT thread_key FROM conversations WHERE id = ?", (dm.id,)).fetchone()[0] == f"dm:{PSID}"
    waiting = reach.for_conversation(store, dm.id)
    assert waiting.state == ReachState.WAITING and waiting.notice == "waiting for the customer to reply in Messenger"
    assert escalation.why_not(store, public, DM)  # a second private reply is never offered
    # The customer answers in Messenger: the thread opens, and our reply goes as a RESPONSE.
    harness.clock.advance(HOUR)
    harness.fake.add_message({"id": PSID, "name": "Dana Kim"}, "it's #4411", PSID)
    await engine.sync_once(account)
    assert reach.for_conversation(store, dm.id).state == ReachState.WINDOW
    outbox = Outbox(store)
    outbox.enqueue_reply(dm.id, "Thanks Dana, a new one is on its way.", agent_id=None)
    await engine.dispatch_once()
    assert harness.fake.messages[-1]["sent_with"] == "RESPONSE"
    # A day later only a person's own words go, tagged HUMAN_AGENT; canned text is stopped first.
    harness.clock.advance(DAY)
    outbox.enqueue_reply(dm.id, "Dana, did it arrive?", agent_id=None)
    await engine.dispatch_once()
    assert harness.fake.messages[-1]["sent_with"] == "MESSAGE_TAG"
    canned = outbox.enqueue_reply(dm.id, "Thanks for your patience!", agent_id=None, source="canned")
    await engine.dispatch_once()
    assert outbox.item(canned).state == "failed" and "never a canned" in outbox.item(canned).last_error
    harness.clock.advance(7 * DAY)
    closed = reach.for_conversation(store, dm.id)
    assert closed.state == ReachState.CLOSED
    assert guard.check("one more thing", Channel.FACEBOOK, Kind.DM, reach=closed).blocks


@pytest.mark.parametrize("fault", ["drop", "lost", "crash"])
async def test_a_private_reply_is_never_sent_twice(fb, fault):
    harness, store, account, make = fb
    comment = harness.fake.add_comment(CUSTOMER, "help!", at=harness.clock.now() - 600)
    engine = make()
    await engine.sync_once(account)
    esc = escalation.escalate(store, conversation(store, comment["id"]), dm_text="Hi Dana", public_text=None,
                              agent_id=None, capabilities=DM)
    outbox = Outbox(store)
    if fault == "crash":
        def crash(*args, **kwargs):
            raise Crash("killed after Meta accepted, before we recorded it")

        engine.outbox.mark_sent = crash
        with pytest.raises(Crash):
            await engine.dispatch_once()
        store.close()
        store = Store(harness.tmp_path / "fb.db", harness.clock)
        harness.clock.advance(CLAIM_LEASE_SECONDS + 1)
        engine = Engine(store, {account: harness.build()}, clock=harness.clock)
        await engine.reconcile()
        outbox = Outbox(store)
    else:
        harness.fake.send_fault = fault
        await engine.dispatch_once()
    for _ in range(4):
        harness.clock.advance(600)
        await engine.dispatch_once()
    delivered = [m for m in harness.fake.messages if m["from"]["id"] == PAGE["id"]]
    assert len(delivered) == 1
    assert outbox.item(esc.dm_item).state == "sent"
    store.close()


@pytest.mark.parametrize("refusal, said", [("window", "outside the messaging window"),
                                            ("restricted", "restricted this Page"),
                                            ("unavailable", "isn't available")])
async def test_metas_refusal_of_a_message_fails_it_without_a_retry(fb, refusal, said):
    harness, store, account, make = fb
    harness.fake.add_message({"id": "777", "name": "Customer"}, "hello?", "777", at=harness.clock.now() - HOUR)
    engine = make()
    await engine.sync_once(account)
    item = Outbox(store).enqueue_reply(conversation(store, "dm:777"), "Sorry for the wait", agent_id=None)
    harness.fake.send_fault = refusal
    posts = len([r for r in harness.fake.server.requests if r.method == "POST"])
    await engine.dispatch_once()
    harness.clock.advance(3600)
    await engine.dispatch_once()
    row = Outbox(store).item(item)
    assert row.state == "failed" and said in row.last_error
    assert len([r for r in harness.fake.server.requests if r.method == "POST"]) == posts + 1


async def test_hostile_names_and_texts_are_inert(fb):
    harness, store, account, make = fb
    harness.fake.add_comment({"id": "6000000000000001", "name": "\x1b]0;pwn\x07[bold red]Admin\x1b[2J"},
                             "click \x1b[31mhere\x1b[0m [link=https://evil]now[/link]")
    await make().sync_once(account)
    row = store.conn.execute("SELECT author_name, text FROM messages").fetchone()
    assert "\x1b" not in row[0] and "\x1b" not in row[1] and "\x07" not in row[0]
    assert "[link=https://evil]" in row[1]  # kept as plain text: never parsed as markup


async def test_the_check_names_missing_permissions(fb):
    harness, store, account, make = fb
    connector = make().connectors[account]
    described = await connector.check()
    assert "Corner Bakery" in described and "pages_manage_posts" in described


async def test_a_busy_conversation_is_read_past_its_twenty_nested_messages_back_to_the_mark():
    clock = FrozenClock(1_764_061_200.0)
    calls: list = []

    def stamp(minute: int) -> str:
        return f"2025-11-25T08:{minute:02d}:00+0000"

    def msg(minute: int) -> dict:
        return {"id": f"m_{minute:02d}", "message": f"message {minute}", "from": {"id": "555", "name": "C"},
                "created_time": stamp(minute)}

    def conversations(request):
        nested = {"data": [msg(m) for m in range(59, 39, -1)],
                  "paging": {"cursors": {"after": "OLDER"}, "next": "https://x/next"}}
        return {"data": [{"id": "t_1", "updated_time": stamp(59), "participants": {"data": [{"id": "555"}, PAGE]},
                          "messages": nested}]}

    def older(request):
        assert request.url.params["after"] == "OLDER"
        return {"data": [msg(m) for m in range(39, 0, -1)], "paging": {"cursors": {"after": "X"}, "next": "n"}}

    connector = mocked({"/conversations": conversations, "/t_1/messages": older, "/feed": {"data": []}}, clock,
                       calls=calls)
    mark = json.dumps({"dm": {"at": 1_764_058_800.0, "ids": ["m_20"]}, "cm": {}})  # read up to m_20 at 08:20
    result = await connector.fetch(mark)
    assert sorted(m.external_id for m in result.messages) == [f"m_{m:02d}" for m in range(21, 60)]
    assert len([c for c in calls if c.url.path.endswith("/t_1/messages")]) == 1  # stopped at the mark
