"""Bluesky notifications into messages, from payloads written after the listNotifications lexicon (the local
PDS-only network has no AppView to produce them): which reasons count, threads by root URI, the cursor."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path

import pytest
import respx

from agentconsole.domain.clock import FrozenClock
from agentconsole.domain.models import Kind
from connectors.bluesky.client import Xrpc, forget_sessions
from connectors.bluesky.connector import BlueskyConnector

PDS = "https://pds.example"
LIST = f"{PDS}/xrpc/app.bsky.notification.listNotifications"
DATA = json.loads((Path(__file__).parent / "data" / "bluesky" / "notifications.json").read_text("utf-8"))
NOW = 1_764_061_200.0


def jwt(exp: float) -> str:
    payload = base64.urlsafe_b64encode(json.dumps({"iat": NOW, "exp": exp}).encode()).decode().rstrip("=")
    return f"e30.{payload}.sig"


@pytest.fixture
def pds():
    forget_sessions()
    with respx.mock(assert_all_called=False) as router:
        router.post(f"{PDS}/xrpc/com.atproto.server.createSession").respond(json={
            "accessJwt": jwt(NOW + 7200), "refreshJwt": jwt(NOW + 86400), "did": DATA["brand"],
            "handle": "shop.bsky.social"})
        yield router


def connector(**kwargs) -> BlueskyConnector:
    clock = FrozenClock(NOW)
    return BlueskyConnector(Xrpc(PDS, "shop.bsky.social", "app-pass", clock, resolve_pds=False), clock, dms=False,
                            **kwargs)


def page(notes: list[dict], cursor: str | None = None) -> dict:
    body: dict = {"notifications": notes, "seenAt": DATA["seenAt"]}
    if cursor:
        body["cursor"] = cursor
    return body


async def test_mentions_replies_and_quotes_become_messages_in_their_threads(pds) -> None:
    route = pds.get(LIST).respond(json=page(DATA["notifications"]))
    result = await connector().fetch(None)
    reasons = [v for k, v in route.calls.last.request.url.params.multi_items() if k == "reasons"]
    assert reasons == ["mention", "reply", "quote"]  # filtered by the server, and again by us
    by_text = {m.text: m for m in result.messages}
    assert set(by_text) == {"this shop is the best", "@shop.bsky.social hello?? 2nd message",
                            "@shop.bsky.social my order never arrived 📦"}  # no like, no subscribed-post
    first, second = by_text["@shop.bsky.social my order never arrived 📦"], by_text[
        "@shop.bsky.social hello?? 2nd message"]
    assert first.thread_key == second.thread_key == first.external_id  # one thread, by its root's URI
    assert second.in_reply_to == first.external_id and first.in_reply_to is None
    quote = by_text["this shop is the best"]
    assert quote.thread_key == quote.external_id and quote.extra["reason"] == "quote"
    assert all(m.kind == Kind.PUBLIC and m.parse_note == "" for m in result.messages)
    assert first.author.handle == "@mo.bsky.social" and first.author.display_name == "Mo"
    assert first.sent_at == pytest.approx(1_764_057_660.0)  # the post's createdAt
    assert first.extra["url"].startswith("https://bsky.app/profile/did:plc:mo6")


async def test_the_cursor_brings_each_notification_once(pds) -> None:
    notes = DATA["notifications"]
    route = pds.get(LIST).respond(json=page(notes[3:]))
    bluesky = connector()
    first = await bluesky.fetch(None)
    assert len(first.messages) == 2
    assert (await bluesky.fetch(first.cursor)).messages == []
    route.respond(json=page(notes))  # three newer ones on top (one of them counts)
    again = await bluesky.fetch(first.cursor)
    assert [m.text for m in again.messages] == ["this shop is the best"]


async def test_a_long_catch_up_resumes_further_back_before_the_mark_moves(pds) -> None:
    notes = []
    for n in range(6):  # newest first, each a mention
        note = copy.deepcopy(DATA["notifications"][4])
        note["uri"] = note["uri"][:-2] + f"{n:02d}"
        note["indexedAt"] = f"2025-11-25T09:0{9 - n}:00.000Z"
        note["record"]["text"] = f"mention {n}"
        notes.append(note)
    bluesky = connector(page_limit=1, max_pages=2)
    pds.get(LIST).respond(json=page(notes[5:]))
    cursor = (await bluesky.fetch(None)).cursor  # the oldest is known

    def answer(request):
        start = int(request.url.params.get("cursor") or 0)
        return respx.MockResponse(json=page(notes[start:start + 1], str(start + 1)))

    pds.get(LIST).mock(side_effect=answer)
    seen = []
    for _ in range(5):
        result = await bluesky.fetch(cursor)
        seen.extend(m.text for m in result.messages)
        cursor = result.cursor
        if not result.more:
            break
    assert sorted(seen) == [f"mention {n}" for n in range(5)]
    assert (await bluesky.fetch(cursor)).messages == []


async def test_unreadable_notifications_are_skipped_and_never_move_the_mark(pds) -> None:
    good = DATA["notifications"][4]
    bad_time = dict(copy.deepcopy(good), uri=good["uri"][:-2] + "zz", indexedAt="2999-13-45")
    no_author = {k: v for k, v in good.items() if k != "author"} | {"indexedAt": "2999-01-01T00:00:00.000Z"}
    pds.get(LIST).respond(json=page([no_author, bad_time, good]))
    result = await connector().fetch(None)
    assert [m.external_id for m in result.messages] == [good["uri"]]
    assert json.loads(result.cursor)["n"]["at"] == pytest.approx(1_764_057_661.0)


async def test_what_the_real_appview_answered_is_read_as_one_thread(pds) -> None:
    """A listNotifications answer recorded from dev-env's real AppView: a reply that also @mentions the brand
    came as ONE notification (reason mention), and both posts land in the first one's thread."""
    recorded = json.loads((Path(__file__).parent / "data" / "bluesky" / "appview_notifications.json").read_text("utf-8"))
    pds.get(LIST).respond(json=recorded)
    messages = (await connector().fetch(None)).messages
    assert [n["reason"] for n in recorded["notifications"]] == ["mention", "mention"]
    assert [m.thread_key for m in messages] == [recorded["_root"]] * 2
    reply, root = messages
    assert reply.in_reply_to == root.external_id == recorded["_root"] and root.in_reply_to is None
    assert all(m.parse_note == "" and m.author.handle.startswith("@cust") for m in messages)
