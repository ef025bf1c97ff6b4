"""Mastodon listening over recorded payloads (the documentation's Status entity, via respx): hashtag
timelines and status search, what is left out, each term's own cursor, errors, and no media fetched."""

from __future__ import annotations

import copy
import json

import pytest
import respx

from agentconsole.channels.contract import ListenTerms, Listens, Reply
from agentconsole.domain.clock import FrozenClock
from agentconsole.domain.errors import RateLimited, TemporaryError
from connectors.mastodon.connector import MastodonConnector
from tests.connectors.mastodon_payloads import CUSTOMER, INSTANCE, OWN, REMOTE, instance, status

NOW = 1_764_061_200.0
TAG = f"{INSTANCE}/api/v1/timelines/tag/junipermade"
SEARCH = f"{INSTANCE}/api/v2/search"
TERMS = ListenTerms(("Juniper & Co",), ("junipermade",))


def connector() -> MastodonConnector:
    return MastodonConnector(INSTANCE, "token", FrozenClock(NOW), own_id=OWN["id"])


def search_body(statuses: list[dict]) -> dict:
    return {"accounts": [], "statuses": statuses, "hashtags": []}


@pytest.fixture
def server():
    with respx.mock(assert_all_called=False) as router:  # an unmocked request (a media URL) fails the test
        router.get(f"{INSTANCE}/api/v2/instance").respond(json=instance(500))
        yield router


def with_media(st: dict) -> dict:
    st = copy.deepcopy(st)
    st["media_attachments"] = [{"id": "22345792", "type": "image", "url": f"{INSTANCE}/media/original.jpg",
                                "preview_url": f"{INSTANCE}/media/small.jpg", "description": "a mug"}]
    return st


async def test_hashtags_and_keywords_are_heard_without_mentions_boosts_or_our_own(server) -> None:
    tagged = with_media(status("103270115826048975", CUSTOMER, "rainy sunday #junipermade", mentions=[]))
    named = status("103270115826048976", REMOTE, "my mug from Juniper &amp; Co is lovely", mentions=[])
    to_us = status("103270115826048977", CUSTOMER, "Juniper &amp; Co #junipermade")  # mentions us: the inbox's
    ours = status("103270115826048978", OWN, "we are Juniper &amp; Co", mentions=[])
    boost = status("103270115826048979", REMOTE, "", mentions=[]) | {"reblog": named}
    private = status("103270115826048980", CUSTOMER, "Juniper &amp; Co", mentions=[], visibility="private")
    tag_route = server.get(TAG).respond(json=[to_us, tagged])
    search_route = server.get(SEARCH).respond(json=search_body([private, boost, ours, named, to_us]))
    c = connector()
    assert isinstance(c, Listens)
    result = await c.listen(TERMS, None)
    assert [p.message.external_id for p in result.posts] == [tagged["id"], named["id"]]  # oldest first
    heard_tag, heard_name = result.posts
    assert heard_tag.matched == "#junipermade" and heard_name.matched == "Juniper & Co"
    assert heard_name.message.author.handle == "@haskal@cybre.space"
    assert heard_name.reply == Reply.REPLY and heard_name.url == named["url"]
    assert heard_name.message.text == "my mug from Juniper & Co is lovely"
    assert dict(tag_route.calls.last.request.url.params) == {"limit": "20"}  # a new term: its newest page
    params = dict(search_route.calls.last.request.url.params)
    assert params == {"q": "Juniper & Co", "type": "statuses", "resolve": "false", "limit": "20"}
    assert json.loads(result.cursor) == {"#junipermade": to_us["id"], "q:juniper & co": private["id"]}  # newest read
    requested = {str(call.request.url.copy_with(query=None)) for call in server.calls}
    assert requested == {TAG, SEARCH, f"{INSTANCE}/api/v2/instance"}  # never the media


async def test_each_term_pages_forward_from_its_own_newest_id(server) -> None:
    tag_route = server.get(TAG).respond(json=[])
    search_route = server.get(SEARCH).respond(json=search_body([]))
    cursor = json.dumps({"#junipermade": "103270115826048975", "q:juniper & co": "103270115826048990"})
    result = await connector().listen(TERMS, cursor)
    assert result.posts == []
    assert tag_route.calls.last.request.url.params["min_id"] == "103270115826048975"
    assert search_route.calls.last.request.url.params["min_id"] == "103270115826048990"
    assert search_route.calls.last.request.url.params["limit"] == "40"
    assert json.loads(result.cursor) == json.loads(cursor)  # nothing new: the positions stay


async def test_a_term_added_later_starts_at_its_own_newest_page(server) -> None:
    tag_route = server.get(f"{INSTANCE}/api/v1/timelines/tag/newtag").respond(json=[])
    cursor = json.dumps({"#junipermade": "103270115826048975"})
    await connector().listen(ListenTerms((), ("newtag",)), cursor)
    assert "min_id" not in tag_route.calls.last.request.url.params


async def test_the_platform_answers_map_to_the_typed_errors(server) -> None:
    server.get(TAG).respond(429, json={"error": "Too many requests"}, headers={"Retry-After": "120"})
    with pytest.raises(RateLimited):
        await connector().listen(ListenTerms((), ("junipermade",)), None)
    server.get(SEARCH).respond(200, json={"statuses": "not a list"})
    with pytest.raises(TemporaryError):
        await connector().listen(ListenTerms(("Juniper",), ()), None)
