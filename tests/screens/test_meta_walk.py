"""A Pilot walk on a Facebook Page (the fake Graph of the contract harness): a comment arrives, d sends
the private reply and then the public note, the DM waits for the customer, they answer, the agent
replies inside the window."""

from __future__ import annotations

import asyncio

from textual.widgets import TextArea

from agentconsole.storage.store import Store
from agentconsole.sync.engine import Engine
from screens.escalation.dialogs import EscalateModal
from tests.connectors.contract.harness_facebook import CUSTOMER, PAGE, PSID, FacebookHarness
from tests.screens.helpers import screen_text, settle

SIZE = (120, 36)


async def until(app, pilot, condition, tries=150):
    for _ in range(tries):
        await settle(app, pilot)
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"condition never became true; the screen shows:\n{screen_text(app)}")


async def test_a_comment_moves_to_a_private_reply_and_the_thread_continues_in_the_window(tmp_path, monkeypatch):
    from screens.app import AgentConsoleApp
    from agentconsole.config import Config
    from agentconsole.session.session import Session

    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")
    harness = FacebookHarness(tmp_path, monkeypatch)
    await harness.start()
    store = Store(tmp_path / "walk.db", harness.clock)
    row = harness.account()
    account = store.ensure_account(row.name, row.channel, row.connector, handle=row.handle, settings=row.settings)
    agent = store.ensure_agent("Alice Ng", "AN", timezone="UTC")
    comment = harness.fake.add_comment(CUSTOMER, "my cake order never arrived!", at=harness.clock.now() - 900)
    connector = harness.build()
    engine = Engine(store, {account: connector}, clock=harness.clock)
    await engine.sync_once(account)
    app = AgentConsoleApp(Session(store, clock=harness.clock, config=Config(timezone="UTC"), agent_id=agent,
                                  engine=engine))
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            await until(app, pilot, lambda: "my cake order" in screen_text(app))
            await pilot.press("enter")
            await until(app, pilot, lambda: "one private reply to this comment" in screen_text(app))
            assert "page-scoped id" in screen_text(app)  # the card says what kind of id this is
            await pilot.press("d")
            await until(app, pilot, lambda: isinstance(app.screen, EscalateModal))
            assert "private reply to this comment" in screen_text(app)
            await pilot.press("ctrl+s")
            await until(app, pilot, lambda: comment["id"] in harness.fake.private_replied
                        and harness.fake.own_comments(app_public_note(store)))
            # The private reply went first; the public note only after it was accepted.
            posts = [r for r in harness.fake.server.requests if r.method == "POST"]
            assert posts[0].path.endswith("/messages") and posts[-1].path.endswith(f"/{comment['id']}/comments")
            await until(app, pilot, lambda: "waiting for the customer to reply in Messenger" in screen_text(app))
            area = app.screen.query_one("#composer-text", TextArea)
            area.insert("Are you there?")
            await pilot.press("ctrl+s")
            await settle(app, pilot)
            assert len([m for m in harness.fake.messages if m["from"]["id"] == PAGE["id"]]) == 1  # held back
            # The customer answers in Messenger; the agent's reply goes inside the 24-hour window.
            harness.clock.advance(600)
            harness.fake.add_message({"id": PSID, "name": "Dana Kim"}, "order #4411, thanks", PSID)
            await engine.sync_once(account)
            await until(app, pilot, lambda: "order #4411, thanks" in screen_text(app)
                        and "window open" in screen_text(app))
            area = app.screen.query_one("#composer-text", TextArea)
            area.clear()
            area.insert("Thanks Dana, a fresh cake is on its way today.")
            await pilot.press("ctrl+s")
            await until(app, pilot, lambda: harness.fake.messages[-1]["message"].startswith("Thanks Dana"))
            assert harness.fake.messages[-1]["sent_with"] == "RESPONSE"
    finally:
        await connector.close()
        store.close()
        await harness.stop()


def app_public_note(store) -> str:
    row = store.conn.execute("SELECT text FROM outbox WHERE action = 'reply' ORDER BY id LIMIT 1").fetchone()
    return row[0] if row else "\x00"


async def test_d_asks_the_platform_first_where_it_can_say(seeded):
    from agentconsole.domain.models import Capabilities, DmAvailability
    from tests.core.fakes import ScriptedConnector

    class Closed(ScriptedConnector):
        async def dm_availability(self, person):
            return DmAvailability(False, f"{person.handle} accepts DMs only from accounts they follow")

    x = next(a.id for a in seeded.store.accounts() if a.name == "brand-x")
    engine = Engine(seeded.store, {x: Closed(seeded.clock, capabilities=Capabilities(direct_message=True))},
                    clock=seeded.clock)
    app = seeded.app(engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("j", "d")  # Dana's public post on X
        await until(app, pilot, lambda: any("only from accounts they follow" in n.message
                                            for n in app._notifications))
        assert not isinstance(app.screen, EscalateModal)
