"""Shifts: hello and goodbye through the outbox, the banner, the hand-off note, away replies, history."""

from __future__ import annotations

import sqlite3

import pytest

from tests import pg

from agentconsole.shifts.away import AwayReplies
from agentconsole.cli import ensure_demo_accounts
from agentconsole.sync.engine import Engine
from agentconsole.domain.errors import PermanentError
from agentconsole.domain.models import Capabilities, Channel, InboundMessage, Kind, Person
from agentconsole.replies.outbox import Outbox
from agentconsole.shifts.banner import ERROR, OK, build_banner
from agentconsole.shifts.service import DEFAULT_HELLO, ShiftError, Shifts

from connectors import build

from tests.core.fakes import ScriptedConnector

pytestmark = pytest.mark.both_backends


# These queue posts through replies/outbox.py, whose SQL is not portable yet (see tests/pg.py).
THROUGH_THE_OUTBOX = {
    "test_start_queues_the_hello_to_the_chosen_accounts_only", "test_a_failing_post_is_reported_and_does_not_block_the_shift",
    "test_banner_shows_who_since_until_where_the_hello_went_and_overdue", "test_history_counts_answers_and_median_first_response",
    "test_end_queues_the_goodbye_and_notes_the_open_conversations", "test_away_reply_goes_once_per_customer_per_off_period",
    "test_hello_through_the_demo_connector_reaches_only_the_chosen_accounts"}


@pytest.fixture(autouse=True)
def _outbox_pending(request):
    if request.node.originalname in THROUGH_THE_OUTBOX:
        pg.outbox_not_portable_yet(request)

HOUR = 3600.0
DANA = Person("u1", "dana_k", "Dana Kim")
SAM = Person("u2", "sam_o", "Sam Ortiz")


class Workspace:
    """Three accounts (X, Mastodon, email), scripted connectors behind an engine, two agents."""

    def __init__(self, store, clock, fail_mastodon=None):
        self.store, self.clock = store, clock
        self.x = store.ensure_account("shop-x", "x", "scripted", handle="shop")
        self.m = store.ensure_account("shop-m", "mastodon", "scripted", handle="shop@mstdn")
        self.mail = store.ensure_account("shop-mail", "email", "scripted", handle="help@shop.test")
        self.conns = {}
        for account, channel, post in ((self.x, Channel.X, True), (self.m, Channel.MASTODON, True),
                                       (self.mail, Channel.EMAIL, False)):
            conn = ScriptedConnector(clock, capabilities=Capabilities(public_post=post, idempotent_send=True),
                                     fail_send=fail_mastodon if account == self.m else None)
            conn.channel = channel
            self.conns[account] = conn
        self.engine = Engine(store, self.conns, clock=clock)
        self.shifts = Shifts(store, {a: c.capabilities for a, c in self.conns.items()})
        self.alice = store.ensure_agent("Alice Ng", "AN", "UTC")
        self.bob = store.ensure_agent("Bob Li", "BL", "UTC")

    def posts(self, account):
        return [r for r in self.conns[account].sent if r.action == "post"]

    def inbound(self, account, person, text, thread, at=None, kind=Kind.PUBLIC):
        msg = InboundMessage(f"{thread}-{text}", thread, kind, person, text,
                             self.clock.now() if at is None else at)
        return self.store.ingest(account, [msg], set_cursor=False).conversation_ids


@pytest.fixture
def ws(store, clock):
    return Workspace(store, clock)


async def test_start_queues_the_hello_to_the_chosen_accounts_only(ws, clock):
    result = ws.shifts.start(ws.alice, planned_end=clock.now() + 8 * HOUR, hello={ws.x: DEFAULT_HELLO})
    assert [p.account_id for p in result.posts] == [ws.x]
    assert result.posts[0].state == "pending"
    await ws.engine.dispatch_once()
    sent = ws.posts(ws.x)
    assert [r.text for r in sent] == ["Hi! Alice here (^AN) until 17:00 UTC — ask away."]
    assert ws.posts(ws.m) == [] and ws.posts(ws.mail) == []
    assert ws.shifts.posts(result.shift.id)[0].state == "sent"


async def test_post_nothing_starts_the_shift_without_any_post(ws, clock):
    result = ws.shifts.start(ws.alice, planned_end=None, hello={})
    assert result.posts == ()
    assert ws.store.conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0
    assert "no hello post" in build_banner(ws.shifts).text()


