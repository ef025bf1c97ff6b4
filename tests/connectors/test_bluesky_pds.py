"""The Bluesky connector against the REAL local PDS (.ci/services/bluesky.sh): sign-in, account test, posting."""

from __future__ import annotations

import time

import httpx
import pytest

from agentconsole.domain.clock import FrozenClock
from agentconsole.domain.errors import AuthError, PermanentError, RateLimited
from agentconsole.domain.models import Kind, OutboundRequest, Person
from agentconsole.replies.lengths import measure
from connectors.bluesky.client import DM_INSTRUCTION, Xrpc
from connectors.bluesky.connector import BlueskyConnector
from connectors.bluesky.setup import BlueskySetup
from tests.connectors.bluesky_appview import AppViewFront
from tests.connectors.bluesky_chat import ChatStandIn, chat_service  # noqa: F401  (fixture)
from tests.connectors.bluesky_pds import (PDS_URL, PLC_URL, User, bluesky_pds, brand, customer,  # noqa: F401
                                          new_user)


def connect(user: User, password: str, clock, chat: ChatStandIn | None = None, *, service: str = PDS_URL,
            resolve: bool = True, dms: bool = True) -> BlueskyConnector:
    xrpc = Xrpc(service, user.handle, password, clock, resolve_pds=resolve, plc=PLC_URL,
                chat_service=chat.did if chat else "did:web:api.bsky.chat")
    return BlueskyConnector(xrpc, clock, dms=dms)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(time.time())  # the PDS's tokens expire by the real clock


async def test_account_test_checks_posting_and_chat_apart(brand, chat_service, clock) -> None:
    full = connect(brand, brand.app_password(privileged=True), clock, chat_service)
    said = await full.check()
    assert said.startswith(f"@{brand.handle} on {PDS_URL}: posting ok; chat ok via {chat_service.did}#bsky_chat")
    assert "Allow new messages from: Everyone" in said  # no declaration yet: only followed accounts may DM
    brand.allow_incoming("all")
    assert "Everyone" not in await full.check()

    plain = connect(brand, brand.app_password(privileged=False), clock, chat_service)
    with pytest.raises(AuthError) as refused:
        await plain.check()  # the real PDS answers every chat call with InvalidToken "Bad token method"
    assert "posting ok, but chat FAILED" in str(refused.value) and DM_INSTRUCTION in str(refused.value)
    posts_only = connect(brand, brand.app_password(privileged=False), clock, chat_service, dms=False)
    assert (await posts_only.check()).endswith("posting ok; DMs off for this account")
    for connector in (full, plain, posts_only):
        await connector.close()


async def test_account_add_learns_the_did_and_the_pds(brand, chat_service, clock) -> None:
    setup = BlueskySetup()
    values = {"handle": brand.handle, "service": PDS_URL, "dms": True, "chat_service": chat_service.did,
              "plc": PLC_URL, "resolve_pds": True, "deadline": None}
    setup.validate(values)
    draft = await setup.complete("", values, brand.app_password(privileged=True), clock)
    assert draft.name == brand.handle and draft.handle == "@" + brand.handle
    assert draft.settings["did"] == brand.did and draft.settings["pds"] == PDS_URL
    with pytest.raises(AuthError, match="--no-dms"):
        await setup.complete("", values, brand.app_password(privileged=False), clock)
    with pytest.raises(AuthError, match="refused the sign-in"):
        await setup.complete("", values, "wrong-password", clock)


async def test_the_session_is_cached_refreshed_and_the_pds_read_from_the_did_document(brand, clock) -> None:
    front = await AppViewFront().start()  # a sign-in server that is not the PDS
    password = brand.app_password(privileged=False)
    try:
        first = connect(brand, password, clock, service=front.url, resolve=True, dms=False)
        await first.check()
        assert first.xrpc.pds == PDS_URL  # the DID document (from the real PLC) names the real PDS
        second = connect(brand, password, clock, service=front.url, resolve=True, dms=False)
        await second.check()
        calls = [r.path for r in front.server.requests]
        assert calls == ["/xrpc/com.atproto.server.createSession"]  # once, and nothing else went there
        pinned = connect(brand, password, clock, service=front.url, resolve=False, dms=False)
        await pinned.check()  # everything through the sign-in server now
        clock.advance(3 * 3600)  # past the access token's two hours: refreshed before the next call
        await pinned.check()
        calls = [r.path.removeprefix("/xrpc/") for r in front.server.requests]
        assert calls == ["com.atproto.server.createSession", "com.atproto.server.createSession",
                         "com.atproto.server.getSession", "com.atproto.server.refreshSession",
                         "com.atproto.server.getSession"]  # once, then good for another two hours
        await pinned.close()
    finally:
        await front.stop()


