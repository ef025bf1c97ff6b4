"""X listening against the documented recent-search payload (data/x/search_recent.json, checked against X's
OpenAPI): one query for all terms, what is left to the mentions, the price of every read, the cursor,
and what the agent may do instead of a refused reply (like, quote)."""

from __future__ import annotations

import json

import pytest

from agentconsole.channels.contract import LikesPosts, ListenTerms, Listens, Reply
from agentconsole.domain.errors import PermanentError, RateLimited
from agentconsole.domain.models import OutboundRequest
from connectors.x.listen import query
from tests.connectors.contract.fakeserver import Reply as Answer
from tests.connectors.contract.harness_x import XHarness
from tests.connectors.x_fake import BRAND, SAM, fixture, mention

TERMS = ListenTerms(("Juniper & Co",), ("junipermade",))
SEARCH = "/2/tweets/search/recent"


@pytest.fixture
async def harness(tmp_path, monkeypatch):
    made = XHarness(tmp_path, monkeypatch)
    await made.start()
    page = fixture("search_recent.json")
    made.x.searchable.extend(reversed(page["data"]))  # the fake keeps them oldest first
    for user in page["includes"]["users"]:
        made.x.users[user["id"]] = user
    yield made
    await made.stop()


@pytest.fixture
async def x(harness):
    connector = harness.build()
    yield connector
    await connector.close()


def test_one_query_for_all_terms_without_retweets_our_posts_or_our_mentions() -> None:
    assert query(TERMS, "JuniperCoShop") == \
        '("Juniper & Co" OR #junipermade) -is:retweet -from:JuniperCoShop -@JuniperCoShop'
    assert query(ListenTerms(("juniper",), ()), "") == "juniper -is:retweet"
    with pytest.raises(ValueError, match="512"):
        query(ListenTerms(tuple(f"a rather long brand keyword {i:02d}" for i in range(20)), ()), "JuniperCoShop")


async def test_brand_talk_is_heard_with_what_x_allows_and_priced(harness, x) -> None:
    assert isinstance(x, Listens) and isinstance(x, LikesPosts)
    # One that the query's -@ would not drop on X either (a reply to us is addressed, a mention mid-text is
    # the same): the connector still leaves it to the mentions by its entities.
    cc = mention("1996000000000000204", "thanks to Juniper & Co and @JuniperCoShop", author=SAM)
    cc["entities"] = {"mentions": [{"start": 27, "end": 41, "username": "JuniperCoShop", "id": BRAND["id"]}]}
    harness.x.searchable.append(cc)
    result = await x.listen(TERMS, None)
    by_id = {p.message.external_id: p for p in result.posts}
    assert set(by_id) == {"1996000000000000203", "1996000000000000202"}  # 201 and 204 @mention us
    sam, dana = by_id["1996000000000000203"], by_id["1996000000000000202"]
    assert sam.matched == "Juniper & Co" and dana.matched == "#junipermade"
    assert all(p.reply == Reply.REFUSED for p in result.posts)  # X refuses replies to posts that did not mention us
    assert (dana.receives_dm, sam.receives_dm) == (True, False)
    assert dana.url == "https://x.com/dana_k/status/1996000000000000202"
    assert dana.message.extra["summoned"] is False
    (asked,) = harness.x.searches
    assert asked["max_results"] == "10" and "since_id" not in asked  # a new query: its newest ten only
    assert "media" not in asked.get("expansions", "")  # media is never fetched, not even its URLs
    # Three posts read at $0.005 (the one left to the mentions is read and billed too), two authors at $0.010.
    assert x.spent_today() == pytest.approx(3 * 0.005 + 2 * 0.010)
    assert x.ledger.counts == {"post_read": 3, "user_read": 2}
    state = json.loads(result.cursor)
    assert state["since"] == "1996000000000000204" and state["credits"]["spent"] == pytest.approx(0.035)
    await x.listen(TERMS, None)  # the same posts again the same UTC day: X bills a resource once a day
    assert x.spent_today() == pytest.approx(0.035)


async def test_the_next_round_reads_only_what_is_newer_and_a_new_query_starts_over(harness, x) -> None:
    first = await x.listen(TERMS, None)
    again = await x.listen(TERMS, first.cursor)
    assert again.posts == [] and harness.x.searches[-1]["since_id"] == "1996000000000000203"
    assert harness.x.searches[-1]["max_results"] == "100"
    harness.x.add_heard(2)
    later = await x.listen(TERMS, again.cursor)
    assert len(later.posts) == 2
    other = await x.listen(ListenTerms(("juniper",), ()), later.cursor)  # the terms changed: a new query
    assert "since_id" not in harness.x.searches[-1] and other.posts


async def test_a_rate_limited_search_says_when_to_try_again(harness, x) -> None:
    await harness.inject("rate_limit")
    with pytest.raises(RateLimited) as raised:
        await x.listen(TERMS, None)
    assert raised.value.retry_after == pytest.approx(120, abs=1)


async def test_a_quote_posts_our_text_quoting_the_heard_post(harness, x) -> None:
    request = OutboundRequest("k1", "post", "Thank you, Sam! We're on it.", extra={"quote_of": "1996000000000000203"})
    await x.send(request)
    (posted,) = [r for r in harness.x.server.requests if r.method == "POST" and r.path == "/2/tweets"]
    assert json.loads(posted.body) == {"text": "Thank you, Sam! We're on it.", "quote_tweet_id": "1996000000000000203"}
    assert x.ledger.counts["post"] == 1


async def test_a_like_is_sent_once_priced_and_a_missing_scope_says_what_to_do(harness, x) -> None:
    await x.like("1996000000000000203")
    assert harness.x.likes == ["1996000000000000203"]
    (liked,) = [r for r in harness.x.server.requests if r.path == f"/2/users/{BRAND['id']}/likes"]
    assert json.loads(liked.body) == {"tweet_id": "1996000000000000203"}
    assert x.ledger.counts["like"] == 1
    harness.x.like = lambda request: Answer.json(
        {"title": "Forbidden", "detail": "You are not permitted to perform this action.", "status": 403}, 403)
    with pytest.raises(PermanentError, match="like.write"):
        await x.like("1996000000000000202")
    with pytest.raises(PermanentError, match="not an X post id"):
        await x.like("not-an-id")
