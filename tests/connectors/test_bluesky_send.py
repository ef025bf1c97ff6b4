"""How a Bluesky send ends when the server says little (HTTP served by respx): budgets, lost answers, expired tokens."""

from __future__ import annotations

import httpx
import pytest
import respx

from agentconsole.domain.errors import NotSent, OutcomeUnknown, RateLimited
from agentconsole.domain.models import OutboundRequest
from tests.connectors.test_bluesky_inbox import NOW, PDS, connector, jwt, pds  # noqa: F401  (fixture)

CREATE = f"{PDS}/xrpc/com.atproto.repo.createRecord"
POST = OutboundRequest("k", "post", "We are open until 18:00 today")
CREATED = {"uri": "at://did:plc:brandbrandbrandbrandbran/app.bsky.feed.post/3lbnewpost002",
           "cid": "bafyreinew0000000000000000000000000000000000000000000000000"}


async def test_a_spent_write_budget_stops_the_send_before_it_leaves(pds) -> None:
    route = pds.post(CREATE).respond(json=CREATED, headers={
        "RateLimit-Limit": "5000", "RateLimit-Remaining": "2", "RateLimit-Reset": str(int(NOW + 600)),
        "RateLimit-Policy": "5000;w=3600"})
    bluesky = connector()
    assert (await bluesky.send(POST)).external_id == CREATED["uri"]
    with pytest.raises(RateLimited) as limited:  # 2 points left, a post costs 3
        await bluesky.send(POST)
    assert limited.value.retry_after == pytest.approx(600) and route.call_count == 1


async def test_a_post_that_never_left_is_not_sent_and_one_without_an_answer_is_unknown(pds) -> None:
    route = pds.post(CREATE).mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(NotSent):
        await connector().send(POST)
    route.mock(side_effect=httpx.ReadError("connection reset"))
    with pytest.raises(OutcomeUnknown):
        await connector().send(POST)
    route.mock(side_effect=None).respond(502, json={"error": "UpstreamFailure"})
    with pytest.raises(OutcomeUnknown):
        await connector().send(POST)


async def test_an_expired_token_is_refreshed_once_and_the_call_retried(pds) -> None:
    fresh = jwt(NOW + 7200) + "x"
    refresh = pds.post(f"{PDS}/xrpc/com.atproto.server.refreshSession").respond(json={
        "accessJwt": fresh, "refreshJwt": jwt(NOW + 86400), "did": "did:plc:brandbrandbrandbrandbran"})
    route = pds.post(CREATE).mock(side_effect=[
        respx.MockResponse(400, json={"error": "ExpiredToken", "message": "Token has expired"}),
        respx.MockResponse(200, json=CREATED)])
    assert (await connector().send(POST)).external_id == CREATED["uri"]
    assert refresh.call_count == 1 and route.calls.last.request.headers["Authorization"] == f"Bearer {fresh}"
