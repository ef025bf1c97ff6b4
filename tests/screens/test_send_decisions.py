"""Sends that may have been sent: the Decide view lists them, the pane says so, a stuck send shows how long."""

from __future__ import annotations

from agentconsole.replies.outbox import Outbox

from tests.screens.helpers import screen_text, settle

SIZE = (120, 36)


async def test_the_decide_view_and_the_pane_show_a_send_that_may_have_been_sent(seeded):
    outbox = Outbox(seeded.store)
    doubt = outbox.enqueue_reply(seeded.ids["dana"], "Your parcel left today", agent_id=None)
    stuck = outbox.enqueue_reply(seeded.ids["li"], "Invoice attached", agent_id=None)
    outbox.claim_due()
    outbox.mark_unsure(doubt, "no answer: it may have been sent")
    seeded.clock.advance(125)  # the invoice reply's send has hung this long
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert "9 Decide    1" in screen_text(app)
        await pilot.press("9")
        await settle(app, pilot)
        assert list(app.screen.conversations.ids) == [seeded.ids["dana"]]
        await pilot.press("enter")
        await settle(app, pilot)
        text = screen_text(app)
        assert "▶ reply · may have been sent: needs" in text and "mark as sent or discard" in text
        await pilot.press("6")  # Email: the invoice reply, still sending
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        assert "▶ reply · sending for 2m 05s" in screen_text(app)
    assert outbox.item(stuck).state == "sending"
