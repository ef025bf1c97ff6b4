"""The X connector's sending side: replies, DMs and posts with their prices, the 403 reply restriction
as a DM offer or a "please DM us", dm_availability from receives_your_dm, and find_sent."""

from __future__ import annotations

import json

import pytest

from agentconsole.channels.contract import ChecksDmAvailability
from agentconsole.domain.errors import OutcomeUnknown, PermanentError
from agentconsole.domain.models import Kind, OutboundRequest, Person
from connectors.x.api import ReplyRestricted
from connectors.x.connector import XConnector
from tests.connectors.contract.harness_x import XHarness
from tests.connectors.x_fake import BRAND, DANA, PARENT_ID, SAM, UNSUMMONED_ID, fixture

DANA_P = Person(DANA["id"], "@dana_k", "Dana Kim")
SAM_P = Person(SAM["id"], "@samortiz", "Sam Ortiz")


@pytest.fixture
async def harness(tmp_path, monkeypatch):
    made = XHarness(tmp_path, monkeypatch)
    await made.start()
    yield made
    await made.stop()


@pytest.fixture
async def x(harness):
    connector = harness.build()
    yield connector
    await connector.close()


def posted(harness) -> list[dict]:
    return [json.loads(r.body) for r in harness.x.server.requests if r.method == "POST" and r.path != "/2/oauth2/token"]


async def test_a_reply_answers_the_post_and_costs_a_summoned_reply(harness, x: XConnector) -> None:
    result = await x.send(OutboundRequest("k", "reply", "So sorry, it ships today", thread_key=PARENT_ID,
                                          in_reply_to=PARENT_ID, recipient=DANA_P))
    assert posted(harness) == [{"text": "So sorry, it ships today", "reply": {"in_reply_to_tweet_id": PARENT_ID}}]
    assert result.external_id == harness.x.posts[0]["id"] and result.thread_key == PARENT_ID
    assert x.spent_today() == pytest.approx(0.010)


async def test_a_status_post_with_a_link_is_priced_and_warned(harness, x: XConnector) -> None:
    assert x.send_warning("Back at 9 tomorrow", "post") == ""
    warning = x.send_warning("Hours: https://juniper.example/hours", "post")
    assert "$0.200" in warning
    await x.send(OutboundRequest("k1", "post", "Alice is on shift until 17:00"))
    assert x.spent_today() == pytest.approx(0.015)
    await x.send(OutboundRequest("k2", "post", "Hours: https://juniper.example/hours"))
    assert x.spent_today() == pytest.approx(0.215)
    assert posted(harness)[-1] == {"text": "Hours: https://juniper.example/hours"}


async def test_a_dm_goes_to_the_participant(harness, x: XConnector) -> None:
    result = await x.send(OutboundRequest("k", "dm", "Could you send your order number?", recipient=DANA_P,
                                          kind=Kind.DM))
    assert harness.x.server.requests[-1].path == f"/2/dm_conversations/with/{DANA['id']}/messages"
    assert result.external_id == harness.x.created_dms[0]["id"]
    assert result.thread_key == f"dm:{DANA['id']}-{BRAND['id']}" and x.spent_today() == pytest.approx(0.015)
    # An answer in that DM thread goes to the other participant named by the thread.
    await x.send(OutboundRequest("k2", "reply", "Thanks!", thread_key=result.thread_key, kind=Kind.DM))
    assert harness.x.server.requests[-1].path == f"/2/dm_conversations/with/{DANA['id']}/messages"


async def test_the_reply_restriction_offers_a_dm_when_they_accept_ours(harness, x: XConnector) -> None:
    await x.fetch(None)  # nothing yet: the availability comes from a user read below
    with pytest.raises(ReplyRestricted) as raised:
        await x.send(OutboundRequest("k", "reply", "Hi!", in_reply_to=UNSUMMONED_ID, recipient=DANA_P))
    message = str(raised.value)
    assert "You can only reply to or quote posts where you are mentioned" in message
    assert "answer by DM instead" in message
    assert isinstance(raised.value, PermanentError)  # never retried


async def test_the_reply_restriction_suggests_please_dm_us_when_they_refuse_dms(harness, x: XConnector) -> None:
    with pytest.raises(ReplyRestricted) as raised:
        await x.send(OutboundRequest("k", "reply", "Hi!", in_reply_to=UNSUMMONED_ID, recipient=SAM_P))
    assert "do not accept DMs from @JuniperCoShop" in str(raised.value)
    assert "Could you send us a DM?" in str(raised.value)


async def test_dm_availability_comes_from_receives_your_dm(harness, x: XConnector) -> None:
    assert isinstance(x, ChecksDmAvailability)
    page = fixture("mentions.json")
    harness.x.mentions.extend(reversed(page["data"]))
    await x.fetch(None)
    reads = len(harness.x.server.requests)
    dana = await x.dm_availability(DANA_P)
    sam = await x.dm_availability(SAM_P)
    assert dana.can_dm and not sam.can_dm
    assert len(harness.x.server.requests) == reads  # both known from the mention's author expansion
    assert "do not accept DMs" in sam.reason and "DM" in sam.public_hint
    stranger = Person("1480000000000000077", "@new")
    harness.x.users[stranger.external_id] = {"id": stranger.external_id, "username": "new", "name": "New",
                                             "receives_your_dm": True}
    assert (await x.dm_availability(stranger)).can_dm
    assert harness.x.server.requests[-1].path == f"/2/users/{stranger.external_id}"


async def test_find_sent_finds_a_post_whose_answer_was_lost(harness, x: XConnector) -> None:
    request = OutboundRequest("k", "reply", "On its way: https://juniper.example/t/1", thread_key=PARENT_ID,
                              in_reply_to=PARENT_ID, recipient=DANA_P)
    harness.x.send_fault = "drop"
    with pytest.raises(OutcomeUnknown):
        await x.send(request)
    harness.x.posts[0]["text"] = "On its way: https://t.co/abc123"  # X shortens links
    since = harness.clock.now() - 5
    found = await x.find_sent(_with_since(request, since))
    assert found is not None and found.external_id == harness.x.posts[0]["id"]
    other = _with_since(OutboundRequest("k2", "reply", "another text", in_reply_to=PARENT_ID), since)
    assert await x.find_sent(other) is None


async def test_find_sent_finds_a_dm(harness, x: XConnector) -> None:
    request = OutboundRequest("k", "dm", "Your refund is on its way", recipient=DANA_P, kind=Kind.DM)
    await x.send(request)
    found = await x.find_sent(_with_since(request, harness.clock.now() - 5))
    assert found is not None and found.external_id == harness.x.created_dms[0]["id"]


def _with_since(request: OutboundRequest, since: float) -> OutboundRequest:
    from dataclasses import replace

    return replace(request, extra={**request.extra, "first_attempt_at": since})


async def test_dm_availability_refuses_what_is_not_an_x_user_id(harness, x: XConnector) -> None:
    with pytest.raises(PermanentError, match="not an X user id"):
        await x.dm_availability(Person("../../2/tweets?x=", "@odd"))
    assert harness.x.server.requests == []
