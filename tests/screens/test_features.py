"""The feature verbs in the running console: canned replies, DM escalation, crisis mode, shifts, metrics."""

from __future__ import annotations

import asyncio

from textual.widgets import TextArea

from agentconsole.replies.canned import CannedLibrary
from agentconsole.sync.engine import Engine
from agentconsole.domain.models import Capabilities, Status
from screens.canned.picker import CannedReplyModal
from screens.escalation.dialogs import CrisisModal, EscalateModal
from screens.metrics.screen import MetricsScreen
from screens.shifts.dialogs import StartShiftModal
from tests.core.fakes import ScriptedConnector

from tests.screens.helpers import screen_text, settle, wait_until

SIZE = (120, 36)
DM_OK = Capabilities(direct_message=True, public_post=True, idempotent_send=True, max_length=280)


def outbox(store):
    return [tuple(r) for r in store.conn.execute(
        "SELECT conversation_id, action, state, source, text FROM outbox ORDER BY id")]


def engine_for(seeded, accounts=("brand-x", "brand-masto", "brand-bsky")):
    names = {a.name: a.id for a in seeded.store.accounts()}
    connectors = {names[n]: ScriptedConnector(seeded.clock, capabilities=DM_OK) for n in accounts}
    return Engine(seeded.store, connectors, clock=seeded.clock), connectors


async def test_canned_reply_from_t_to_a_sent_personalised_reply(seeded):
    CannedLibrary(seeded.store).install_starters()
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("j", "t")  # Dana: "my order never arrived ..."
        await settle(app, pilot)
        assert isinstance(app.screen, CannedReplyModal)
        assert "Delivery complaint" in screen_text(app)
        await pilot.press("enter")
        await settle(app, pilot)
        composer_text = app.screen.query_one("#composer-text", TextArea).text
        assert composer_text.startswith("Hi Dana, I'm so sorry your order hasn't arrived")
        assert composer_text.endswith("^AN")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
    [(conversation, action, state, source, text)] = outbox(seeded.store)
    assert (conversation, action, state, source) == (seeded.ids["dana"], "reply", "pending", "canned")
    assert text == composer_text
    assert [t.usage_count for t in CannedLibrary(seeded.store).all() if t.shortcut == "delay"] == [1]