async def test_a_reply_has_root_and_parent_refs_and_facets_in_bytes(brand, customer, clock) -> None:
    connector = connect(brand, brand.app_password(privileged=False), clock, dms=False)
    root = customer.mention(brand, "my order 4411 never came")
    follow_up = customer.post("hello?? still nothing", reply_to={"uri": root["uri"], "cid": root["cid"]})
    text = f"🎉 注文 @{customer.handle} sorry! Tracking: https://shop.example/t/4411."
    sent = await connector.send(OutboundRequest("k1", "reply", text, in_reply_to=follow_up["uri"],
                                                recipient=Person(customer.did), kind=Kind.PUBLIC))
    [record] = [r for r in brand.records() if r["uri"] == sent.external_id]
    value = record["value"]
    assert value["reply"]["root"] == {"uri": root["uri"], "cid": root["cid"]}
    assert value["reply"]["parent"] == {"uri": follow_up["uri"], "cid": follow_up["cid"]}
    assert sent.thread_key == root["uri"]  # the thread is its root, as for the messages fetched
    data = text.encode()
    mention, link = value["facets"]
    assert mention["index"]["byteStart"] == len("🎉 注文 ".encode()) == 12
    assert data[mention["index"]["byteStart"]:mention["index"]["byteEnd"]] == f"@{customer.handle}".encode()
    assert mention["features"] == [{"$type": "app.bsky.richtext.facet#mention", "did": customer.did}]
    assert data[link["index"]["byteStart"]:link["index"]["byteEnd"]] == b"https://shop.example/t/4411"
    await connector.close()


async def test_status_posts_and_the_limits_the_real_pds_enforces(brand, clock) -> None:
    connector = connect(brand, brand.app_password(privileged=False), clock, dms=False)
    hello = await connector.send(OutboundRequest("k2", "post", "Alice is on shift until 17:00 👋"))
    assert hello.thread_key == hello.external_id
    assert "reply" not in next(r for r in brand.records() if r["uri"] == hello.external_id)["value"]
    fits, over = "a" * 300, "a" * 301
    assert measure(fits, "bluesky").over == 0 and measure(over, "bluesky").over == 1
    await connector.send(OutboundRequest("k3", "post", fits))
    with pytest.raises(PermanentError, match="grapheme"):  # the PDS agrees with the composer's count
        await connector.send(OutboundRequest("k4", "post", over))
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"
    assert measure(family * 121, "bluesky").over > 0  # 121 graphemes, 3,025 bytes
    with pytest.raises(PermanentError):
        await connector.send(OutboundRequest("k5", "post", family * 121))
    await connector.close()


async def test_find_sent_reads_our_own_repo_back(brand, customer, clock) -> None:
    connector = connect(brand, brand.app_password(privileged=False), clock, dms=False)
    parent = customer.mention(brand, "is the shop open on Sunday?")
    request = OutboundRequest("k6", "reply", "Yes, 10 to 4.", in_reply_to=parent["uri"],
                              extra={"first_attempt_at": clock.now()})
    sent = await connector.send(request)
    found = await connector.find_sent(request)
    assert found is not None and found.external_id == sent.external_id
    other = OutboundRequest("k7", "reply", "Yes, 10 to 5.", in_reply_to=parent["uri"],
                            extra={"first_attempt_at": clock.now()})
    assert await connector.find_sent(other) is None
    assert await connector.find_sent(OutboundRequest("k8", "post", "Yes, 10 to 4.",
                                                     extra={"first_attempt_at": clock.now()})) is None
    await connector.close()


async def test_the_real_rate_limit_headers_are_honoured(bluesky_pds, clock) -> None:
    user = new_user("limited")
    password = user.app_password(privileged=False)
    answers = []
    with httpx.Client(timeout=10) as client:  # spend the account's 30 sign-ins per 5 minutes
        for _ in range(40):
            answers.append(client.post(f"{PDS_URL}/xrpc/com.atproto.server.createSession",
                                       json={"identifier": user.handle, "password": password}))
            if answers[-1].status_code == 429:
                break
    assert answers[-1].status_code == 429, [a.status_code for a in answers]
    reset = float(answers[-1].headers["RateLimit-Reset"])
    connector = connect(user, password, clock, dms=False)
    with pytest.raises(RateLimited) as limited:
        await connector.check()
    assert limited.value.retry_after == pytest.approx(reset - clock.now(), abs=2)
    # The budget is remembered: the next attempt waits without asking the server again.
    with pytest.raises(RateLimited):
        connector.xrpc.limiter.before("com.atproto.server.createSession", 1)
    await connector.close()
