"""Bluesky listening: app.bsky.feed.searchPosts from a payload written after its lexicon (data/bluesky/
search_posts.json, via respx), and against the REAL local PDS, which proxies the call to an AppView the
PDS-only test network does not have (so it can only fail there, as a temporary error)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import respx

from agentconsole.channels.contract import ListenTerms, Listens, Reply
from agentconsole.domain.errors import TemporaryError
from connectors.bluesky.listen import search_query
from tests.connectors.bluesky_pds import bluesky_pds, brand  # noqa: F401  (fixtures)
from tests.connectors.test_bluesky_inbox import PDS, connector, jwt, NOW
from tests.connectors.test_bluesky_pds import connect

SEARCH = f"{PDS}/xrpc/app.bsky.feed.searchPosts"
DATA = json.loads((Path(__file__).parent / "data" / "bluesky" / "search_posts.json").read_text("utf-8"))
TERMS = ListenTerms(("Juniper & Co",), ("junipermade",))


@pytest.fixture
def pds():
    from connectors.bluesky.client import forget_sessions

    forget_sessions()
    with respx.mock(assert_all_called=False) as router:  # an unmocked request (an image blob) fails the test
        router.post(f"{PDS}/xrpc/com.atproto.server.createSession").respond(json={
            "accessJwt": jwt(NOW + 7200), "refreshJwt": jwt(NOW + 86400), "did": DATA["brand"],
            "handle": "shop.bsky.social"})
        yield router


def by_q(request) -> respx.MockResponse:
    q = request.url.params["q"].strip('"').lower()
    posts = [p for p in DATA["posts"] if q in p["record"]["text"].lower()]
    return respx.MockResponse(json={"posts": posts, "hitsTotal": len(posts)})


def test_the_query_is_a_hashtag_or_a_phrase() -> None:
    assert search_query("junipermade", True) == "#junipermade"
    assert search_query("Juniper & Co", False) == '"Juniper & Co"'
    assert search_query("juniper", False) == "juniper"


async def test_brand_talk_is_heard_but_not_our_posts_or_those_that_mention_us(pds) -> None:
    route = pds.get(SEARCH).mock(side_effect=by_q)
    c = connector()
    assert isinstance(c, Listens)
    result = await c.listen(TERMS, None)
    texts = {p.message.text: p for p in result.posts}
    assert set(texts) == {"rainy sunday with my new mug #junipermade",
                          "third week waiting on my apron from Juniper & Co, not impressed"}
    tagged = texts["rainy sunday with my new mug #junipermade"]
    complaint = texts["third week waiting on my apron from Juniper & Co, not impressed"]
    assert tagged.matched == "#junipermade" and complaint.matched == "Juniper & Co"
    assert all(p.reply == Reply.REPLY for p in result.posts)  # Bluesky lets us reply in the thread
    assert complaint.message.thread_key == "at://did:plc:ray2z5fvx3lmbt6ezkqwsbgb/app.bsky.feed.post/3lbroot00001"
    assert complaint.message.in_reply_to == complaint.message.thread_key
    assert tagged.url == "https://bsky.app/profile/did:plc:mo4kq3x7w2ylzrb5ocvhtjpa/post/3lbheard0002a"
    first = [dict(call.request.url.params) for call in route.calls]
    assert {p["q"] for p in first} == {"#junipermade", '"Juniper & Co"'}
    assert all(p["sort"] == "latest" and p["limit"] == "25" and "since" not in p for p in first)
    requested = {call.request.url.path for call in pds.calls}
    assert requested == {"/xrpc/com.atproto.server.createSession", "/xrpc/app.bsky.feed.searchPosts"}  # no blobs

    again = await c.listen(TERMS, result.cursor)
    assert again.posts == []  # "since" is inclusive: what was read at the mark is remembered, not heard twice
    later = [dict(call.request.url.params) for call in route.calls][2:]
    assert {p["since"] for p in later} == {"2025-11-25T08:10:01.000Z", "2025-11-25T08:20:01.000Z"}
    assert all(p["limit"] == "100" for p in later)


async def test_an_unreadable_page_is_a_temporary_error(pds) -> None:
    pds.get(SEARCH).respond(json={"posts": [{"uri": "nope"}, {"record": 1}]})
    with pytest.raises(TemporaryError):
        await connector().listen(TERMS, None)


async def test_the_real_pds_proxies_search_to_an_appview_it_does_not_have(brand) -> None:
    from agentconsole.domain.clock import FrozenClock

    c = connect(brand, brand.app_password(privileged=False), FrozenClock(NOW), dms=False)
    try:
        with pytest.raises(TemporaryError):
            await c.listen(TERMS, None)  # signed in for real; the PDS answers 502 UpstreamFailure
    finally:
        await c.close()
