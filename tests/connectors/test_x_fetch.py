"""The X connector's receiving side against the documented payloads: mentions with since_id and the
author expansion, both field spellings, the DM backfill poll and the stream's legacy DM shape stored once,
encrypted chats, hostile names, 429 with reset, credits exhausted and the credit figure."""

from __future__ import annotations

import json
import re

import pytest

from agentconsole.domain.errors import PermanentError, RateLimited
from agentconsole.domain.models import Direction, Kind, OutboundRequest
from agentconsole.storage.store import Store
from agentconsole.sync.engine import Engine
from connectors.x.api import CreditsExhausted
from connectors.x.connector import XConnector
from connectors.x.payload import ENCRYPTED_TEXT
from tests.connectors.contract.harness_x import XHarness
from tests.connectors.x_fake import BRAND, DANA, DATA, SAM, fixture

CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


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


def load_mentions(harness, name: str) -> dict:
    page = fixture(name)
    harness.x.mentions.extend(reversed(page["data"]))  # the fake keeps them oldest first
    for user in page["includes"]["users"]:
        harness.x.users[user["id"]] = user
    return page


def requests_to(harness, path: str) -> list:
    return [r for r in harness.x.server.requests if r.path == path]


async def test_mentions_arrive_threaded_with_their_authors(harness, x: XConnector) -> None:
    load_mentions(harness, "mentions.json")
    result = await x.fetch(None)
    by_id = {m.external_id: m for m in result.messages}
    first, second, sam = by_id["1996000000000000101"], by_id["1996000000000000103"], by_id["1996000000000000102"]
    assert first.thread_key == second.thread_key == "1996000000000000101"  # grouped by conversation_id
    assert second.in_reply_to == "1996000000000000101"  # from referenced_tweets
    assert first.author.handle == "@dana_k" and first.author.display_name == "Dana Kim"
    assert first.author.location == "Boston, MA" and first.kind == Kind.PUBLIC
    assert first.extra["receives_your_dm"] is True and sam.extra["receives_your_dm"] is False
    assert first.extra["url"] == "https://x.com/dana_k/status/1996000000000000101"
    # (the fixture's media expansion is not served by the fake; attachment lines are covered below)
    asked = requests_to(harness, f"/2/users/{BRAND['id']}/mentions")[0]
    assert "receives_your_dm" in (asked.param("user.fields") or "") and "author_id" in (asked.param("expansions") or "")
    assert asked.param("since_id") is None
    assert json.loads(result.cursor)["since"] == "1996000000000000103"
    await x.fetch(result.cursor)
    assert requests_to(harness, f"/2/users/{BRAND['id']}/mentions")[-1].param("since_id") == "1996000000000000103"


async def test_the_openapi_spelling_referenced_posts_is_read_too(harness, x: XConnector) -> None:
    load_mentions(harness, "mentions_posts.json")
    (msg,) = (await x.fetch(None)).messages
    assert msg.in_reply_to == "1996000000000000103"


def test_attachments_show_as_links_and_are_never_fetched(harness) -> None:
    from connectors.x import payload as xp

    page = fixture("mentions.json")
    _, media = xp.includes(page)
    post = next(p for p in page["data"] if p.get("attachments"))
    assert xp.attachments(post, media) == ["[photo] https://pbs.twimg.com/media/Gexample.jpg"]


async def test_dm_backfill_reads_messages_only_and_is_bounded(harness, x: XConnector) -> None:
    harness.x.dms = list(reversed(fixture("dm_events.json")["data"]))
    result = await x.fetch(None)
    dms = {m.external_id: m for m in result.messages}
    assert set(dms) == {"1996000000000000302", "1996000000000000303"}  # ParticipantsJoin is no message
    theirs, ours = dms["1996000000000000302"], dms["1996000000000000303"]
    conv = f"{DANA['id']}-{BRAND['id']}"
    assert theirs.thread_key == ours.thread_key == f"dm:{conv}" and theirs.kind == Kind.DM
    assert theirs.direction == Direction.IN and theirs.author.handle == "@dana_k"
    assert ours.direction == Direction.OUT and ours.extra["recipient"].external_id == DANA["id"]
    cursor = (await x.fetch(result.cursor)).cursor
    assert len(requests_to(harness, "/2/dm_events")) == 1  # X allows 15 a quarter hour: at most one a minute
    harness.clock.advance(61)
    again = await x.fetch(cursor)
    assert len(requests_to(harness, "/2/dm_events")) == 2 and again.messages == []  # nothing new


