"""The Heard view, driven through the console: the demo hears brand talk without its handle; the agent opens
Heard (H), sees what each platform allows, dismisses one, promotes one (p) and opens another in the inbox
(enter), where it now waits like a mention."""

from __future__ import annotations

import asyncio

import pytest

from agentconsole.cli import build_connectors, ensure_demo_accounts
from agentconsole.config import Config
from agentconsole.domain.clock import FrozenClock
from agentconsole.session.session import Session
from agentconsole.storage.store import Store
from agentconsole.sync.engine import Engine
from tests.screens.helpers import screen_text, settle

SIZE = (120, 36)
START = 1_764_072_000.0  # 2025-11-25 12:00 UTC


@pytest.fixture
def demo(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")
    clock = FrozenClock(START)
    store = Store(tmp_path / "demo.db", clock)
    ensure_demo_accounts(store)
    agent = store.ensure_agent("Alice Ng")
    yield store, clock, agent
    store.close()


def waits_now(store: Store, heard_id: int) -> bool:
    """The promoted post is a conversation in the Waiting view, waiting from its promotion (START)."""
    from agentconsole.storage import heard

    row = heard.get(store.conn, heard_id)
    if row is None or row.conversation_id is None:
        return False
    conversation = store.conversation(row.conversation_id)
    return (conversation is not None and conversation.waiting_since == START
            and row.conversation_id in store.conversation_ids("waiting", None))


def quoted_item(store: Store):
    import json

    row = store.conn.execute("SELECT action, request FROM outbox WHERE source = 'heard'").fetchone()
    return None if row is None else (row[0], json.loads(row[1]))


async def wait_for(pilot, condition, what: str, tries: int = 400) -> None:
    for _ in range(tries):
        if await asyncio.to_thread(condition):
            return
        await pilot.pause(0.02)
    raise AssertionError(f"never happened: {what}")


async def test_the_demo_hears_brand_talk_and_the_agent_promotes_it_into_the_inbox(demo) -> None:
    from screens.app import AgentConsoleApp
    from screens.heard.screen import HeardScreen

    store, clock, agent = demo
    connectors, _ = build_connectors(store, clock, Config())
    engine = Engine(store, connectors, clock=clock)
    session = Session(store, clock=clock, config=Config(), agent_id=agent, engine=engine)
    app = AgentConsoleApp(session, demo=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: session.heard_count() >= 6, "the demo's accounts heard brand talk")
        await settle(app, pilot)
        await pilot.press("H")
        await settle(app, pilot)
        assert isinstance(app.screen, HeardScreen)
        shown = screen_text(app)
        assert "never in the waiting counts until promoted" in shown
        assert 'demo-x: "Juniper & Co", "juniper and co", #junipermade' in shown
        items = app.screen.items
        assert items and [i.row.sent_at for i in items] == sorted((i.row.sent_at for i in items), reverse=True)
        assert all("@juniper" not in i.row.text.lower() for i in items)  # found without the handle
        first = items[0]
        assert first.row.text[:40] in shown  # the newest first, its text in full below the list

        # What the platform allows, for an X post and for one elsewhere.
        x_at = next(n for n, i in enumerate(items) if i.row.channel == "x")
        for _ in range(x_at):
            await pilot.press("j")
        await settle(app, pilot)
        assert "X refuses a reply (it did not mention us): like or quote it" in screen_text(app)
        assert app.screen.check_action("like", ()) is True and app.screen.check_action("quote", ()) is True
        quoted = app.screen.current()
        await pilot.press("f")  # a like, on the (simulated) platform
        await wait_for(pilot, lambda: quoted.row.external_id in connectors[quoted.row.account_id].liked, "the like")
        await pilot.press("Q")  # a quote: our own post quoting theirs, through the outbox
        await settle(app, pilot)
        await pilot.press(*"Thank you!", "enter")
        await wait_for(pilot, lambda: quoted_item(store) is not None, "the quote in the outbox")
        action, request = quoted_item(store)
        assert action == "post" and request["text"] == "Thank you!"
        assert request["extra"] == {"quote_of": quoted.row.external_id}
        await settle(app, pilot)
        assert isinstance(app.screen, HeardScreen)
        for _ in range(x_at):
            await pilot.press("k")
        await settle(app, pilot)

        # Dismiss the newest, promote the next: both leave the list; only the promoted one waits.
        count = len(items)
        await pilot.press("x")
        await wait_for(pilot, lambda: session.heard_count() == count - 1, "the dismissal")
        await settle(app, pilot)
        promoted = app.screen.current()
        assert promoted is not None and promoted.row.id != first.row.id
        await pilot.press("p")
        await wait_for(pilot, lambda: session.heard_count() == count - 2, "the promotion")
        await settle(app, pilot)
        assert promoted.row.text[:30] not in "\n".join(i.row.text for i in app.screen.items)
        await wait_for(pilot, lambda: waits_now(store, promoted.row.id), "the promoted post waiting in the inbox")

        # Enter promotes the highlighted one and opens it in the inbox, where it waits like a mention.
        opened = app.screen.current()
        assert opened is not None
        await pilot.press("enter")
        await wait_for(pilot, lambda: session.heard_count() == count - 3, "the promotion by enter")
        await settle(app, pilot)
        assert not isinstance(app.screen, HeardScreen)
        shown = screen_text(app)
        assert opened.row.text[:30] in shown
        assert (opened.row.author_handle or opened.row.author_name)[:20] in shown
        await wait_for(pilot, lambda: waits_now(store, opened.row.id), "the opened post waiting in the inbox")
        assert waits_now(store, promoted.row.id)


def test_hostile_text_and_names_render_as_plain_text() -> None:
    from agentconsole.channels.contract import Reply
    from agentconsole.listening.offers import item
    from agentconsole.storage.heard import HeardRow, HeardState
    from screens.heard.screen import detail_text, row_text
    from tests.screens.conftest import HOSTILE_NAME, HOSTILE_TEXT

    row = HeardRow(1, 1, "shop", "x", "1", "u1", "@\x1b[31mmal", HOSTILE_NAME, HOSTILE_TEXT, "https://x.com/a/1",
                   "Juniper [b]& Co", Reply.REFUSED, None, START - 60, START, HeardState.NEW, None)
    for text in (row_text(item(row), START), detail_text(item(row))):
        assert all("link" not in str(span.style) and "click" not in str(span.style) for span in text.spans)
        assert not any(span.style == "red" for span in text.spans)  # "[red]" was not read as a colour
        assert "\x1b" not in text.plain and "\x9b" not in text.plain and "\x07" not in text.plain
    detail = detail_text(item(row)).plain
    assert "[@click=app.quit]Click me[/]" in detail  # markup stays visible text, never markup
    assert "[red]not red[/red]" in detail and "Juniper [b]& Co" in detail
    assert "X did not say whether they take DMs" in detail
