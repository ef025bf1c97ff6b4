"""Pilot walk of answers from history: the canned picker shows our earlier reply to a similar question,
with its date and channel, and inserts it filled for this customer."""

from __future__ import annotations

from textual.widgets import TextArea

from agentconsole.domain.models import Channel, Direction, InboundMessage, Kind, Person
from screens.canned.history_picker import HistoryPickerModal

from tests.screens.helpers import screen_text, settle

SIZE = (120, 36)


async def test_t_shows_our_earlier_answer_and_inserts_it_for_this_customer(seeded):
    store, now = seeded.store, seeded.clock.now()
    mail = store.ensure_account("support-mail", Channel.EMAIL, "demo")
    olga = Person("u9", "olga@example.com", "Olga Berg")
    store.ingest(mail, [
        InboundMessage("h1", "t-h1", Kind.EMAIL, olga, "are you open on Sunday afternoons?", now - 30 * 86400),
        InboundMessage("h2", "t-h1", Kind.EMAIL, Person("us", "support@example.test", "Support"),
                       "Hi Olga! We're open 12–16 on Sundays.", now - 30 * 86400 + 600, Direction.OUT,
                       extra={"recipient": olga}),
    ])
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.screen.conversations.select_id(seeded.ids["sam"])  # "Is the store open on Sunday?"
        await settle(app, pilot)
        await pilot.press("t")
        await settle(app, pilot)
        assert isinstance(app.screen, HistoryPickerModal)
        text = screen_text(app)
        assert "We answered this before · 1 · tab to choose" in text
        assert "2025-10-25 Email  Hi Sam! We're open 12–16 on Sundays." in text  # filled for Sam
        await pilot.press("tab")
        await settle(app, pilot)
        preview = str(app.screen.query_one("#picker-preview").render())
        assert preview.startswith("Hi Sam! We're open 12–16 on Sundays.")
        assert "sent 2025-10-25 on Email, to: are you open on Sunday afternoons?" in preview
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.screen.query_one("#composer-text", TextArea).text.startswith("Hi Sam! We're open 12–16")
