"""Bluesky DMs through the REAL local PDS's chat proxy (its service-auth tokens, its app-password check) to the
stand-in for the closed chat service (tests/connectors/bluesky_chat.py)."""

from __future__ import annotations

import time

import httpx
import pytest

from agentconsole.domain.clock import FrozenClock
from agentconsole.domain.errors import AuthError, PermanentError
from agentconsole.domain.models import Direction, Kind, OutboundRequest, Person
from connectors.bluesky.chat import PUBLIC_HINT
from connectors.bluesky.client import DM_INSTRUCTION, ChatNotAllowed
from tests.connectors.bluesky_chat import ChatStandIn, chat_service  # noqa: F401  (fixture)
from tests.connectors.bluesky_pds import PDS_URL, User, bluesky_pds, brand, customer, new_user  # noqa: F401
from tests.connectors.bluesky_appview import AppViewFront
from tests.connectors.test_bluesky_pds import connect as connect_pds


def customer_chat(user: User, chat: ChatStandIn, method: str, nsid: str, **kwargs) -> dict:
    """The customer's own chat call, through the same real PDS (their full session, not our code)."""
    headers = user.auth | {"atproto-proxy": f"{chat.did}#bsky_chat"}
    answer = httpx.request(method, f"{PDS_URL}/xrpc/{nsid}", headers=headers, timeout=10, **kwargs)
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(time.time())


@pytest.fixture
async def front():
    """The PDS behind a front that answers listNotifications (the PDS-only network has no AppView)."""
    made = await AppViewFront().start()
    yield made
    await made.stop()


@pytest.fixture
def connect(front):
    def make(user: User, password: str, clock, chat: ChatStandIn):
        return connect_pds(user, password, clock, chat, service=front.url, resolve=False)
    return make


async def test_availability_says_why_not_and_offers_the_public_hint(brand, customer, chat_service, clock, connect) -> None:
    bluesky = connect(brand, brand.app_password(privileged=True), clock, chat_service)
    person = Person(customer.did, "@" + customer.handle)
    refused = await bluesky.dm_availability(person)  # the default declaration: only accounts they follow
    assert not refused.can_dm and "only from accounts they follow" in refused.reason
    assert refused.public_hint == PUBLIC_HINT
    with pytest.raises(PermanentError, match="they accept DMs only from accounts they follow"):
        await bluesky.send(OutboundRequest("k1", "dm", "hello", recipient=person, kind=Kind.DM))
    customer.follow(brand)
    assert (await bluesky.dm_availability(person)).can_dm
    other = new_user("other")
    other.allow_incoming("all")
    assert (await bluesky.dm_availability(Person(other.did))).can_dm
    other.allow_incoming("none")
    assert not (await bluesky.dm_availability(Person(other.did))).can_dm
    await bluesky.close()


async def test_a_dm_goes_through_the_pds_with_its_service_token(brand, customer, chat_service, clock, connect) -> None:
    customer.allow_incoming("all")
    bluesky = connect(brand, brand.app_password(privileged=True), clock, chat_service)
    text = f"Hi @{customer.handle}, 🎉 we refunded order 4411"
    sent = await bluesky.send(OutboundRequest("k2", "dm", text, recipient=Person(customer.did), kind=Kind.DM,
                                              extra={"first_attempt_at": clock.now()}))
    convo_id = sent.thread_key.removeprefix("convo:")
    convo = chat_service.convos[convo_id]
    assert convo.messages[-1]["text"] == text and convo.messages[-1]["sender"] == {"did": brand.did}
    facet = convo.messages[-1]["facets"][0]
    assert facet["features"][0]["did"] == customer.did and facet["index"]["byteStart"] == 3
    nsid, caller, token = next(c for c in reversed(chat_service.calls) if c[0] == "chat.bsky.convo.sendMessage")
    assert caller == brand.did and token["aud"] == chat_service.did and token["lxm"] == nsid  # signed by the PDS
    found = await bluesky.find_sent(OutboundRequest("k2", "dm", text, recipient=Person(customer.did),
                                                    kind=Kind.DM, extra={"first_attempt_at": clock.now()}))
    assert found is not None and found.external_id == sent.external_id
    await bluesky.close()


