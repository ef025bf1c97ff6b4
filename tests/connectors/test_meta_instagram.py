"""The Instagram plug-in over documented payloads: DMs (a story mention opens the window), comments with
replies, the 1,000-byte DM limit, no text-only post, and the 60-day token refreshed weekly."""

from __future__ import annotations

import json

import httpx
import pytest

from agentconsole.domain.clock import FrozenClock
from agentconsole.domain.errors import AuthError, PermanentError
from agentconsole.domain.models import Kind, OutboundRequest
from agentconsole.replies import reach
from agentconsole.replies.reach import ReachState
from connectors.meta import build_connector
from connectors.meta.tokens import DAY, REFRESH_EVERY, TokenKeeper
from tests.connectors.contract.harness_facebook import payload

NOW = 1_764_061_200.0
OWN = "17841400000000001"


def connector(clock, handler, secret="tok", saved=None):
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return build_connector(True, {"account_id": OWN, "graph_url": "https://ig.test"}, secret, clock,
                           own_id=None, client=client, save=saved.append if saved is not None else None)


def documented(request: httpx.Request) -> httpx.Response:
    if request.url.path.endswith("/conversations"):
        return httpx.Response(200, json=payload("ig_conversations.json"))
    if request.url.path.endswith("/media"):
        return httpx.Response(200, json=payload("ig_media.json"))
    return httpx.Response(400, json={"error": {"message": "Unsupported", "code": 100}})


async def test_documented_dms_and_comments(store):
    clock = FrozenClock(NOW)
    ig = connector(clock, documented, secret=json.dumps({"token": "t", "refreshed_at": NOW - DAY,
                                                         "expires_at": NOW + 59 * DAY}))
    result = await ig.fetch(None)
    dm = next(m for m in result.messages if m.kind == Kind.DM)
    assert dm.text == "[story mention]" and dm.thread_key == "dm:6543210987654321"
    assert "Instagram-scoped id" in dm.author.bio and dm.author.handle == "@mo.rivera"
    top = next(m for m in result.messages if m.external_id == "17950000000000001")
    ours = next(m for m in result.messages if m.external_id == "17950000000000002")
    assert top.author.handle == "@mo.rivera" and top.subject.startswith("Croissant")
    assert ours.direction == "out" and ours.in_reply_to == top.external_id
    # Stored, the story mention opens the 24-hour window like any message from the customer.
    clock_store = store.clock
    clock_store.set(NOW)
    account = store.ensure_account("shop-ig", "instagram", "instagram")
    store.ingest(account, result.messages)
    cid = store.conn.execute("SELECT id FROM conversations WHERE thread_key = 'dm:6543210987654321'").fetchone()[0]
    assert reach.for_conversation(store, cid).state == ReachState.WINDOW


async def test_what_instagram_refuses_is_refused_before_anything_leaves():
    calls = []

    def handler(request):
        calls.append(request)
        return httpx.Response(200, json={})

    ig = connector(FrozenClock(NOW), handler)
    with pytest.raises(PermanentError, match="no text-only post"):
        await ig.send(OutboundRequest("k1", "post", "We're open!"))
    long_dm = OutboundRequest("k2", "reply", "é" * 501, thread_key="dm:654", kind=Kind.DM,
                              extra={"customer_at": NOW - 60, "source": "personal"})
    with pytest.raises(PermanentError, match="1000 bytes"):
        await ig.send(long_dm)
    assert calls == []


async def test_a_private_reply_on_instagram_goes_to_me_messages():
    bodies = []

    def handler(request):
        bodies.append((request.url.path, json.loads(request.content)))
        return httpx.Response(200, json={"recipient_id": "654", "message_id": "aWdfZAG1faXRlbTox"})

    ig = connector(FrozenClock(NOW), handler)
    sent = await ig.send(OutboundRequest("k", "dm", "Hi Mo!", kind=Kind.DM, extra={"comment_id": "17950000000000001"}))
    assert bodies == [("/v26.0/me/messages", {"recipient": {"comment_id": "17950000000000001"},
                                              "message": {"text": "Hi Mo!"}})]
    assert sent.thread_key == "dm:654" and sent.external_id == "aWdfZAG1faXRlbTox"


def refresher(answers: list):
    calls = []

    def handler(request):
        if request.url.path == "/refresh_access_token":
            calls.append(request.url.params.get("grant_type"))
            status, body = answers.pop(0)
            return httpx.Response(status, json=body)
        return documented(request)

    return handler, calls


async def test_the_token_is_refreshed_weekly_and_saved():
    clock = FrozenClock(NOW)
    handler, calls = refresher([(200, {"access_token": "fresh", "token_type": "bearer", "expires_in": 5_184_000})])
    saved: list[str] = []
    ig = connector(clock, handler, json.dumps({"token": "old", "refreshed_at": NOW - REFRESH_EVERY + 60,
                                               "expires_at": NOW + 53 * DAY}), saved)
    await ig.fetch(None)
    assert calls == []  # not due yet
    clock.advance(120)
    await ig.fetch(None)
    assert calls == ["ig_refresh_token"] and ig.graph.token == "fresh"
    record = json.loads(saved[-1])
    assert record["token"] == "fresh" and record["expires_at"] == pytest.approx(clock.now() + 60 * DAY)


async def test_a_failing_refresh_is_reported_long_before_the_token_dies():
    clock = FrozenClock(NOW)
    down = (500, {"error": {"message": "An unexpected error has occurred", "code": 2, "is_transient": True}})
    handler, calls = refresher([down, down])
    ig = connector(clock, handler, json.dumps({"token": "old", "refreshed_at": NOW - 8 * DAY,
                                               "expires_at": NOW + 52 * DAY}))
    await ig.fetch(None)  # 52 days left: keeps working, remembers the failure
    assert ig.tokens.refresh_error and calls == ["ig_refresh_token"]
    await ig.fetch(None)
    assert calls == ["ig_refresh_token"]  # the next attempt waits an hour, not the next poll
    clock.advance(40 * DAY)  # 12 days left and still failing: the account stops, saying why
    with pytest.raises(AuthError, match="expires in 12 days"):
        await ig.fetch(None)


def test_a_bare_page_token_never_needs_refreshing():
    keeper = TokenKeeper.from_secret("EAAB-page-token", FrozenClock(NOW), refreshable=False)
    assert keeper.token == "EAAB-page-token" and not keeper.due()


def test_shifts_skip_instagram_and_say_why(store):
    from agentconsole.shifts.service import Shifts
    from connectors.meta import capabilities_for

    account = store.ensure_account("shop-ig", "instagram", "instagram")
    shifts = Shifts(store, {account: capabilities_for(True)})
    form = shifts.start_form(store.ensure_agent("Alice Ng", "AN"))
    settings = [s for s in form.accounts if s.account.id == account]
    assert settings and not settings[0].can_post and "no text-only post" in settings[0].why_not