async def test_the_same_dm_by_stream_and_by_poll_is_stored_once(harness, tmp_path) -> None:
    harness.x.dms = list(reversed(fixture("dm_events.json")["data"]))
    store = Store(tmp_path / "x.db", harness.clock)
    row = harness.account()
    account = store.ensure_account(row.name, row.channel, row.connector, handle=row.handle, settings=row.settings)
    connector = harness.build()
    engine = Engine(store, {account: connector}, clock=harness.clock)
    try:
        (pushed,) = connector.activity((DATA / "dm_received.json").read_bytes())  # the legacy shape
        assert pushed.external_id == "1996000000000000302" and pushed.text == "here is my order number: 4411"
        assert pushed.thread_key == f"dm:{DANA['id']}-{BRAND['id']}" and pushed.author.handle == "@dana_k"
        await engine.sync_once(account)
        connector.activity((DATA / "dm_received.json").read_bytes())  # delivered again (a reconnect's backfill)
        harness.clock.advance(61)
        await engine.sync_once(account)
        count = store.conn.execute("SELECT count(*) FROM messages WHERE external_id = ?",
                                   ("1996000000000000302",)).fetchone()[0]
        convs = store.conn.execute("SELECT count(*) FROM conversations WHERE account_id = ?", (account,)).fetchone()[0]
    finally:
        await connector.close()
        store.close()
    assert count == 1 and convs == 1


async def test_an_encrypted_chat_says_to_answer_in_the_x_app(harness, x: XConnector) -> None:
    (chat,) = x.activity((DATA / "chat_received.json").read_bytes())
    assert chat.text == ENCRYPTED_TEXT and "CwAB" not in chat.text and chat.kind == Kind.DM
    assert chat.thread_key == f"xchat:{SAM['id']}:{BRAND['id']}" and chat.extra["encrypted"] is True
    request = OutboundRequest("k1", "reply", "hello", thread_key=chat.thread_key, kind=Kind.DM)
    with pytest.raises(PermanentError, match="X app"):
        await x.send(request)
    assert not [r for r in harness.x.server.requests if r.method == "POST"]


async def test_hostile_names_and_texts_stay_inert(harness, tmp_path) -> None:
    evil = {"id": "1480000000000000066", "username": "evil\u202e", "name": "\x1b[31mAdmin\x1b]0;pwn\x07 [b]x[/b]",
            "description": "\x1b[2J" + "bio " * 5000, "receives_your_dm": True}
    harness.x.users[evil["id"]] = evil
    harness.x.mentions.append({"id": "1996100000000009999", "text": "[red]hi[/red] \x1b[6n \u2066rtl\u2069 " * 3000,
                               "author_id": evil["id"], "created_at": "2025-11-25T08:00:00.000Z"})
    store = Store(tmp_path / "x.db", harness.clock)
    row = harness.account()
    account = store.ensure_account(row.name, row.channel, row.connector, handle=row.handle, settings=row.settings)
    connector = harness.build()
    try:
        await Engine(store, {account: connector}, clock=harness.clock).sync_once(account)
        (stored,) = store.conn.execute("SELECT text, author_name, author_handle FROM messages").fetchall()
    finally:
        await connector.close()
        store.close()
    for value in stored:
        assert not CONTROLS.search(value), value[:80]
    assert "[red]hi[/red]" in stored["text"]  # markup stays literal text: the screen never parses it


async def test_a_429_waits_for_the_reset_and_the_limit_is_honoured_before_asking(harness, x: XConnector) -> None:
    harness.x.add_mentions(1)
    harness.x.fault = "rate_limit"
    with pytest.raises(RateLimited) as raised:
        await x.fetch(None)
    assert raised.value.retry_after == pytest.approx(120)  # no Retry-After: x-rate-limit-reset decides
    asked = len(harness.x.server.requests)
    harness.x.fault = None
    with pytest.raises(RateLimited):
        await x.fetch(None)  # the window is used up: no request until the reset
    assert len(harness.x.server.requests) == asked
    harness.clock.advance(121)
    assert len((await x.fetch(None)).messages) == 1


async def test_credits_exhausted_is_its_own_state(harness, x: XConnector) -> None:
    harness.x.credits = False
    with pytest.raises(CreditsExhausted, match="X credits exhausted"):
        await x.fetch(None)


async def test_the_credit_figure_counts_reads_once_per_day(harness, x: XConnector) -> None:
    load_mentions(harness, "mentions.json")
    assert x.spent_today() == 0
    cursor = (await x.fetch(None)).cursor
    assert x.spent_today() == pytest.approx(3 * 0.001 + 2 * 0.010)  # 3 owned post reads, 2 user reads
    assert x.credits() == "$0.023 spent today (UTC)"
    fresh = XConnector(x.tokens, harness.clock, api=harness.x.url, own_id=BRAND["id"])
    try:
        await fresh.fetch(cursor)
        assert fresh.spent_today() == pytest.approx(0.023)  # today's figure survives a restart
    finally:
        await fresh.close()
    harness.clock.advance(86_400)
    assert x.spent_today() == 0