async def test_a_message_request_is_fetched_and_accepted_when_we_answer(brand, customer, chat_service, clock,
                                                                         connect) -> None:
    brand.allow_incoming("all")
    convo = customer_chat(customer, chat_service, "GET", "chat.bsky.convo.getConvoForMembers",
                          params={"members": brand.did})["convo"]
    customer_chat(customer, chat_service, "POST", "chat.bsky.convo.sendMessage",
                  json={"convoId": convo["id"], "message": {"text": "I was charged twice"}})
    bluesky = connect(brand, brand.app_password(privileged=True), clock, chat_service)
    result = await bluesky.fetch(None)
    [dm] = [m for m in result.messages if m.kind == Kind.DM]
    assert dm.text == "I was charged twice" and dm.thread_key == f"convo:{convo['id']}"
    assert dm.direction == Direction.IN and dm.author.external_id == customer.did
    assert dm.author.handle == "@" + customer.handle
    assert chat_service.convos[convo["id"]].status[brand.did] == "request"  # we do not follow them

    await bluesky.send(OutboundRequest("k3", "reply", "Sorry! Refund on its way.", thread_key=dm.thread_key,
                                       in_reply_to=dm.external_id, kind=Kind.DM))
    assert chat_service.convos[convo["id"]].status[brand.did] == "accepted"
    mine = [c[0] for c in chat_service.calls if c[1] == brand.did]
    assert mine.index("chat.bsky.convo.acceptConvo") < mine.index("chat.bsky.convo.sendMessage")
    later = await bluesky.fetch(result.cursor)  # the log brings our own answer back, as ours
    assert [(m.text, m.direction) for m in later.messages] == [("Sorry! Refund on its way.", Direction.OUT)]
    await bluesky.close()


async def test_group_convos_are_their_own_threads(brand, customer, chat_service, clock, connect) -> None:
    customer.follow(brand)
    brand.follow(customer)
    bluesky = connect(brand, brand.app_password(privileged=True), clock, chat_service)
    direct = await bluesky.send(OutboundRequest("k4", "dm", "hello 1:1", recipient=Person(customer.did),
                                                kind=Kind.DM))
    cursor = (await bluesky.fetch(None)).cursor
    group = chat_service.group(customer.did, [brand.did, new_user("friend").did])
    chat_service.post(group, customer.did, "hi all, about the meetup")
    customer_chat(customer, chat_service, "POST", "chat.bsky.convo.sendMessage",
                  json={"convoId": direct.thread_key.removeprefix("convo:"), "message": {"text": "thanks!"}})
    fetched = {m.text: m for m in (await bluesky.fetch(cursor)).messages}
    assert fetched["thanks!"].thread_key == direct.thread_key and "group" not in fetched["thanks!"].extra
    grouped = fetched["hi all, about the meetup"]
    assert grouped.thread_key == f"convo:{group.id}" != direct.thread_key and grouped.extra["group"] is True
    await bluesky.close()


async def test_a_plain_app_password_gets_the_instruction_not_a_bare_error(brand, chat_service, clock, connect) -> None:
    bluesky = connect(brand, brand.app_password(privileged=False), clock, chat_service)
    with pytest.raises(ChatNotAllowed) as refused:
        await bluesky.fetch(None)
    assert isinstance(refused.value, AuthError) and str(refused.value) == DM_INSTRUCTION
    # The real PDS lets a plain app password ask getConvoAvailability, but not send or read messages.
    other = new_user("other")
    assert not (await bluesky.dm_availability(Person(other.did))).can_dm
    other.allow_incoming("all")
    with pytest.raises(ChatNotAllowed):
        await bluesky.send(OutboundRequest("k5", "dm", "hello", recipient=Person(other.did), kind=Kind.DM))
    await bluesky.close()
