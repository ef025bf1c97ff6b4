"""Hostile items on screen under Pilot: rows keep their width, big messages page fast, canned escapes stay out."""

from __future__ import annotations


from textual.widgets import TextArea

from agentconsole.domain.models import InboundMessage, Kind, Person
from agentconsole.replies.canned import CannedDraft, CannedLibrary
from screens.inbox.thread_text import PART_CHARS
from tests.screens.helpers import screen_text, settle
from tests.screens.test_tmux import BIG, HOSTILE_WIDTHS
from tests.terminal_width import width as terminal_width

SIZE = (120, 36)


def add_hostile(seeded) -> dict[str, int]:
    account = seeded.store.ensure_account("poison-fb", "facebook", "demo")
    now = seeded.clock.now()
    messages = [InboundMessage(f"w{i}", f"w-{name}", Kind.PUBLIC,
                               Person(f"wp{i}", f"@{name}\u2764\ufe0f", f"{name} \U0001f44d\U0001f3fd"),
                               (text + " ") * 4, now - 30 + i, subject=text)
                for i, (name, text) in enumerate(HOSTILE_WIDTHS.items())]
    messages.append(InboundMessage("big", "w-big", Kind.PUBLIC, Person("pb", "@paster", "Big Paste"), BIG,
                                   now - 20))
    seeded.store.ingest(account, messages, "c")
    return {row[1]: row[0] for row in seeded.store.conn.execute(
        "SELECT id, thread_key FROM conversations WHERE thread_key LIKE 'w-%'")}


async def test_every_row_is_as_wide_as_the_terminal_makes_it(seeded):
    ids = add_hostile(seeded)
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        for key, conversation_id in ids.items():
            app.screen.go_to(conversation_id)
            await settle(app, pilot)
            rows = screen_text(app).split("\n")
            assert any("\U0001f44d" in row for row in rows)
            wrong = [row for row in rows if terminal_width(row) != SIZE[0]]
            assert not wrong, (key, wrong[:2])


async def test_a_1_mib_message_expands_in_bounded_parts_and_keys_still_work(seeded):
    ids = add_hostile(seeded)
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.screen.go_to(ids["w-big"])
        await settle(app, pilot)
        pane = app.screen.pane
        assert "more lines hidden: press x to expand" in pane.thread_text
        for part in range(1, 4):
            pane.toggle_expand()  # what x does
            await pilot.pause()
            assert f"part {part} of" in pane.thread_text
            # Each press lays out one bounded part, never the whole 1 MiB (the benchmark times it).
            assert len(pane.thread_text) < 4 * PART_CHARS
        # The thread view builds strips for the rows on screen only.
        assert len(pane.query_one("#thread")._strips) <= SIZE[1]
        await pilot.press("x", "k")  # a key right behind an expand is handled too
        await settle(app, pilot)
        assert app.screen.pane.conversation_id != ids["w-big"]


async def test_a_stored_canned_body_with_escapes_expands_clean_in_the_composer(seeded):
    library = CannedLibrary(seeded.store)
    # Stored before import refused escapes (or written to the DB by another tool).
    library.create(CannedDraft("evil", "Evil", "Hi {first_name}\x1b]0;pwned\x07\x1b]52;c;ZXZpbA==\x07 ok"))
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("j", "r", *"/evil", "tab")
        await settle(app, pilot)
        text = app.screen.query_one("#composer-text", TextArea).text
        assert text == "Hi Dana ok"
        assert "\x1b" not in screen_text(app) and "\x07" not in screen_text(app)