async def test_d_sends_the_dm_first_then_the_public_reply_and_lands_in_the_dm(seeded):
    engine, connectors = engine_for(seeded)
    app = seeded.app(engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("j", "d")  # Dana's public post on X
        await wait_until(app, pilot, lambda: isinstance(app.screen, EscalateModal))
        dm_text = app.screen.query_one("#dm-text", TextArea).text
        assert dm_text.startswith("Hi Dana")
        await pilot.press("ctrl+s")
        x = connectors[next(a.id for a in seeded.store.accounts() if a.name == "brand-x")]
        await wait_until(app, pilot, lambda: [r.action for r in x.sent] == ["dm", "reply"])
        public = seeded.store.conversation(seeded.ids["dana"])
        assert public.escalated and public.linked_id is not None
        await wait_until(app, pilot, lambda: app.screen.query_one("#composer-text", TextArea).has_focus)
        assert "Reply on X · dm" in screen_text(app)
        assert app.screen.pane.conversation_id == public.linked_id
        await pilot.press("escape", "escape", "L")  # back to the list, then to the public post
        await wait_until(app, pilot, lambda: app.screen.pane.conversation_id == seeded.ids["dana"])


async def test_d_on_email_says_why_not(seeded):
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        ids = list(app.screen.conversations.ids)
        for _ in range(ids.index(seeded.ids["li"])):
            await pilot.press("j")
        await settle(app, pilot)
        app.screen.action_escalate()
        await settle(app, pilot)
        assert any("email is already private" in n.message for n in app._notifications)
        assert outbox(seeded.store) == []


async def test_crisis_mode_one_status_and_a_dm_each(seeded):
    engine, connectors = engine_for(seeded)
    app = seeded.app(engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("j", "space")  # Dana (X, public)
        ids = list(app.screen.conversations.ids)
        for _ in range(ids.index(seeded.ids["li"]) - 1):
            await pilot.press("j")
        await pilot.press("space")  # J. Li's email: cannot be DMed
        await settle(app, pilot)
        assert len(app.screen.conversations.marked) == 2
        await pilot.press("D")
        await wait_until(app, pilot, lambda: isinstance(app.screen, CrisisModal))
        text = screen_text(app)
        assert "Crisis mode · 2 marked" in text and "no DM: email is already private" in text
        await pilot.press("ctrl+s")
        await wait_until(app, pilot, lambda: "DMs sent 1/1" in screen_text(app))
        # Dana's post was answered by her DM: it no longer waits (a single `d` answers in public).
        assert not seeded.store.conversation(seeded.ids["dana"]).needs_reply
        assert seeded.store.conversation(seeded.ids["li"]).needs_reply
    actions = sorted(r[1] for r in outbox(seeded.store))
    assert actions == ["dm", "post"]


async def test_shift_start_posts_hello_and_shows_the_banner(seeded):
    engine, connectors = engine_for(seeded)
    app = seeded.app(engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert "Off shift" in screen_text(app).splitlines()[0]
        await pilot.press("S")
        await wait_until(app, pilot, lambda: isinstance(app.screen, StartShiftModal))
        await pilot.press("ctrl+s")
        await wait_until(app, pilot, lambda: "On shift: Alice Ng" in screen_text(app).splitlines()[0])
    posts = [r for r in outbox(seeded.store) if r[1] == "post"]
    assert posts and all(r[3] == "shift" for r in posts)


async def test_m_opens_metrics_and_esc_returns(seeded):
    app = seeded.app()
    seeded.clock.advance(60)  # a period ends now, exclusive: Mo's "done" lies a minute before
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("m")
        await wait_until(app, pilot, lambda: isinstance(app.screen, MetricsScreen))
        await wait_until(app, pilot, lambda: "2h00m · 1 done" in screen_text(app))
        first = app.screen
        await pilot.press("escape")
        await settle(app, pilot)
        assert "Conversations" in screen_text(app)
        seeded.store.set_status(seeded.ids["ray"], Status.DONE, seeded.agent_id)
        seeded.clock.advance(60)
        await pilot.press("m")  # the same screen again, with figures read afresh
        await wait_until(app, pilot, lambda: " · 2 done" in screen_text(app))
        assert app.screen is first


async def test_crossing_the_target_is_told_once_and_notifications_are_inert(seeded):
    from agentconsole.config import Config

    app = seeded.app(config=Config(timezone="Europe/Berlin", bell_on_over=True))
    bells = []
    app.bell = lambda: bells.append(1)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert app._notifications == [] or all("Over target" not in n.message for n in app._notifications)
        seeded.clock.advance(56 * 60)  # every waiting conversation, Mal's hostile name too, crosses now
        await wait_until(app, pilot, lambda: any("Over target" in n.message for n in app._notifications))
        [note] = [n for n in app._notifications if "Over target" in n.message]
        assert note.message.startswith("Over target now: ") and note.message.endswith(" …")
        assert "\x1b" not in note.message and note.markup is False
        assert {seeded.ids[k] for k in ("dana", "sam", "long", "mal")} == app.screen._told_over  # not the email
        assert bells == [1]
        seeded.clock.advance(5)
        await settle(app, pilot)
        await asyncio.sleep(1.2)
        await settle(app, pilot)
        assert len([n for n in app._notifications if "Over target" in n.message]) == 1


async def test_slash_shortcut_and_tab_expand_inline(seeded):
    CannedLibrary(seeded.store).install_starters()
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("j", "r", *"Sorry! /delay", "tab")
        await settle(app, pilot)
        text = app.screen.query_one("#composer-text", TextArea).text
        assert text.startswith("Sorry! Hi Dana, I'm so sorry your order hasn't arrived")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
    assert [r[3] for r in outbox(seeded.store)] == ["edited"]


async def test_business_hours_count_only_open_time_in_the_list(seeded):
    from agentconsole.config import Config
    from agentconsole.response.hours import BusinessHours, HoursConfig

    # START is Monday 16:00 UTC; Dana has waited since 15:18. Open 09:00-17:00 UTC on weekdays.
    config = Config(timezone="UTC", hours=HoursConfig(by_account={"brand-x": BusinessHours()}))
    app = seeded.app(config=config)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        seeded.clock.advance(2 * 3600)  # 18:00: 2h42m on the wall clock, 1h42m of open time
        await asyncio.sleep(1.2)
        await settle(app, pilot)
        dana = next(line for line in screen_text(app).splitlines() if "Dana Kim" in line)
        assert "1h42m" in dana and "2h42m" not in dana
        sam = next(line for line in screen_text(app).splitlines() if "Sam Ortiz" in line and "FB" in line)
        assert "2h50m" in sam  # Facebook has no business hours configured: wall-clock time


async def test_crisis_status_too_long_for_x_is_blocked_before_sending_and_says_where(seeded):
    engine, connectors = engine_for(seeded)
    connectors[next(a.id for a in seeded.store.accounts() if a.name == "brand-masto")].capabilities = \
        Capabilities(direct_message=True, public_post=True, idempotent_send=True, max_length=500)
    app = seeded.app(engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        for name in ("dana", "ray"):  # an X post and a Mastodon post
            app.screen.conversations.select_id(seeded.ids[name])
            await pilot.press("space")
        await pilot.press("D")
        await wait_until(app, pilot, lambda: isinstance(app.screen, CrisisModal))
        assert "141/280 brand-x (X) · 141/500 brand-masto (Mastodon)" in screen_text(app)
        app.screen.query_one("#status-text", TextArea).text = "z" * 287
        await settle(app, pilot)
        shown = screen_text(app)
        assert "287/280 · 7 over brand-x (X)" in shown and "too long for brand-x (X)" in shown
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert isinstance(app.screen, CrisisModal) and outbox(seeded.store) == []
        app.screen.query_one("#status-text", TextArea).text = "We're on it; updates here."
        await pilot.press("ctrl+s")
        # Each account's status and each DM settle on their own: wait for all of them.
        await wait_until(app, pilot, lambda: all(part in screen_text(app) for part in (
            "Status on brand-masto (Mastodon): sent", "Status on brand-x (X): sent", "DMs sent 2/2")))


async def test_a_canned_draft_closed_and_reopened_still_counts_as_canned(seeded):
    CannedLibrary(seeded.store).install_starters()
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("j", "t")
        await settle(app, pilot)
        await pilot.press("enter")  # the best match goes into the composer
        await settle(app, pilot)
        await pilot.press("escape")  # closed before sending: the draft is kept ...
        await settle(app, pilot)
        await pilot.press("r")  # ... and reopened
        await settle(app, pilot)
        await pilot.press("ctrl+s")
        await settle(app, pilot)
    [(_conversation, _action, _state, source, _text)] = outbox(seeded.store)
    assert source == "canned"
