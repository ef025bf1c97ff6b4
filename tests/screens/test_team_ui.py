"""Two consoles on one database: each sees the other's presence and changes, and the collision guard
stops a second answer until the agent chooses."""

from __future__ import annotations

import asyncio
import json

from agentconsole.config import Config
from agentconsole.session.session import Session
from agentconsole.storage.store import Store

from tests.screens.helpers import screen_text, settle

SIZE = (120, 36)


async def until(app, pilot, condition, seconds: float = 3.0) -> None:
    """Wait (for the other console's watcher too) until *condition* holds; fail after *seconds*."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        await settle(app, pilot)
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition never became true:\n" + screen_text(app))


def bobs_console(seeded):
    from screens.app import AgentConsoleApp

    store = Store(seeded.store.path, seeded.clock)
    bob = store.ensure_agent("Bob Li", "BL")
    session = Session(store, clock=seeded.clock, config=Config(timezone="Europe/Berlin"), agent_id=bob)
    return AgentConsoleApp(session), store


async def test_two_consoles_see_each_other_and_the_guard_stops_a_second_answer(seeded):
    dana = seeded.ids["dana"]
    alice_app = seeded.app()
    bob_app, bob_store = bobs_console(seeded)
    try:
        async with alice_app.run_test(size=SIZE) as alice, bob_app.run_test(size=SIZE) as bob:
            await settle(alice_app, alice)
            await settle(bob_app, bob)
            await alice.press("j")  # Alice reads Dana's conversation
            await bob.press("j", "r")  # Bob starts a reply to it
            await until(alice_app, alice, lambda: "Bob is replying" in screen_text(alice_app))
            row = next(line for line in screen_text(alice_app).splitlines() if "my order never" in line)
            assert "✎BL" in row
            assert "Alice" not in screen_text(bob_app).split("Conversation")[0]  # never oneself

            await bob.press(*"On its way, Dana", "ctrl+s")
            await until(bob_app, bob, lambda: len(bob_store.conn.execute("SELECT id FROM outbox").fetchall()) == 1)
            # Alice sees Bob's queued answer in her pane within a moment, without touching a key.
            await until(alice_app, alice, lambda: "On its way, Dana" in screen_text(alice_app))
            await until(alice_app, alice, lambda: "Bob is replying" not in screen_text(alice_app))

            await alice.press("r", *"Hi Dana, let me check", "ctrl+s")
            await until(alice_app, alice, lambda: "was not sent" in screen_text(alice_app))
            assert "Bob Li's reply is on its way" in screen_text(alice_app)
            assert "s send anyway · d discard · k keep the draft" in screen_text(alice_app)
            assert len(seeded.store.conn.execute("SELECT id FROM outbox").fetchall()) == 1

            await alice.press("k")  # keep the draft: it comes back, nothing is sent
            await until(alice_app, alice, lambda: alice_app.screen.composer.display)
            assert alice_app.screen.composer.text == "Hi Dana, let me check"
            await alice.press("ctrl+s")
            await until(alice_app, alice, lambda: "was not sent" in screen_text(alice_app))
            await alice.press("s")  # send anyway: queued, and the audit says so
            await until(alice_app, alice,
                        lambda: len(seeded.store.conn.execute("SELECT id FROM outbox").fetchall()) == 2)
            agent, detail = seeded.store.conn.execute(
                "SELECT agent_id, detail FROM audit WHERE action = 'sent_anyway' AND conversation_id = ?",
                (dana,)).fetchone()
            assert agent == seeded.agent_id and json.loads(detail)["over"][0]["who"] == "Bob Li"
    finally:
        bob_store.close()


async def test_taking_over_asks_first_and_names_the_assignee_and_a_again_unassigns(seeded):
    dana = seeded.ids["dana"]
    bob = seeded.store.ensure_agent("Bob Li", "BL")
    seeded.store.assign(dana, bob, bob)
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("j", "a")
        await settle(app, pilot)
        assert app.screen.question == "Assigned to Bob Li. Take it over from Bob Li?"
        assert "Take it over" in screen_text(app)
        await pilot.press("n")
        await settle(app, pilot)
        assert seeded.store.conversation(dana).assignee_id == bob
        await pilot.press("a", "y")
        await until(app, pilot, lambda: seeded.store.conversation(dana).assignee_id == seeded.agent_id)
        action = seeded.store.conn.execute("SELECT action FROM audit WHERE conversation_id = ? ORDER BY id DESC",
                                           (dana,)).fetchone()[0]
        assert action == "took_over"
        await until(app, pilot, lambda: "assigned to Alice Ng" in screen_text(app))
        await pilot.press("a")
        await until(app, pilot, lambda: seeded.store.conversation(dana).assignee_id is None)


async def test_assign_to_lists_agents_on_shift_first(seeded):
    from agentconsole.shifts.service import Shifts

    dana = seeded.ids["dana"]
    seeded.store.ensure_agent("Aaron Off", "AO")
    carol = seeded.store.ensure_agent("Carol Day", "CD")
    Shifts(seeded.store, {}).start(carol, planned_end=None, hello={})
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("j", "A")
        await settle(app, pilot)
        text = screen_text(app)
        assert text.index("● Carol Day") < text.index("○ Aaron Off")
        await pilot.press("enter")  # the first: Carol, on shift
        await until(app, pilot, lambda: seeded.store.conversation(dana).assignee_id == carol)


async def test_another_consoles_shift_start_and_new_messages_show_within_a_second(seeded):
    from agentconsole.domain.models import InboundMessage, Kind, Person
    from agentconsole.shifts.service import Shifts

    app = seeded.app()
    other = Store(seeded.store.path, seeded.clock)
    try:
        bob = other.ensure_agent("Bob Li", "BL")
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            assert "Bob Li" not in screen_text(app).splitlines()[0]
            loop = asyncio.get_running_loop()
            started = loop.time()
            Shifts(other, {}).start(bob, planned_end=None, hello={})
            await until(app, pilot, lambda: "Bob Li" in screen_text(app).splitlines()[0])
            x = other.ensure_account("brand-x", "x", "demo")
            other.ingest(x, [InboundMessage("x9", "t-new", Kind.PUBLIC, Person("u9", "@zoe", "Zoe Park"),
                                            "is the sale still on?", seeded.clock.now())], set_cursor=False)
            await until(app, pilot, lambda: "Zoe Park" in screen_text(app))
            assert loop.time() - started < 3.0  # both, including the test's own settling
    finally:
        other.close()


async def test_both_composers_open_the_first_send_asks_and_the_second_is_refused(seeded):
    alice_app = seeded.app()
    bob_app, bob_store = bobs_console(seeded)
    try:
        async with alice_app.run_test(size=SIZE) as alice, bob_app.run_test(size=SIZE) as bob:
            await settle(alice_app, alice)
            await settle(bob_app, bob)
            await alice.press("j", "r", *"Hi Dana, let me check")  # Alice's composer is open
            await bob.press("j", "r")
            await until(bob_app, bob, lambda: "Alice is replying" in screen_text(bob_app))
            await bob.press(*"On its way, Dana", "ctrl+s")
            await until(bob_app, bob, lambda: "Alice Ng is writing a reply right now" in screen_text(bob_app))
            await bob.press("s")  # Bob sends anyway
            await until(bob_app, bob, lambda: len(bob_store.conn.execute("SELECT id FROM outbox").fetchall()) == 1)
            await alice.press("ctrl+s")  # Alice's composer was open all along: it refuses to send
            await until(alice_app, alice, lambda: "was not sent" in screen_text(alice_app))
            assert "Bob Li's reply is on its way" in screen_text(alice_app)
            await alice.press("d")  # discard
            await settle(alice_app, alice)
            assert len(seeded.store.conn.execute("SELECT id FROM outbox").fetchall()) == 1
            assert ("reply", seeded.ids["dana"]) not in alice_app.screen.drafts
    finally:
        bob_store.close()
