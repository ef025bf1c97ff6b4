"""A walk through the console with a real X account on the fake X: a mention appears, `r` answers it
within the weighted count, `d` moves it to DM, and the banner's credit figure moves with each."""

from __future__ import annotations

import asyncio

import pytest
from textual.widgets import TextArea

from agentconsole.config import Config
from agentconsole.storage.store import Store
from agentconsole.sync.engine import Engine
from tests.connectors.contract.harness_x import XHarness
from tests.connectors.x_fake import DANA, PARENT_ID, mention
from tests.screens.helpers import screen_text, settle


@pytest.fixture
async def harness(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")
    monkeypatch.setenv("AGENTCONSOLE_DATA_DIR", str(tmp_path / "data"))
    made = XHarness(tmp_path, monkeypatch)
    await made.start()
    yield made
    await made.stop()


async def until(app, pilot, condition, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.05)):
        await settle(app, pilot)
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened; the screen shows:\n{screen_text(app)}")


async def test_mention_reply_dm_and_the_credit_figure(harness, tmp_path) -> None:
    from screens.app import AgentConsoleApp

    harness.x.mentions.append(mention(PARENT_ID, "@JuniperCoShop my order never arrived, can you help?"))
    store = Store(tmp_path / "x.db", harness.clock)
    agent = store.ensure_agent("Alice Ng")
    row = harness.account()
    account = store.ensure_account(row.name, row.channel, row.connector, handle=row.handle,
                                   display_name=row.display_name, settings={**row.settings, "poll_interval": 0.3})
    built = next(a for a in store.accounts() if a.id == account)
    connector = harness.plugin.build(built, harness.clock)
    engine = Engine(store, {account: connector}, clock=harness.clock)
    from agentconsole.session.session import Session

    app = AgentConsoleApp(Session(store, clock=harness.clock, config=Config(), agent_id=agent, engine=engine))
    try:
        async with app.run_test(size=(160, 40)) as pilot:
            await until(app, pilot, lambda: "my order never arrived" in screen_text(app))
            await until(app, pilot, lambda: "ok · $0.011 spent today" in screen_text(app))  # a post and its author
            await pilot.press("j", "r", *"Sorry Dana, 日本 ok")
            await until(app, pilot, lambda: "19/280" in screen_text(app))  # CJK weighs 2
            await pilot.press("ctrl+s")
            await until(app, pilot, lambda: len(harness.x.posts) == 1)
            assert harness.x.posts[0]["referenced_tweets"] == [{"type": "replied_to", "id": PARENT_ID}]
            await until(app, pilot, lambda: "ok · $0.021 spent today" in screen_text(app))  # a summoned reply
            await pilot.press("escape", "g", "d")
            await until(app, pilot, lambda: bool(app.screen.query("#dm-text")))
            assert app.screen.query_one("#dm-text", TextArea).text
            await pilot.press("ctrl+s")
            await until(app, pilot, lambda: len(harness.x.created_dms) == 1 and len(harness.x.posts) == 2)
            dm = [r for r in harness.x.server.requests if r.path.endswith("/messages")]
            assert dm[0].path == f"/2/dm_conversations/with/{DANA['id']}/messages"
            await until(app, pilot, lambda: "ok · $0.046 spent today" in screen_text(app))  # + a DM and a reply
    finally:
        store.close()


async def test_a_shift_hello_with_a_link_says_what_x_bills_before_it_goes(harness, tmp_path) -> None:
    """X bills a post with a link 13x more: the shift dialog's preview says so while the agent types,
    before anything is posted."""
    from textual.widgets import Input

    from agentconsole.session.session import Session
    from screens.app import AgentConsoleApp
    from screens.shifts.dialogs import StartShiftModal

    store = Store(tmp_path / "x.db", harness.clock)
    agent = store.ensure_agent("Alice Ng")
    row = harness.account()
    account = store.ensure_account(row.name, row.channel, row.connector, handle=row.handle,
                                   display_name=row.display_name, settings={**row.settings, "poll_interval": 0.3})
    connector = harness.plugin.build(next(a for a in store.accounts() if a.id == account), harness.clock)
    engine = Engine(store, {account: connector}, clock=harness.clock)
    app = AgentConsoleApp(Session(store, clock=harness.clock, config=Config(), agent_id=agent, engine=engine))
    try:
        async with app.run_test(size=(160, 40)) as pilot:
            await settle(app, pilot)
            await pilot.press("S")
            await until(app, pilot, lambda: isinstance(app.screen, StartShiftModal))
            assert "contains a link" not in screen_text(app)
            app.screen.query_one(".post-template", Input).value = "Hi, {agent_first_name} here: https://shop.example/help"
            await until(app, pilot, lambda: "this post contains a link: X bills it" in screen_text(app))
            assert not harness.x.posts  # told, not posted
    finally:
        store.close()