def test_defaults_leave_email_out_because_it_cannot_post(ws):
    by_id = {s.account.id: s for s in ws.shifts.accounts()}
    assert by_id[ws.x].hello and by_id[ws.m].hello
    assert not by_id[ws.mail].hello and not by_id[ws.mail].can_post
    ws.shifts.configure(ws.m, hello=False)
    assert not {s.account.id: s for s in ws.shifts.accounts()}[ws.m].hello


def test_preview_measures_each_channel_and_flags_problems(ws):
    settings = {s.account.id: s for s in ws.shifts.accounts()}
    values = ws.shifts.values(ws.alice)
    long = "Hi {agent_first_name}! " + "x" * 290
    x_preview = ws.shifts.preview(settings[ws.x], long, values)
    m_preview = ws.shifts.preview(settings[ws.m], long, values)
    assert x_preview.length.limit == 280 and "too long" in x_preview.problem
    assert m_preview.ok and m_preview.length.limit == 500
    assert "unfilled {shift_end}" == ws.shifts.preview(settings[ws.x], "until {shift_end}", values).problem
    assert "template error" in ws.shifts.preview(settings[ws.x], "hi {nope}", values).problem
    assert ws.shifts.preview(settings[ws.mail], DEFAULT_HELLO, values).problem
    # An instance with a smaller limit than Mastodon's default is measured against its own.
    small = Shifts(ws.store, {ws.m: Capabilities(public_post=True, max_length=100)})
    m_small = {s.account.id: s for s in small.accounts()}[ws.m]
    assert small.preview(m_small, long, values).length.limit == 100


async def test_banner_shows_who_since_until_where_the_hello_went_and_overdue(ws, clock):
    off = build_banner(ws.shifts)
    assert not off.on_shift and off.text() == "○ Off shift · press S to start a shift"
    ws.shifts.start(ws.alice, planned_end=clock.now() + 8 * HOUR, hello={ws.x: DEFAULT_HELLO, ws.m: DEFAULT_HELLO})
    assert "hello queued for X, Mastodon" in build_banner(ws.shifts).text()
    await ws.engine.dispatch_once()
    clock.advance(30 * 60)
    ws.shifts.start(ws.bob, planned_end=None, hello={})
    banner = build_banner(ws.shifts)
    text = banner.text()
    assert text.startswith("● On shift: Alice Ng (AN) since 09:00 until 17:00 · hello posted to X, Mastodon")
    assert "Bob Li (BL) since 09:30 · no hello post" in text
    assert ("hello posted to X, Mastodon", OK) in banner.parts()
    assert "has passed" not in text
    clock.advance(8 * HOUR)
    assert "planned end 17:00 has passed" in build_banner(ws.shifts).text()


async def test_a_failing_post_is_reported_and_does_not_block_the_shift(store, clock):
    ws = Workspace(store, clock, fail_mastodon=[PermanentError("account suspended")])
    too_long = "{agent_name} " + "y" * 300
    result = ws.shifts.start(ws.alice, planned_end=None, hello={ws.m: DEFAULT_HELLO, ws.x: too_long})
    assert ws.shifts.current(ws.alice) is not None
    await ws.engine.dispatch_once()
    states = {p.account_id: (p.state, p.error) for p in ws.shifts.posts(result.shift.id)}
    assert states[ws.m] == ("failed", "account suspended")
    assert states[ws.x][0] == "skipped" and "too long" in states[ws.x][1]
    banner = build_banner(ws.shifts)
    assert ("hello failed on Mastodon: account suspended", ERROR) in banner.parts()
    assert "hello not posted on X: " in banner.text()
    # The shift goes on: it can be ended normally.
    assert ws.shifts.end(ws.alice, goodbye={}).shift.ended_at == clock.now()


def test_starting_twice_and_ending_off_shift_are_refused(ws, clock):
    with pytest.raises(ShiftError, match="not on shift"):
        ws.shifts.end(ws.alice, goodbye={})
    ws.shifts.start(ws.alice, planned_end=None, hello={})
    with pytest.raises(ShiftError, match="already on shift"):
        ws.shifts.start(ws.alice, planned_end=None, hello={})
    with pytest.raises(ShiftError, match="future"):
        ws.shifts.start(ws.bob, planned_end=clock.now() - 1, hello={})
    # The database itself refuses a second open shift for one agent (two consoles racing).
    with pytest.raises(sqlite3.IntegrityError):
        ws.store.conn.execute("INSERT INTO shifts(agent_id, started_at) VALUES (?, ?)", (ws.alice, clock.now()))
    stale = ws.shifts.current(ws.alice)
    ws.shifts.end(ws.alice, goodbye={})
    ws.shifts.current = lambda agent_id: stale  # a console that read the shift before the other ended it
    with pytest.raises(ShiftError, match="already ended"):
        ws.shifts.end(ws.alice, goodbye={ws.x: "bye"})
    assert ws.store.conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0


