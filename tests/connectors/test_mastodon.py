"""The Mastodon connector against documented API payloads served by respx."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import httpx
import pytest
import respx

from agentconsole.domain.clock import FrozenClock
from email.utils import format_datetime

from agentconsole.domain.errors import AuthError, PermanentError, RateLimited, TemporaryError
from connectors import shape
from connectors.http import MalformedResponse, ResponseTooLarge, retry_after
from agentconsole.domain.models import Direction, Kind, OutboundRequest
from connectors.mastodon import connector as mastodon
from connectors.mastodon.html import html_to_text, status_text
from connectors.mastodon.client import link_params
from tests.connectors.mastodon_payloads import (CUSTOMER, INSTANCE, OWN, REMOTE, conversation, corpus, instance,
                               mention_of, notification, status)

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=timezone.utc).timestamp()


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat().replace("+00:00", "Z")


@pytest.fixture
def clock():
    return FrozenClock(NOW)


@pytest.fixture
def api():
    with respx.mock(base_url=INSTANCE, assert_all_called=False) as router:
        router.get("/api/v1/accounts/verify_credentials", name="me").respond(json=OWN)
        router.get("/api/v2/instance", name="instance").respond(json=instance(1000))
        router.get("/api/v1/conversations", name="conversations").respond(json=[])
        router.get("/api/v1/notifications/requests", name="requests").respond(json=[])
        yield router


@pytest.fixture
async def conn(clock):
    connector = mastodon.MastodonConnector(INSTANCE, "secret-token", clock, page_limit=2, max_pages=3)
    yield connector
    await connector.close()


def notifications_by_min_id(api, pages: dict[str | None, tuple[list, str | None]]):
    """Serve /api/v1/notifications by its min_id, with a Link header naming the next newer page."""
    def handler(request: httpx.Request) -> httpx.Response:
        params = request.url.params
        assert params.get_list("types[]") == ["mention", "update"]
        assert params.get("include_filtered") == "true"
        body, prev = pages[params.get("min_id")]
        headers = {"Link": f'<{INSTANCE}/api/v1/notifications?min_id={prev}>; rel="prev"'} if prev else {}
        return httpx.Response(200, json=body, headers=headers)
    return api.get("/api/v1/notifications", name="notifications").mock(side_effect=handler)


def mention(n: int, author=CUSTOMER, **kw) -> dict:
    return notification(str(n), status(str(1000 + n), author, f"message {n}", **kw))


# ---------------------------------------------------------------------------------- receiving

async def test_first_sync_reads_the_documented_notifications(api, conn):
    api.get("/api/v1/notifications").respond(json=corpus("GET_api_v1_notifications.200.json"))
    parent = status("103186038209478945", OWN, "our announcement", mentions=[])
    api.get("/api/v1/statuses/103186126728896492/context").respond(
        json={"ancestors": [parent], "descendants": []})
    result = await conn.fetch(None)
    assert [m.external_id for m in result.messages] == ["103186126728896492"]  # the favourite is skipped
    msg = result.messages[0]
    assert msg.kind == Kind.PUBLIC and msg.direction == Direction.IN
    assert msg.text == "@trwnh@mastodon.social sup!"
    assert msg.author.handle == "@zsc@mastodon.social" and msg.author.external_id == "971724"
    assert msg.thread_key == "103186038209478945" and msg.in_reply_to == "103186038209478945"
    # The raw payload is the notification exactly as the server sent it, not a re-serialisation.
    assert json.loads(msg.raw)["status"]["id"] == "103186126728896492"
    [page] = [c.response.content for c in api.calls if c.request.url.path == "/api/v1/notifications"]
    assert msg.raw in page
    assert json.loads(result.cursor)["min_id"] == "34975861"
    assert result.more is False


async def test_pages_forward_from_the_newest_id_read(api, conn):
    route = notifications_by_min_id(api, {
        "100": ([mention(102), mention(101)], "102"),
        "102": ([mention(104), mention(103)], "104"),
        "104": ([mention(105)], "105"),
    })
    result = await conn.fetch(json.dumps({"min_id": "100"}))
    assert [m.external_id for m in result.messages] == ["1101", "1102", "1103", "1104", "1105"]
    assert [c.request.url.params["min_id"] for c in route.calls] == ["100", "102", "104"]
    assert json.loads(result.cursor)["min_id"] == "105" and result.more is False


async def test_a_long_backlog_comes_in_batches_with_more_set(api, clock):
    pages = {str(100 + 2 * i): ([mention(102 + 2 * i), mention(101 + 2 * i)], str(102 + 2 * i))
             for i in range(4)}
    pages["108"] = ([], None)
    notifications_by_min_id(api, pages)
    connector = mastodon.MastodonConnector(INSTANCE, "t", clock, page_limit=2, max_pages=2)
    first = await connector.fetch(json.dumps({"min_id": "100"}))
    assert first.more is True and json.loads(first.cursor)["min_id"] == "104"
    second = await connector.fetch(first.cursor)
    assert [m.external_id for m in second.messages] == ["1105", "1106", "1107", "1108"]
    third = await connector.fetch(second.cursor)
    assert third.messages == [] and third.more is False
    assert json.loads(third.cursor)["min_id"] == "108"
    await connector.close()


async def test_mentions_held_back_by_the_notification_policy_are_marked(api, conn):
    stranger = REMOTE
    notifications_by_min_id(api, {"1": ([mention(3, stranger), mention(2)], "3"), "3": ([], None)})
    api.routes["requests"].respond(json=[{
        "id": "112456967201894256", "created_at": "2024-05-17T14:45:41.171Z",
        "updated_at": "2024-05-17T14:45:41.171Z", "notifications_count": "1", "account": stranger,
        "last_status": status("1003", stranger)}])
    result = await conn.fetch(json.dumps({"min_id": "1"}))
    by_id = {m.external_id: m for m in result.messages}
    assert by_id["1003"].extra["filtered"] is True and "filtered" in by_id["1003"].parse_note
    assert by_id["1003"].author.handle == "@haskal@cybre.space"
    assert "filtered" not in by_id["1002"].extra and by_id["1002"].parse_note == ""


async def test_servers_before_4_3_have_no_notification_requests(api, conn):
    notifications_by_min_id(api, {"1": ([mention(2)], None)})
    api.routes["requests"].respond(404, json={"error": "Record not found"})
    result = await conn.fetch(json.dumps({"min_id": "1"}))
    assert [m.external_id for m in result.messages] == ["1002"]


async def test_a_reply_chain_with_an_unknown_parent_asks_for_the_context_once(api, conn):
    root = status("500", OWN, "we are down for maintenance", mentions=[])
    middle = status("501", CUSTOMER, "still down?", in_reply_to_id="500")
    reply = status("502", CUSTOMER, "hello??", in_reply_to_id="501")
    later = status("503", CUSTOMER, "any news?", in_reply_to_id="502")
    notifications_by_min_id(api, {"1": ([notification("12", reply)], None),
                                  "12": ([notification("13", later)], None)})
    context = api.get("/api/v1/statuses/502/context").respond(
        json={"ancestors": [root, middle], "descendants": []})
    first = await conn.fetch(json.dumps({"min_id": "1"}))
    assert first.messages[0].thread_key == "500"
    second = await conn.fetch(first.cursor)
    assert second.messages[0].thread_key == "500"
    assert context.call_count == 1  # the cursor remembers the chain; no second context call
    fresh = mastodon.MastodonConnector(INSTANCE, "t", conn.clock)
    assert (await fresh.fetch(first.cursor)).messages[0].thread_key == "500"
    assert context.call_count == 1
    await fresh.close()


async def test_replies_within_one_batch_find_their_parent_without_the_network(api, conn):
    first = status("600", CUSTOMER, "my order is late")
    second = status("601", CUSTOMER, "order #4411", in_reply_to_id="600")
    notifications_by_min_id(api, {"1": ([notification("21", second), notification("20", first)], "21"),
                                  "21": ([], None)})
    result = await conn.fetch(json.dumps({"min_id": "1"}))
    assert [(m.external_id, m.thread_key) for m in result.messages] == [("600", "600"), ("601", "600")]


async def test_a_direct_conversation_is_one_dm_thread_including_what_we_sent_elsewhere(api, conn):
    theirs = status("700", CUSTOMER, "my card was charged twice", visibility="direct")
    ours = status("701", OWN, "sorry, refunding now", visibility="direct", in_reply_to_id="700",
                  mentions=[mention_of(CUSTOMER)], created_at="2019-11-23T08:00:00.000Z")
    notifications_by_min_id(api, {"1": ([notification("30", theirs)], None), "30": ([], None)})
    api.routes["conversations"].respond(json=[conversation("418450", [CUSTOMER], ours)])
    result = await conn.fetch(json.dumps({"min_id": "1"}))
    by_id = {m.external_id: m for m in result.messages}
    assert by_id["700"].kind == by_id["701"].kind == Kind.DM
    assert by_id["700"].thread_key == by_id["701"].thread_key == "dm:971724"
    assert by_id["700"].direction == Direction.IN and by_id["701"].direction == Direction.OUT
    assert by_id["701"].extra["conversation_id"] == "418450"
    again = await conn.fetch(result.cursor)  # the conversation has not moved on
    assert again.messages == []


async def test_html_with_script_style_and_escapes_becomes_safe_text(api, conn):
    evil = dict(CUSTOMER, display_name="Zed\x1b]8;;https://evil.example\x07click\x1b]8;;\x07\x1b[2J",
                acct="zsc\u202e", note="<p>bio<script>steal()</script></p>")
    content = ('<p><span class="h-card"><a href="https://mastodon.social/@trwnh" class="u-url mention">'
               '@<span>trwnh</span></a></span> hi &#27;[31mred&#27;[0m :blobcat: '
               '<a href="https://mastodon.social/tags/help" class="mention hashtag" rel="tag">#<span>help'
               '</span></a></p><script>alert(1)</script><style>p{color:red}</style>'
               '<p>see <a href="https://example.com/a/very/long/path" rel="nofollow noopener" target="_blank">'
               '<span class="invisible">https://</span><span class="ellipsis">example.com/a/very</span>'
               '<span class="invisible">/long/path</span></a><br>thanks &lt;b&gt;</p>')
    st = status("800", evil, content=content, spoiler_text="billing \x1b[1mrant")
    notifications_by_min_id(api, {"1": ([notification("40", st)], None)})
    msg = (await conn.fetch(json.dumps({"min_id": "1"}))).messages[0]
    assert msg.text.startswith("CW: billing rant\n\n@trwnh@mastodon.social hi")
    assert ":blobcat: #help" in msg.text and "https://example.com/a/very/long/path\nthanks <b>" in msg.text
    assert "alert" not in msg.text and "color" not in msg.text
    for value in (msg.text, msg.author.display_name, msg.author.handle, msg.author.bio):
        assert "\x1b" not in value and "\x07" not in value and "\u202e" not in value
    assert msg.author.display_name.startswith("Zed") and "steal" not in msg.author.bio


def test_html_conversion_details():
    assert html_to_text('<p>a</p><p>b<br/>c</p><ul><li>x</li><li>y</li></ul>') == "a\n\nb\nc\n\n- x\n- y"
    assert html_to_text('<img class="emoji" alt=":party:" src="x.png"> ok') == ":party: ok"
    assert html_to_text('<a href="https://x.example/p">the docs</a>') == "the docs (https://x.example/p)"
    assert html_to_text('<a href="https://other.host/@bob" class="u-url mention">@<span>bob</span></a>',
                        []) == "@bob@other.host"
    assert status_text({"content": "", "spoiler_text": "spoilers"}) == "CW: spoilers"


# ---------------------------------------------------------------------------------- limits and errors

async def test_check_reads_the_account_and_the_instance_length_limit(api, conn):
    assert conn.capabilities.max_length == 500
    description = await conn.check()
    assert "@trwnh@mastodon.social" in description and "1000 characters" in description
    assert conn.capabilities.max_length == 1000 and conn.capabilities.idempotent_send
    assert api.routes["me"].calls.last.request.headers["Authorization"] == "Bearer secret-token"


async def test_rate_limit_headers_stop_fetching_before_a_429(api, conn, clock):
    route = api.get("/api/v1/notifications", name="notifications").respond(json=[])
    api.routes["conversations"].respond(json=[], headers={
        "X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "3", "X-RateLimit-Reset": iso(NOW + 120)})
    await conn.fetch(json.dumps({"min_id": "1"}))
    with pytest.raises(RateLimited) as caught:
        await conn.fetch(json.dumps({"min_id": "1"}))
    assert caught.value.retry_after == pytest.approx(120, abs=1)
    assert route.call_count == 1  # refused without touching the network
    clock.advance(121)
    await conn.fetch(json.dumps({"min_id": "1"}))
    assert route.call_count == 2


async def test_the_reserve_left_by_fetches_still_lets_a_reply_out(api, conn):
    api.get("/api/v1/statuses/900").respond(json=status("900", CUSTOMER))
    posted = api.post("/api/v1/statuses").respond(
        json=status("901", OWN), headers={"X-RateLimit-Remaining": "2", "X-RateLimit-Reset": iso(NOW + 60)})
    await conn.send(OutboundRequest("k1", "reply", "on it", in_reply_to="900", thread_key="900"))
    await conn.send(OutboundRequest("k2", "reply", "done", in_reply_to="900", thread_key="900"))
    assert posted.call_count == 2
    with pytest.raises(RateLimited):
        await conn.fetch(None)


async def test_429_raises_rate_limited_until_the_reset(api, conn):
    api.get("/api/v1/notifications").respond(
        429, json={"error": "Too many requests"},
        headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": iso(NOW + 90)})
    with pytest.raises(RateLimited) as caught:
        await conn.fetch(None)
    assert caught.value.retry_after == pytest.approx(90, abs=1)


async def test_401_asks_to_reauthorise(api, conn):
    api.routes["me"].respond(401, json={"error": "The access token is invalid"})
    with pytest.raises(AuthError, match="^re-authorise: .*access token is invalid"):
        await conn.fetch(None)


async def test_server_errors_and_timeouts_are_temporary(api, conn):
    api.get("/api/v1/notifications").mock(side_effect=[
        httpx.Response(502, text="<html>Bad Gateway</html>"), httpx.ReadTimeout("slow")])
    with pytest.raises(TemporaryError, match="502"):
        await conn.fetch(None)
    with pytest.raises(TemporaryError, match="timed out"):
        await conn.fetch(None)


def test_link_headers_leaving_the_instance_are_ignored():
    header = '<https://evil.example/api/v1/notifications?min_id=9>; rel="prev"'
    assert link_params(header, "prev", INSTANCE) is None
    good = f'<{INSTANCE}/api/v1/notifications?max_id=3>; rel="next", <{INSTANCE}/x?min_id=9>; rel="prev"'
    assert link_params(good, "prev", INSTANCE) == {"min_id": "9"}
    assert link_params(good, "next", INSTANCE) == {"max_id": "3"}


# ---------------------------------------------------------------------------------- hostile servers

async def test_a_page_mixing_garbage_and_mentions_keeps_the_mentions_and_cursors_only_over_them(api, conn):
    api.get("/api/v1/notifications").respond(json=[
        {"id": "99999999999999999999", "type": "mention", "status": {"id": "99999999999999999999"}},
        mention(7), "not an object", {"id": ["a"], "type": "mention"}, mention(6)])
    result = await conn.fetch(json.dumps({"min_id": "5"}))
    assert [m.external_id for m in result.messages] == ["1006", "1007"]
    assert json.loads(result.cursor)["min_id"] == "7"


async def test_a_page_of_nothing_but_garbage_is_an_error_and_no_cursor(api, conn):
    api.get("/api/v1/notifications").respond(json=[{"id": "1"}, {"type": "mention"}, 3])
    with pytest.raises(MalformedResponse, match="none could be read"):
        await conn.fetch(json.dumps({"min_id": "5"}))
    api.get("/api/v1/notifications").respond(json={"error": "a dict, not a list"})
    with pytest.raises(MalformedResponse, match="expected a list"):
        await conn.fetch(json.dumps({"min_id": "5"}))


async def test_a_streamed_answer_over_the_cap_is_refused_while_reading(api, clock):
    async def endless():
        while True:
            yield b"[" + b" " * 65536

    api.get("/api/v1/notifications").mock(return_value=httpx.Response(200, content=endless()))
    connector = mastodon.MastodonConnector(INSTANCE, "t", clock)
    connector.api.http.max_bytes = 1_000_000
    try:
        with pytest.raises(ResponseTooLarge, match="more than 1,000,000 bytes"):
            await connector.fetch(None)
    finally:
        await connector.close()


async def test_answers_map_to_the_typed_errors(api, conn, clock):
    route = api.get("/api/v1/notifications")
    for code, error in ((403, AuthError), (404, PermanentError), (410, PermanentError), (502, TemporaryError)):
        route.respond(code, json={"error": "no"})
        with pytest.raises(error):
            await conn.fetch(None)
    retry_at = format_datetime(datetime.fromtimestamp(NOW + 300, tz=timezone.utc), usegmt=True)
    route.respond(429, headers={"Retry-After": retry_at})
    with pytest.raises(RateLimited) as raised:
        await conn.fetch(None)
    assert raised.value.retry_after == pytest.approx(300, abs=1)


def test_retry_after_reads_seconds_dates_and_nonsense():
    assert retry_after(httpx.Headers({"Retry-After": "42"}), NOW) == 42
    assert retry_after(httpx.Headers({"Retry-After": "soon"}), NOW) == 60
    assert retry_after(httpx.Headers({}), NOW, default=5) == 5


def test_shapes_refuse_what_the_connector_cannot_read():
    from connectors.mastodon.client import NOTIFICATION

    assert shape.valid(notification("1", status("2", CUSTOMER)), NOTIFICATION)
    for bad in ({"id": "1" * 41, "type": "mention"}, {"id": True, "type": "mention"}, {"id": -1, "type": "x"},
                {"id": "1", "type": "mention", "status": {"id": "2", "account": "nobody"}}):
        assert not shape.valid(bad, NOTIFICATION), bad


async def test_the_event_stream_drops_a_line_that_never_ends(api):
    from connectors.mastodon import stream

    async def endless():
        yield b"event: notification\ndata: "
        while True:
            yield b"x" * 65536

    api.get(stream.STREAM_PATH).mock(return_value=httpx.Response(200, content=endless()))
    woke: list[int] = []
    async with httpx.AsyncClient() as client:
        with pytest.raises(stream.StreamTooLong):
            await stream._listen(client, INSTANCE + stream.STREAM_PATH, lambda: woke.append(1))
    assert woke == []
