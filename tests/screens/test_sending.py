"""Replying from the console: the outbox row is written first, the engine sends it, the pane follows."""

from __future__ import annotations


from agentconsole.sync.engine import ConnectorState, Engine
from agentconsole.domain.errors import RateLimited
from agentconsole.domain.models import Capabilities, Channel, FetchResult, OutboundRequest, SendResult
from screens.inbox.header import connector_status

from tests.screens.helpers import screen_text, settle, wait_until

SIZE = (120, 36)


class RecordingConnector:
    """A channel that accepts every send and remembers it (the network side is not under test here)."""

    channel = Channel.X
    capabilities = Capabilities(max_length=280)
    poll_interval = 30.0

    def __init__(self, clock, fetch_error: Exception | None = None) -> None:
        self.clock = clock
        self.sent: list[OutboundRequest] = []
        self.fetch_error = fetch_error

    async def fetch(self, cursor):
        if self.fetch_error is not None:
            raise self.fetch_error
        return FetchResult([], cursor)

    async def send(self, request: OutboundRequest) -> SendResult:
        self.sent.append(request)
        return SendResult(f"sent-{len(self.sent)}", self.clock.now())

    async def find_sent(self, request):
        return None

    async def check(self):
        return None

    async def close(self):
        return None


def outbox_rows(store):
    return store.conn.execute("SELECT conversation_id, text, state, agent_id, source FROM outbox").fetchall()


async def test_reply_is_queued_in_the_outbox_without_an_engine(seeded):
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("j", "r", *"On its way, Dana", "ctrl+s")
        await settle(app, pilot)
        rows = outbox_rows(seeded.store)
        assert [tuple(r) for r in rows] == [(seeded.ids["dana"], "On its way, Dana", "pending", seeded.agent_id,
                                             "personal")]
        app.screen.conversations.select_id(seeded.ids["dana"])  # the cursor went on to the next one
        await settle(app, pilot)
        text = screen_text(app)
        assert "▶ reply · sending…" in text and "On its way, Dana" in text
        assert not app.screen.composer.display
        assert ("reply", seeded.ids["dana"]) not in app.screen.drafts


