"""The Graph client against Meta's documented answers: each error code a clear typed state, usage
headers as an early back-off, cursor paging that never follows a server's URL."""

from __future__ import annotations

import json

import httpx
import pytest

from agentconsole.domain.clock import FrozenClock
from agentconsole.domain.errors import AuthError, PermanentError, RateLimited, TemporaryError
from connectors.meta import graph as g
from connectors.meta.graph import Graph, PageRestricted, PersonUnavailable, WindowClosed
from tests.connectors.contract.harness_facebook import buc, payload

ERRORS = payload("errors.json")


def graph_with(handler, clock=None) -> Graph:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return Graph("https://graph.test/v26.0", "tok", clock or FrozenClock(1_764_061_200.0), client)


def answering(status: int, body, **headers):
    return lambda request: httpx.Response(status, json=body, headers=headers)


@pytest.mark.parametrize("name, send, error", [
    ("token", False, AuthError), ("token", True, AuthError),
    ("window", True, WindowClosed), ("restricted", True, PageRestricted), ("unavailable", True, PersonUnavailable),
    ("rate_4", False, RateLimited), ("rate_17", True, RateLimited), ("rate_32", False, RateLimited),
    ("rate_613", True, RateLimited), ("permission", False, AuthError), ("permission", True, PermanentError),
])
async def test_every_documented_error_is_its_own_state(name, send, error):
    api = graph_with(answering(400, ERRORS[name]))
    with pytest.raises(error) as raised:
        await api.request("POST" if send else "GET", "/x", send=send)
    if name == "token":
        assert "re-authorise" in str(raised.value) and "190" in str(raised.value)
    if name in ("window", "restricted", "unavailable"):
        assert isinstance(raised.value, PermanentError)  # permanent for this message: never retried
    if name == "restricted":
        assert "restricted" in str(raised.value)


async def test_a_rate_error_waits_as_long_as_meta_says():
    api = graph_with(answering(400, ERRORS["rate_32"], **{"X-Business-Use-Case-Usage": buc(100, 7)}))
    with pytest.raises(RateLimited) as raised:
        await api.request("GET", "/x")
    assert raised.value.retry_after == 420


async def test_polling_backs_off_at_75_percent_before_meta_stops_us():
    clock = FrozenClock(1_000.0)
    calls = []

    def handler(request):
        calls.append(request.url.path)
        return httpx.Response(200, json={"data": []}, headers={"X-App-Usage": json.dumps(
            {"call_count": 76, "total_time": 10, "total_cputime": 10})})

    api = graph_with(handler, clock)
    await api.request("GET", "/first")
    with pytest.raises(RateLimited) as raised:
        await api.request("GET", "/second")
    assert calls == ["/v26.0/first"] and raised.value.retry_after == g.USAGE_PAUSE
    await api.request("POST", "/reply", send=True)  # a reply still goes out between 75 and 95 %
    clock.advance(g.USAGE_PAUSE + 1)
    await api.request("GET", "/third")
    assert len(calls) == 3


def test_usage_reads_every_header_and_ignores_nonsense():
    headers = httpx.Headers({"X-Business-Use-Case-Usage": buc(80, 3), "X-App-Usage": "not json",
                             "X-Page-Usage": json.dumps({"call_count": "lots"})})
    assert g.usage(headers) == (80, 180.0)
    assert g.usage(httpx.Headers({})) == (0, 0.0)


async def test_5xx_and_transient_errors_are_temporary():
    with pytest.raises(TemporaryError):
        await graph_with(lambda r: httpx.Response(503, text="<html>down")).request("GET", "/x")
    with pytest.raises(TemporaryError):
        await graph_with(answering(500, {"error": {"message": "An unknown error occurred", "code": 1}})) \
            .request("GET", "/x")


async def test_paging_follows_the_after_cursor_but_never_the_servers_url():
    seen = []

    def handler(request):
        seen.append((request.url.host, request.url.params.get("after")))
        if request.url.params.get("after") == "CUR2":
            return httpx.Response(200, json={"data": [3], "paging": {"cursors": {"after": "CUR3"}}})
        return httpx.Response(200, json={"data": [1, 2], "paging": {
            "cursors": {"after": "CUR2"}, "next": "https://evil.example/steal?after=CUR2"}})

    pages = [items async for items, _ in graph_with(handler).pages("/p/conversations", {}, 5)]
    assert pages == [[1, 2], [3]]
    assert seen == [("graph.test", None), ("graph.test", "CUR2")]


def test_graph_times_parse_and_nonsense_does_not():
    assert g.parse_time("2025-11-25T08:00:00+0000") == 1_764_057_600.0
    assert g.parse_time("1e999") is None and g.parse_time("NaN") is None and g.parse_time(12) is None