async def test_end_queues_the_goodbye_and_notes_the_open_conversations(ws, clock):
    t = clock.now()
    dana = ws.inbound(ws.x, DANA, "my order never arrived", "t-dana", at=t - 42 * 60)[0]
    sam = ws.inbound(ws.m, SAM, "is the store open sunday", "t-sam", at=t - 10 * 60)[0]
    done = ws.inbound(ws.m, SAM, "thanks!", "t-done", at=t - 20 * 60)[0]
    ws.store.set_status(done, "done", None)
    ws.store.add_note(dana, ws.alice, "refund promised by phone")
    ws.shifts.start(ws.alice, planned_end=t + 8 * HOUR, hello={})
    ws.store.assign(dana, ws.alice, ws.alice)
    reply = Outbox(ws.store).enqueue_reply(sam, "Yes, 10 to 4!", agent_id=ws.alice)
    await ws.engine.dispatch_once()
    assert Outbox(ws.store).item(reply).state == "sent"

    draft = ws.shifts.draft_note()
    lines = draft.splitlines()
    assert lines[0] == "Open work: 2 open, 1 waiting."
    assert lines[1] == (f"- #{dana} Dana Kim · X public · waiting 42m · assigned to Alice Ng"
                        " · note: refund promised by phone")
    assert lines[2] == f"- #{sam} Sam Ortiz · Mastodon public · answered · unassigned"
    assert f"#{done} " not in draft

    next_start = t + 24 * HOUR
    result = ws.shifts.end(ws.alice, goodbye={ws.x: ws.shifts.accounts()[1].goodbye_for(True)},
                           next_agent="Bob Li", next_start=next_start, note=draft + "\n\nCall the courier.",
                           assignments="next")
    assert result.reassigned == 1 and result.held == 1
    # Bob is off shift: the conversation waits unassigned for him (nobody is assigned work off shift).
    assert ws.store.conversation(dana).assignee_name == ""
    await ws.engine.dispatch_once()
    assert [r.text for r in ws.posts(ws.x)] == [
        "That's it from Alice today — Bob Li takes over at Wed 09:00 UTC."]
    assert result.shift.handoff_note.endswith("Call the courier.")
    assert "refund promised" in result.shift.handoff_note
    assert build_banner(ws.shifts).text() == ("○ Off shift since 09:00 · next: Bob Li at Wed 09:00"
                                              " · press S to start a shift")


def test_goodbye_without_a_next_agent_says_when_someone_is_back(ws, clock):
    settings = {s.account.id: s for s in ws.shifts.accounts()}
    values = ws.shifts.values(ws.alice, next_start=clock.now() + 2 * HOUR)
    preview = ws.shifts.preview(settings[ws.m], settings[ws.m].goodbye_for(False), values)
    assert preview.text == ("That's it from Alice today. We're back at 11:00 UTC; "
                            "leave us a DM and we'll answer first thing.")


def test_the_next_agent_sees_and_acknowledges_the_note(ws, clock):
    ws.shifts.start(ws.alice, planned_end=None, hello={})
    ended = ws.shifts.end(ws.alice, goodbye={}, note="Dana's refund is pending.").shift
    clock.advance(HOUR)
    assert [s.handoff_note for s in ws.shifts.pending_handoffs()] == ["Dana's refund is pending."]
    with pytest.raises(ShiftError, match="acknowledge"):
        ws.shifts.start(ws.bob, planned_end=None, hello={})
    ws.shifts.start(ws.bob, planned_end=None, hello={}, acknowledge=[ended.id])
    assert ws.shifts.pending_handoffs() == []
    assert ws.shifts.shift(ended.id).acknowledged_by == "Bob Li"


