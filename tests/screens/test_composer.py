"""The composer feature (screens/composer): its mode is an enum whatever form the caller passed, each mode
keeps its own draft, and the palette's decisions on a send reach the outbox."""

from __future__ import annotations

from textual.widgets import TextArea

from agentconsole.domain.models import OutboundRequest, SendAction
from agentconsole.domain.records import OutboxState
from agentconsole.replies.outbox import Outbox

from screens.composer.composer import ComposerMode

from tests.screens.helpers import settle

SIZE = (120, 36)


async def test_the_mode_is_an_enum_and_a_note_and_a_reply_keep_their_own_drafts(seeded):
    dana = seeded.ids["dana"]
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        screen = app.screen
        screen.go_to(dana)
        await settle(app, pilot)
        screen._open_composer("note")  # the plain word, as a conversation shown after an escalation asks
        await settle(app, pilot)
        assert screen.composer.mode is ComposerMode.NOTE
        screen.query_one(TextArea).load_text("call back tomorrow")
        await pilot.press("escape")
        await settle(app, pilot)
        await pilot.press("r")
        await settle(app, pilot)
        assert screen.composer.mode is ComposerMode.REPLY
        assert screen.query_one(TextArea).text == ""  # the note's draft stays with the note
        screen.query_one(TextArea).load_text("On its way")
        await pilot.press("escape")
        await settle(app, pilot)
        assert {key: draft.text for key, draft in screen.drafts.items()} == {
            (ComposerMode.NOTE, dana): "call back tomorrow", (ComposerMode.REPLY, dana): "On its way"}
        assert all(type(mode) is ComposerMode for mode, _ in screen.drafts)
        assert screen.current_draft_text().splitlines() == ["call back tomorrow", "On its way"]
        await pilot.press("c")
        await settle(app, pilot)
        assert screen.query_one(TextArea).text == "call back tomorrow"


async def test_the_palette_decides_a_send_and_offers_a_public_ask_for_a_cancelled_reply(seeded):
    dana = seeded.ids["dana"]
    outbox = Outbox(seeded.store)
    unsure = outbox.enqueue_reply(dana, "Your parcel left today", agent_id=None)
    refused = outbox.enqueue_reply(dana, "Here is your tracking link", agent_id=None)
    conversation = seeded.store.conversation(dana)
    request = OutboundRequest(idempotency_key="follow", action=SendAction.REPLY, text="We sent you a DM",
                              thread_key=None, in_reply_to=None, recipient=None, subject=None, kind=conversation.kind)
    cancelled = outbox.enqueue(conversation.account_id, request, conversation_id=dana, agent_id=None, after=refused)
    outbox.claim_due()
    outbox.mark_unsure(unsure, "no answer: it may have been sent")
    outbox.mark_failed(refused, "refused")
    assert outbox.item(cancelled).state == OutboxState.CANCELLED
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.screen.go_to(dana)
        await settle(app, pilot)
        entries = {title: run for title, _, run in app.screen.palette_commands()}
        assert {f"{verb} unsure reply #{unsure}" for verb in ("Resend", "Mark as sent", "Discard")} <= set(entries)
        assert f"Discard failed reply #{refused}" in entries
        assert f"Ask publicly to DM us instead (#{cancelled})" in entries
        assert f"Ask publicly to DM us instead (#{refused})" not in entries  # failed, not cancelled
        entries[f"Discard unsure reply #{unsure}"]()
        await settle(app, pilot)
        entries[f"Mark as sent failed reply #{refused}"]()
        await settle(app, pilot)
    assert outbox.item(unsure).state == OutboxState.DISCARDED
    assert outbox.item(refused).state == OutboxState.SENT
