"""Hiding, unhiding and deleting a comment on the fake Graph, audited; the palette's commands in the
running console (delete asks first)."""

from __future__ import annotations

import asyncio
import json

import pytest

from agentconsole.replies.moderation import Moderation, ModerationRefused, moderate, target
from agentconsole.storage.store import Store
from agentconsole.sync.engine import Engine
from tests.connectors.contract.harness_facebook import CUSTOMER, FacebookHarness
from tests.connectors.contract.harness_instagram import InstagramHarness


@pytest.fixture(params=[FacebookHarness, InstagramHarness])
async def world(request, tmp_path, monkeypatch):
    harness = request.param(tmp_path, monkeypatch)
    await harness.start()
    store = Store(tmp_path / "mod.db", harness.clock)
    row = harness.account()
    account = store.ensure_account(row.name, row.channel, row.connector, handle=row.handle, settings=row.settings)
    comment = harness.fake.add_comment(CUSTOMER, "you are all frauds!!!", at=harness.clock.now() - 60)
    connector = harness.build()
    await Engine(store, {account: connector}, clock=harness.clock).sync_once(account)
    cid = store.conn.execute("SELECT id FROM conversations WHERE thread_key = ?", (comment["id"],)).fetchone()[0]
    yield harness, store, connector, comment, cid
    await connector.close()
    store.close()
    await harness.stop()


async def test_hide_unhide_and_delete_reach_the_platform_and_are_audited(world):
    harness, store, connector, comment, cid = world
    found = target(store, cid)
    assert found is not None and found.external_id == comment["id"]
    said = await moderate(store, connector, found, Moderation.HIDE, None)
    assert comment["is_hidden"] is True and said.startswith("Comment hidden")
    await moderate(store, connector, found, Moderation.UNHIDE, None)
    assert comment["is_hidden"] is False
    await moderate(store, connector, found, Moderation.DELETE, None)
    assert comment not in harness.fake.comments
    audit = store.conn.execute("SELECT action, detail FROM audit WHERE action LIKE 'comment_%' ORDER BY id").fetchall()
    assert [a[0] for a in audit] == ["comment_hide", "comment_unhide", "comment_delete"]
    assert json.loads(audit[0][1])["external_id"] == comment["id"]


async def test_a_connector_that_cannot_moderate_is_refused_before_anything(world):
    _, store, _, _, cid = world
    with pytest.raises(ModerationRefused):
        await moderate(store, object(), target(store, cid), Moderation.HIDE, None)


async def test_the_palette_hides_and_deletes_only_after_yes(world, monkeypatch):
    from agentconsole.config import Config
    from screens.app import AgentConsoleApp
    from screens.common.modals import ConfirmModal
    from tests.screens.helpers import settle

    harness, store, connector, comment, cid = world
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")
    account = store.conn.execute("SELECT account_id FROM conversations WHERE id = ?", (cid,)).fetchone()[0]
    engine = Engine(store, {account: connector}, clock=harness.clock)
    from agentconsole.session.session import Session

    app = AgentConsoleApp(Session(store, clock=harness.clock, config=Config(timezone="UTC"),
                                  agent_id=store.ensure_agent("Alice Ng"), engine=engine))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        await pilot.press("enter")
        for _ in range(50):
            await settle(app, pilot)
            if app.screen.pane.data is not None:
                break
        entries = {title: run for title, _, run in app.screen.palette_commands()}
        entries["Hide the comment"]()
        for _ in range(50):
            await settle(app, pilot)
            if comment.get("is_hidden"):
                break
            await asyncio.sleep(0.02)
        assert comment["is_hidden"] is True
        entries["Delete the comment…"]()
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("n")
        await settle(app, pilot)
        assert comment in harness.fake.comments  # declined: nothing deleted
        entries["Delete the comment…"]()
        await settle(app, pilot)
        await pilot.press("y")
        for _ in range(50):
            await settle(app, pilot)
            if comment not in harness.fake.comments:
                break
            await asyncio.sleep(0.02)
        assert comment not in harness.fake.comments