async def test_away_reply_goes_once_per_customer_per_off_period(ws, clock):
    away = AwayReplies(ws.shifts)
    ws.shifts.configure(ws.x, away=True)
    ws.inbound(ws.x, DANA, "anyone there", "t-early")
    assert away.send_due() == []  # no shift has ever ended: no off period, no backlog answered
    ws.shifts.start(ws.alice, planned_end=None, hello={})
    clock.advance(60)
    ws.inbound(ws.x, SAM, "hello?", "t-sam-on")
    assert away.send_due() == []  # someone is on shift
    clock.advance(60)
    ws.shifts.end(ws.alice, goodbye={}, next_start=clock.now() + 12 * HOUR)
    clock.advance(60)
    dana = ws.inbound(ws.x, DANA, "still nothing", "t-dana-1")[0]
    ws.inbound(ws.m, SAM, "mastodon has away off", "t-sam-m")
    first = away.send_due()
    assert len(first) == 1
    clock.advance(60)
    ws.inbound(ws.x, DANA, "a second thread", "t-dana-2")
    assert away.send_due() == []  # Dana already had hers in this off period
    await ws.engine.dispatch_once()
    texts = [r.text for r in ws.conns[ws.x].sent]
    assert texts == ["Thanks for your message! Nobody is on shift right now; we're back at 21:02 UTC"
                     " and will answer you then."]
    conv = ws.store.conversation(dana)
    assert conv.needs_reply and conv.first_response_at is None  # an away reply is not an answer
    # A new off period: Dana may get one again.
    ws.shifts.start(ws.bob, planned_end=None, hello={})
    ws.shifts.end(ws.bob, goodbye={})
    clock.advance(60)
    ws.inbound(ws.x, DANA, "back again", "t-dana-3")
    assert len(away.send_due()) == 1


async def test_history_counts_answers_and_median_first_response(ws, clock):
    t = clock.now()
    a = ws.inbound(ws.x, DANA, "question one", "t-a", at=t)[0]
    b = ws.inbound(ws.m, SAM, "question two", "t-b", at=t)[0]
    ws.shifts.start(ws.alice, planned_end=t + HOUR, hello={ws.x: DEFAULT_HELLO})
    outbox = Outbox(ws.store)
    clock.advance(10 * 60)
    outbox.enqueue_reply(a, "answer one", agent_id=ws.alice)
    await ws.engine.dispatch_once()
    clock.advance(20 * 60)
    outbox.enqueue_reply(b, "answer two", agent_id=ws.alice)
    await ws.engine.dispatch_once()
    live = ws.shifts.history()[0]
    assert (live.answered, live.median_first_response) == (2, 20 * 60.0)
    ws.shifts.end(ws.alice, goodbye={ws.x: "Bye from {agent_first_name}"})
    await ws.engine.dispatch_once()
    record = ws.shifts.history()[0]
    assert (record.answered, record.median_first_response) == (2, 20 * 60.0)
    assert [p.state for p in record.hello] == ["sent"] and [p.state for p in record.goodbye] == ["sent"]
    assert record.shift.ended_at == t + 30 * 60


async def test_hello_through_the_demo_connector_reaches_only_the_chosen_accounts(store, clock):
    ids = dict(zip(("x", "facebook", "mastodon", "bluesky", "email"), ensure_demo_accounts(store)))
    demo = {account.id: build(account, clock) for account in store.accounts()}
    shifts = Shifts(store, {aid: c.capabilities for aid, c in demo.items()})
    assert not {s.account.id: s for s in shifts.accounts()}[ids["email"]].can_post
    alice = store.ensure_agent("Alice Ng", "AN", "UTC")
    result = shifts.start(alice, planned_end=clock.now() + 8 * HOUR,
                          hello={ids["x"]: DEFAULT_HELLO, ids["mastodon"]: DEFAULT_HELLO})
    await Engine(store, demo, clock=clock).dispatch_once()
    sent = {p.account_id: p.state for p in shifts.posts(result.shift.id)}
    assert sent == {ids["x"]: "sent", ids["mastodon"]: "sent"}
    items = store.conn.execute("SELECT account_id, state, external_id FROM outbox").fetchall()
    assert {r[0] for r in items} == {ids["x"], ids["mastodon"]}
    assert all(r[2].startswith("demo-out-") for r in items)
    assert "hello posted to X, Mastodon" in build_banner(shifts).text()


def test_the_note_names_the_channel_and_kind_plainly(ws, clock):
    ws.inbound(ws.mail, Person("e1", "j.li@example.com", "J. Li"), "invoice", "t-mail", kind=Kind.EMAIL)
    ws.inbound(ws.x, DANA, "dm question", "t-dm", kind=Kind.DM)
    lines = ws.shifts.draft_note().splitlines()[1:]
    assert [line.split(" · ")[1] for line in lines] == ["Email", "X DM"]