async def test_engine_sends_the_reply_and_the_thread_shows_it(seeded):
    x_account = seeded.store.ensure_account("brand-x", Channel.X, "demo")
    fb_account = seeded.store.ensure_account("brand-fb", Channel.FACEBOOK, "demo")
    x = RecordingConnector(seeded.clock)
    fb = RecordingConnector(seeded.clock, RateLimited("slow down", retry_after=90))
    engine = Engine(seeded.store, {x_account: x, fb_account: fb}, clock=seeded.clock)
    app = seeded.app(engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(app, pilot, lambda: "brand-x ok" in screen_text(app))
        await wait_until(app, pilot, lambda: "brand-fb retrying in 1m" in screen_text(app)
                         or "brand-fb retrying in 90s" in screen_text(app))
        await pilot.press("j", "r", *"Sorry Dana, sending a new one", "ctrl+s")
        await wait_until(app, pilot, lambda: len(x.sent) == 1)
        assert x.sent[0].text == "Sorry Dana, sending a new one"
        assert x.sent[0].thread_key == "t-dana"
        app.screen.conversations.select_id(seeded.ids["dana"])
        await wait_until(app, pilot, lambda: "sending…" not in screen_text(app)
                         and "▶ out " in screen_text(app))
        conversation = seeded.store.conversation(seeded.ids["dana"])
        assert not conversation.needs_reply
        assert [tuple(r)[2] for r in outbox_rows(seeded.store)] == ["sent"]
        assert "Waiting 4" in screen_text(app)  # Dana was answered


def test_connector_status_words():
    state = ConnectorState(1, "brand-x", "retrying", "rate limited", retry_at=112.0)
    assert connector_status(state, 100.0) == "retrying in 12s (rate limited)"
    assert connector_status(ConnectorState(1, "a", "auth", "token expired"), 0) == \
        "sign-in needed: token expired"
    assert connector_status(ConnectorState(1, "a", "ok"), 0) == "ok"


async def test_reply_without_the_customers_name_needs_a_second_ctrl_s(seeded):
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("j", "r", *"On its way", "ctrl+s")
        await settle(app, pilot)
        assert outbox_rows(seeded.store) == []
        assert "never uses the customer's name" in screen_text(app)
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert [r[1] for r in outbox_rows(seeded.store)] == ["On its way"]


async def test_a_hand_typed_placeholder_never_reaches_the_customer(seeded):
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("j", "r", *"Hi {first_name}, your order {order_number} ships today.")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        await pilot.press("ctrl+s")  # a second try is not an override
        await settle(app, pilot)
        assert outbox_rows(seeded.store) == []
        shown = screen_text(app)
        assert "fill in {first_name}, {order_number} before" in shown and "Fix it to send" in shown


async def test_after_a_reply_the_cursor_goes_on_to_the_next_conversation(seeded):
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("j", "r", *"On its way, Dana", "ctrl+s")  # Dana, second in the list
        await settle(app, pilot)
        assert app.screen.conversations.selected_id == seeded.ids["long"]  # Pat, who was below her
        assert "Pat Paste" in screen_text(app).split("Conversation", 2)[-1]


async def test_reply_and_resolve_marks_the_conversation_done_once_the_reply_is_accepted(seeded):
    x_account = seeded.store.ensure_account("brand-x", Channel.X, "demo")
    x = RecordingConnector(seeded.clock)
    engine = Engine(seeded.store, {x_account: x}, clock=seeded.clock)
    app = seeded.app(engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("j", "r", *"On its way, Dana")
        await settle(app, pilot)
        assert "Send & done" in screen_text(app)  # the composer's key line offers it
        await pilot.press("ctrl+r")
        await wait_until(app, pilot, lambda: len(x.sent) == 1)
        await wait_until(app, pilot, lambda: seeded.store.conversation(seeded.ids["dana"]).status == "done")
        assert seeded.store.conn.execute("SELECT resolve_after FROM outbox").fetchone()[0] == 1


async def test_shift_r_replies_all_on_an_email_showing_the_copies_first(seeded):
    """R on an email copies everyone the answered message went to but us, named in the composer before
    sending; on a social post it does nothing (there is nobody else to copy)."""
    from agentconsole.domain.models import InboundMessage, Kind, Person

    mail = next(a.id for a in seeded.store.accounts() if a.name == "support-mail")
    with seeded.store.transaction() as conn:  # the account's own address, as `account add email` keeps it
        conn.execute("UPDATE accounts SET handle = 'support@shop.test' WHERE id = ?", (mail,))
    raw = (b"From: Kim Lee <kim@example.com>\r\nTo: support@shop.test, Bob <bob@example.com>\r\n"
           b"Cc: eve@example.com\r\nSubject: Order 55\r\nMessage-ID: <k1@example.com>\r\n\r\nwhere is it?\r\n")
    kim = Person("kim@example.com", "kim@example.com", "Kim Lee")
    seeded.store.ingest(mail, [InboundMessage("<k1@example.com>", "<k1@example.com>", Kind.EMAIL, kim,
                                              "where is it?", seeded.clock.now() - 60, raw=raw,
                                              subject="Order 55")])
    kim_id = seeded.store.conn.execute("SELECT id FROM conversations WHERE thread_key = '<k1@example.com>'"
                                       ).fetchone()[0]
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.screen.go_to(seeded.ids["dana"])
        await settle(app, pilot)
        await pilot.press("R")  # an X post: nothing to copy, no composer
        await settle(app, pilot)
        assert not app.screen.composer.display
        app.screen.go_to(kim_id)
        await settle(app, pilot)
        await pilot.press("R")
        for _ in range(50):
            await settle(app, pilot)
            if app.screen.composer.display:
                break
        assert "Reply all on Email" in screen_text(app) and "Cc bob@example.com, eve@example.com" in screen_text(app)
        await pilot.press(*"Hi Kim, it ships today.", "ctrl+s")
        await settle(app, pilot)
    item = seeded.store.conn.execute("SELECT request FROM outbox WHERE conversation_id = ?", (kim_id,)).fetchone()
    assert item is not None and '"cc": ["bob@example.com", "eve@example.com"]' in item[0]
