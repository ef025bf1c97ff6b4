"""Pilot walk of satisfaction: `e` on a DM of an account that asks queues the question; the customer's
"5" keeps the conversation done; the metrics screen shows CSAT per channel, agent and week."""

from __future__ import annotations

from agentconsole.domain.models import InboundMessage, Kind, Person
from agentconsole.satisfaction.service import DEFAULT_QUESTION, Surveys

from tests.screens.helpers import screen_text, settle

SIZE = (120, 40)


async def test_done_asks_the_answer_counts_and_metrics_show_csat(seeded):
    store = seeded.store
    fb = next(a.id for a in store.accounts() if a.name == "brand-fb")
    Surveys(store).configure(fb, enabled=True)
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.screen.conversations.select_id(seeded.ids["sam"])
        await settle(app, pilot)
        await pilot.press("e")
        await settle(app, pilot)
        assert any(n.message == "Marked done · satisfaction question queued" for n in app._notifications)
        [text] = [r[0] for r in store.conn.execute("SELECT text FROM outbox WHERE source = 'survey'")]
        assert text == DEFAULT_QUESTION
        store.ingest(fb, [InboundMessage("f-answer", "t-sam", Kind.DM, Person("u2", "sam.ortiz", "Sam Ortiz"),
                                         "5, thanks!", seeded.clock.now() + 30)])
        seeded.clock.advance(60)
        assert store.conversation(seeded.ids["sam"]).status == "done"
        await pilot.press("m")
        await settle(app, pilot)
        assert "Satisfaction (surveys)" in screen_text(app)
        panel = str(app.screen.query_one("#metrics-csat").render())
        assert "all                  1   100%   5.0" in panel
        assert "facebook             1   100%   5.0" in panel and "Alice Ng             1   100%   5.0" in panel
        assert "Sentiment of customers' English messages" in panel
