"""The demo connector: a realistic, deterministic backfill, live traffic, dedup by cursor, idempotent sends."""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict

import pytest

import connectors
from agentconsole.cli import build_connectors, ensure_demo_accounts
from agentconsole.channels.contract import Connector
from agentconsole.sync.engine import Engine
from agentconsole.domain.errors import PermanentError
from agentconsole.replies.escalation import escalate
from agentconsole.replies.lengths import measure
from agentconsole.domain.models import Channel, Direction, InboundMessage, Kind, OutboundRequest, Person
from agentconsole.replies.outbox import Outbox
from agentconsole.domain.rows import AccountRow
from connectors.demo.connector import DEMO_ACCOUNTS, MAX_PER_FETCH, DemoConnector, from_account

HOUR = 3600.0


def account(name: str = "demo-x", *, seed: int = 7, interval: float = 6.0, id: int = 1) -> AccountRow:
    _, channel, handle, display = next(a for a in DEMO_ACCOUNTS if a[0] == name)
    return AccountRow(id, name, str(channel), "demo", handle, display, {"seed": seed, "interval": interval},
                      True)


def threads_of(messages: list[InboundMessage]) -> dict[str, list[InboundMessage]]:
    threads: dict[str, list[InboundMessage]] = defaultdict(list)
    for m in sorted(messages, key=lambda m: m.sent_at):
        threads[m.thread_key].append(m)
    return threads


async def drain(demo: DemoConnector, cursor: str | None) -> list[InboundMessage]:
    """Everything due, fetching page after page as the engine does."""
    messages = []
    while True:
        page = await demo.fetch(cursor)
        messages += page.messages
        cursor = page.cursor
        if not page.more:
            return messages


def unanswered_since(thread: list[InboundMessage]) -> float:
    """When the customer's oldest message not yet answered arrived."""
    last_out = max((m.sent_at for m in thread if m.direction == Direction.OUT), default=0.0)
    return min(m.sent_at for m in thread if m.direction == Direction.IN and m.sent_at > last_out)


def scripts(text: str) -> set[str]:
    """The writing systems of the letters in *text* (LATIN, CJK, GREEK, ARABIC, ...)."""
    return {unicodedata.name(ch, "?").split()[0] for ch in text if ch.isalpha()}


# ---------------------------------------------------------------- backfill


@pytest.mark.parametrize("name", [a[0] for a in DEMO_ACCOUNTS])
async def test_backfill_is_a_believable_few_days(name, clock):
    demo = from_account(account(name), clock)
    result = await demo.fetch(None)
    now = clock.now()
    threads = threads_of(result.messages)
    assert 15 <= len(threads) <= 30
    assert result.cursor and not result.more
    assert all(now - 5.5 * 24 * HOUR <= m.sent_at <= now for m in result.messages)
    kinds = {m.kind for m in result.messages}
    if demo.channel == Channel.EMAIL:
        assert kinds == {Kind.EMAIL}
        assert all(m.subject for m in result.messages)
        assert max(len(t) for t in threads.values()) >= 3  # multi-message threads
        assert all("@" in m.author.handle for m in result.messages)
    else:
        assert kinds == {Kind.PUBLIC, Kind.DM}
    ours = [m for m in result.messages if m.direction == Direction.OUT]
    assert ours and all(m.author.display_name == "Juniper & Co (demo)" for m in ours)
    assert len({m.external_id for m in result.messages}) == len(result.messages)
    # Some answered, some still waiting: a few minutes up to several hours.
    waiting = {k: t for k, t in threads.items() if t[-1].direction == Direction.IN}
    answered = [t for t in threads.values() if t[-1].direction == Direction.OUT]
    assert 3 <= len(waiting) <= 8 and len(answered) >= 10
    waits = sorted(now - unanswered_since(t) for t in waiting.values())
    assert waits[0] < (HOUR if demo.channel == Channel.EMAIL else 15 * 60) and waits[-1] > 30 * 60
    # Repeat contacts: a customer wrote again before anyone answered.
    assert any(t[0].direction == t[1].direction == Direction.IN for t in threads.values() if len(t) > 1)
    # Our answers fit the channel.
    assert all(not measure(m.text, demo.channel, m.kind).over for m in ours)


async def test_backfill_shapes_handles_like_each_platform(clock):
    people = {}
    for name, *_ in DEMO_ACCOUNTS:
        result = await from_account(account(name), clock).fetch(None)
        people[name] = {m.author for m in result.messages if m.direction == Direction.IN}
    assert all(re.fullmatch(r"@[^@\s]+@[^@\s]+\.[a-z]+", p.handle) for p in people["demo-mastodon"])
    assert all(p.handle.endswith(".bsky.social") and p.external_id.startswith("did:plc:")
               for p in people["demo-bluesky"])
    assert all(re.fullmatch(r"@\w+", p.handle) for p in people["demo-x"])
    assert all(re.fullmatch(r"[\w.]+@[\w.-]+", p.handle) for p in people["demo-email"])
    everyone = set().union(*people.values())
    names = " ".join(p.display_name for p in everyone)
    assert {"CJK", "GREEK", "ARABIC", "CYRILLIC"} <= scripts(names)
    assert any(ord(ch) >= 0x1F300 for ch in names)  # emoji display names


async def test_backfill_carries_hostile_strings_for_the_ui_to_neutralise(clock, store):
    raw = []
    for name, *_ in DEMO_ACCOUNTS:
        raw += (await from_account(account(name), clock).fetch(None)).messages
    names = {m.author.display_name for m in raw}
    assert any("[@click=app.quit]" in n for n in names) and any("[/]" in n for n in names)
    assert any("\x1b[" in m.text for m in raw) and any("\x1b]" in m.text for m in raw)
    # Through the store they arrive inert: no escape character survives.
    ids = ensure_demo_accounts(store)
    built, _ = build_connectors(store, clock)
    for aid in ids:
        store.ingest(aid, (await built[aid].fetch(None)).messages)
    texts = [r[0] for r in store.conn.execute("SELECT text FROM messages")]
    assert not any("\x1b" in t for t in texts) and any("URGENT" in t for t in texts)


async def test_waiting_conversations_reach_the_inbox_with_some_over_target(clock, store):
    ids = ensure_demo_accounts(store)
    built, unavailable = build_connectors(store, clock)
    assert not unavailable and set(built) == set(ids)
    for aid in ids:
        result = await built[aid].fetch(None)
        store.ingest(aid, result.messages, result.cursor)
    count, oldest, _ = store.waiting_summary()
    rows = store.conversations_by_ids(store.conversation_ids("all")).values()
    social_over = [r for r in rows if r.needs_reply and r.kind != "email"
                   and clock.now() - r.waiting_since > HOUR]
    assert 15 <= count <= 40 and 1 <= len(social_over) <= 8
    assert all(r.is_demo for r in rows) and len(rows) >= 5 * 15
    assert {r.channel for r in rows} == {"x", "facebook", "mastodon", "bluesky", "email"}


async def test_backfill_is_deterministic_per_seed(clock):
    first = await from_account(account(seed=7), clock).fetch(None)
    again = await from_account(account(seed=7), clock).fetch(None)
    other = await from_account(account(seed=8), clock).fetch(None)
    assert first == again
    assert [m.text for m in first.messages] != [m.text for m in other.messages]


# ---------------------------------------------------------------- live traffic


async def test_advancing_the_clock_brings_new_messages(clock):
    demo = from_account(account(interval=6), clock)
    backfill = await demo.fetch(None)
    start = clock.now()
    assert (await demo.fetch(backfill.cursor)).messages == []  # no time passed, nothing new
    clock.advance(60)
    batch = await demo.fetch(backfill.cursor)
    assert 8 <= len(batch.messages) <= 11 and not batch.more
    assert all(start < m.sent_at <= clock.now() and m.direction == Direction.IN for m in batch.messages)
    known = {m.external_id for m in backfill.messages}
    assert not known & {m.external_id for m in batch.messages}
    # Over ten minutes in poll-sized steps: one message per interval on average.
    cursor, seen = batch.cursor, list(batch.messages)
    for _ in range(270):
        clock.advance(2)
        step = await demo.fetch(cursor)
        cursor, seen = step.cursor, seen + step.messages
    assert 99 <= len(seen) <= 101
    assert len({m.external_id for m in seen}) == len(seen)
    # New conversations and follow-ups in existing ones (from the backfill and from live traffic).
    backfill_keys = {m.thread_key for m in backfill.messages}
    keys = [m.thread_key for m in seen]
    assert any(k in backfill_keys for k in keys)
    assert len(set(keys) - backfill_keys) < len([k for k in keys if k not in backfill_keys])


async def test_the_same_cursor_yields_the_same_messages_and_the_store_keeps_them_once(clock, store):
    aid = store.ensure_account("demo-x", Channel.X, "demo", handle="@juniper_co", is_demo=True,
                               settings={"seed": 3})
    demo = from_account(store.account(aid), clock)
    backfill = await demo.fetch(None)
    store.ingest(aid, backfill.messages, backfill.cursor)
    clock.advance(90)
    cursor = store.cursor(aid)
    once = await demo.fetch(cursor)
    twice = await demo.fetch(cursor)
    restarted = await from_account(store.account(aid), clock).fetch(cursor)
    assert once.messages and once == twice == restarted
    first = store.ingest(aid, once.messages, once.cursor)
    second = store.ingest(aid, twice.messages, twice.cursor)
    assert first.new_messages == len(once.messages) and second.new_messages == 0
    assert second.duplicates == len(twice.messages)
    stored = store.conn.execute("SELECT count(*) FROM messages WHERE account_id = ?", (aid,)).fetchone()[0]
    assert stored == len(backfill.messages) + len(once.messages)
    # A repeated first sync (cursor lost) adds nothing either.
    assert store.ingest(aid, (await demo.fetch(None)).messages).new_messages == 0


async def test_a_long_gap_is_caught_up_in_capped_pages(clock):
    demo = from_account(account(interval=6), clock)
    cursor = (await demo.fetch(None)).cursor
    clock.advance(24 * HOUR)
    pages = []
    while True:
        page = await demo.fetch(cursor)
        pages.append(page)
        cursor = page.cursor
        if not page.more:
            break
    assert all(len(p.messages) <= MAX_PER_FETCH for p in pages) and pages[0].more
    caught_up = [m for p in pages for m in p.messages]
    assert 40 <= len(caught_up) <= 80  # the newest stretch, not a day's worth of thousands
    assert all(clock.now() - 10 * 60 < m.sent_at <= clock.now() for m in caught_up)
    assert len({m.external_id for m in caught_up}) == len(caught_up)
    clock.advance(6)
    assert len((await demo.fetch(cursor)).messages) <= 2


# ---------------------------------------------------------------- sending


def reply_to(thread: list[InboundMessage], key: str, text: str = "Sorry about that, on it now!"):
    return OutboundRequest(idempotency_key=key, action="reply", text=text, thread_key=thread[0].thread_key,
                           in_reply_to=thread[-1].external_id, kind=thread[0].kind,
                           recipient=thread[0].author)


async def test_send_is_idempotent_per_key(clock):
    demo = from_account(account(), clock)
    threads = threads_of((await demo.fetch(None)).messages)
    thread = next(iter(threads.values()))
    first = await demo.send(reply_to(thread, "k1"))
    clock.advance(5)
    again = await demo.send(reply_to(thread, "k1"))
    other = await demo.send(reply_to(thread, "k2"))
    assert first == again and first.sent_at == clock.now() - 5
    assert first.external_id.startswith("demo-out-") and first.thread_key == thread[0].thread_key
    assert other.external_id != first.external_id
    assert await demo.find_sent(reply_to(thread, "k1")) == first
    assert await demo.find_sent(reply_to(thread, "never-sent")) is None


async def test_customers_answer_some_replies_a_little_later(clock):
    demo = from_account(account("demo-mastodon"), clock)
    backfill = await demo.fetch(None)
    sent = {}
    for n, thread in enumerate(threads_of(backfill.messages).values()):
        result = await demo.send(reply_to(thread, f"reply-{n}"))
        await demo.send(reply_to(thread, f"reply-{n}"))  # a retry must not trigger a second answer
        sent[result.external_id] = thread
    cursor = (await demo.fetch(backfill.cursor)).cursor
    clock.advance(200)
    later = await drain(demo, cursor)
    answers = [m for m in later if m.in_reply_to in sent]
    assert len(sent) // 3 <= len(answers) < len(sent)
    assert len({m.in_reply_to for m in answers}) == len(answers)
    for answer in answers:
        thread = sent[answer.in_reply_to]
        assert answer.direction == Direction.IN and answer.thread_key == thread[0].thread_key
        assert answer.author == thread[0].author and answer.kind == thread[0].kind


async def test_dm_threads_are_stable_per_person_and_posts_get_no_customer(clock):
    demo = from_account(account(), clock)
    backfill = await demo.fetch(None)
    dm = next(m for m in backfill.messages if m.kind == Kind.DM and m.direction == Direction.IN)
    request = OutboundRequest("dm-1", "dm", "Hi! Could you DM us your order number?", kind=Kind.DM,
                              recipient=dm.author)
    result = await demo.send(request)
    again = await demo.send(OutboundRequest("dm-2", "dm", "Following up", kind=Kind.DM, recipient=dm.author))
    assert result.thread_key == again.thread_key == dm.thread_key
    stranger = Person("1234", "@new_person", "New Person")
    fresh = await demo.send(OutboundRequest("dm-3", "dm", "Hello!", kind=Kind.DM, recipient=stranger))
    assert fresh.thread_key not in {m.thread_key for m in backfill.messages}
    post = await demo.send(OutboundRequest("post-1", "post", "Good morning! Alice is on shift until 17:00."))
    assert post.thread_key and post.thread_key != fresh.thread_key
    clock.advance(300)
    later = await drain(demo, (await demo.fetch(backfill.cursor)).cursor)
    assert later and not [m for m in later if m.thread_key == post.thread_key]


async def test_sends_the_platform_would_refuse_are_permanent_errors(clock):
    email = from_account(account("demo-email"), clock)
    x = from_account(account("demo-x"), clock)
    person = Person("1", "@dana_k", "Dana")
    with pytest.raises(PermanentError):
        await email.send(OutboundRequest("e1", "dm", "hi", kind=Kind.DM, recipient=person))
    with pytest.raises(PermanentError):
        await email.send(OutboundRequest("e2", "post", "hello everyone"))
    with pytest.raises(PermanentError):
        await x.send(OutboundRequest("x1", "reply", "x" * 281, thread_key="t"))
    with pytest.raises(PermanentError):
        await x.send(OutboundRequest("x2", "dm", "hi", kind=Kind.DM))
    with pytest.raises(PermanentError):
        await x.send(OutboundRequest("x3", "reply", "   ", thread_key="t"))
    long_email = await email.send(OutboundRequest("e3", "reply", "word " * 2000, thread_key="<t@x>",
                                                  kind=Kind.EMAIL))
    assert long_email.external_id


async def test_capabilities_check_and_registry(clock):
    for name, channel, handle, display in DEMO_ACCOUNTS:
        assert "(demo)" in display
        demo = connectors.build(account(name), clock)
        assert isinstance(demo, DemoConnector) and isinstance(demo, Connector)
        caps = demo.capabilities
        assert caps.idempotent_send and caps.public_reply
        assert caps.direct_message == caps.public_post == (channel != Channel.EMAIL)
        assert caps.max_length == {Channel.X: 280, Channel.BLUESKY: 300, Channel.MASTODON: 500,
                                   Channel.FACEBOOK: 8000, Channel.EMAIL: None}[channel]
        assert 1 <= demo.poll_interval <= 3
        message = await demo.check()
        assert "demo" in message and channel.label in message and "nothing leaves" in message


# ---------------------------------------------------------------- through the engine


async def test_a_reply_through_the_outbox_brings_an_answer_into_the_inbox(clock, store):
    ids = ensure_demo_accounts(store)
    built, _ = build_connectors(store, clock)
    engine = Engine(store, built, clock=clock)
    for aid in ids:
        assert await engine.sync_once(aid) > 0
    outbox = Outbox(store)
    # Every waiting conversation on every account: each customer answers with probability 0.7 (keyed
    # by the random idempotency key), so with ~20 replies "nobody answered" has odds of ~1e-10.
    waiting = list(store.conversations_by_ids(store.conversation_ids("waiting")).values())
    assert len(waiting) >= 15
    for row in waiting:
        outbox.enqueue_reply(row.id, "Thanks for your patience, sorting it now!", agent_id=None)
    sent = 0
    while (batch := await engine.dispatch_once()):
        sent += batch
    assert sent == len(waiting)
    answered = store.conversations_by_ids(r.id for r in waiting).values()
    assert not any(r.needs_reply for r in answered)
    clock.advance(200)
    for aid in ids:
        await engine.sync_once(aid)
    answers = store.conn.execute(
        "SELECT m.conversation_id FROM messages m JOIN outbox o ON o.external_id = m.in_reply_to"
        " WHERE m.direction = 'in'").fetchall()
    assert answers and {a[0] for a in answers} <= {r.id for r in waiting}
    again = store.conversations_by_ids(a[0] for a in answers).values()
    assert all(r.needs_reply for r in again)  # the customer wrote back, so it waits again


async def test_a_restarted_connector_resumes_from_the_cursor_alone(clock):
    first = from_account(account("demo-facebook"), clock)
    cursor = (await first.fetch(None)).cursor
    clock.advance(8 * HOUR)  # thousands of simulated messages later
    while (page := await first.fetch(cursor)).more:
        cursor = page.cursor
    cursor = page.cursor
    clock.advance(60)
    restarted = from_account(account("demo-facebook"), clock)
    batch = await restarted.fetch(cursor)
    assert batch.messages and batch == await first.fetch(cursor)
    # Replies to threads only the first instance delivered still reach their customers.
    customers = {m.thread_key: m.author for m in page.messages + batch.messages}
    sent = {}
    for n, (key, kind) in enumerate({(m.thread_key, m.kind) for m in page.messages}):
        result = await restarted.send(OutboundRequest(f"r{n}", "reply", "On it!", thread_key=key, kind=kind))
        sent[result.external_id] = key
    clock.advance(200)
    answers = [m for m in await drain(restarted, batch.cursor) if m.in_reply_to in sent]
    assert len(answers) >= len(sent) // 3
    assert all(m.author == customers[sent[m.in_reply_to]] for m in answers)


async def test_dm_escalation_opens_a_dm_thread_the_customer_answers_in(clock, store, monkeypatch):
    import itertools
    import uuid

    # Whether a demo customer answers is keyed by the idempotency key: fixed keys, fixed outcome.
    counter = itertools.count()
    monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(int=next(counter)))
    ids = ensure_demo_accounts(store)
    built, _ = build_connectors(store, clock)
    engine = Engine(store, built, clock=clock)
    x = ids[[a[0] for a in DEMO_ACCOUNTS].index("demo-x")]
    await engine.sync_once(x)
    public = [r for r in store.conversations_by_ids(store.conversation_ids("public")).values()
              if r.account_id == x and r.contact_id is not None][:6]
    done = [escalate(store, r.id, dm_text="Hi! Could you DM us your order number?",
                     public_text="We've sent you a DM 💚", agent_id=None,
                     capabilities=built[x].capabilities) for r in public]
    assert await engine.dispatch_once() == len(done)  # the DMs first ...
    assert await engine.dispatch_once() == len(done)  # ... then the public replies that wait on them
    keys = [store.conn.execute("SELECT thread_key FROM conversations WHERE id = ?",
                               (e.dm_conversation_id,)).fetchone()[0] for e in done]
    assert all(k.startswith("dm-") for k in keys)  # the platform's DM thread, one per person
    clock.advance(200)
    await engine.sync_once(x)
    answered = {r[0] for r in store.conn.execute(
        "SELECT m.conversation_id FROM messages m JOIN outbox o ON o.external_id = m.in_reply_to"
        " WHERE m.direction = 'in' AND o.action = 'dm'")}
    assert answered and answered <= {e.dm_conversation_id for e in done}


async def test_an_answer_arrives_even_when_a_teammates_console_moved_the_cursor_on(clock, store):
    aid = store.ensure_account("demo-x", Channel.X, "demo", handle="@juniper_co", is_demo=True)
    mine, theirs = from_account(store.account(aid), clock), from_account(store.account(aid), clock)
    backfill = await mine.fetch(None)
    store.ingest(aid, backfill.messages, backfill.cursor)
    thread = next(t for t in threads_of(backfill.messages).values() if t[-1].direction == Direction.IN)
    results = [await mine.send(reply_to(thread, f"k{n}")) for n in range(4)]
    clock.advance(300)
    for connector in (theirs, mine):  # the teammate's console syncs first and commits its cursor
        while True:
            page = await connector.fetch(store.cursor(aid))
            store.ingest(aid, page.messages, page.cursor)
            if not page.more:
                break
    answers = store.conn.execute("SELECT count(*) FROM messages WHERE in_reply_to IN (?,?,?,?)",
                                 [r.external_id for r in results]).fetchone()[0]
    assert answers >= 1


# ---------------------------------------------------------------- a small shop's day


async def test_the_default_demo_is_a_small_shop_not_a_flood(tmp_path):
    """Two hours around midday on the five demo accounts: a believable trickle (the old default opened ~18
    conversations a minute), some answered from the platform's own app, and a quiet night."""
    from agentconsole.domain.clock import FrozenClock
    from agentconsole.storage.store import Store

    noon = 1_764_072_000.0  # 2025-11-25 12:00 UTC
    clock = FrozenClock(noon)
    store = Store(tmp_path / "shop.db", clock)
    demos = {}
    for n, (name, channel, handle, display) in enumerate(DEMO_ACCOUNTS):
        aid = store.ensure_account(name, channel, "demo", handle=handle, display_name=display, is_demo=True)
        row = AccountRow(aid, name, str(channel), "demo", handle, display, {"seed": 11 + n, "timezone": "UTC"},
                         True)
        demos[aid] = from_account(row, clock)
    cursors = {}
    for aid, demo in demos.items():
        page = await demo.fetch(None)
        store.ingest(aid, page.messages, page.cursor)
        cursors[aid] = page.cursor
    opened_before = store.conn.execute("SELECT count(*) FROM conversations").fetchone()[0]
    waiting_before = store.waiting_summary()[0]
    sent_elsewhere = 0

    async def minutes(n: int) -> None:
        nonlocal sent_elsewhere
        for _ in range(n * 2):
            clock.advance(30)
            for aid, demo in demos.items():
                while True:
                    page = await demo.fetch(cursors[aid])
                    sent_elsewhere += sum(1 for m in page.messages if m.direction == Direction.OUT)
                    store.ingest(aid, page.messages, page.cursor)
                    cursors[aid] = page.cursor
                    if not page.more:
                        break

    await minutes(120)
    opened = store.conn.execute("SELECT count(*) FROM conversations").fetchone()[0] - opened_before
    assert 20 <= opened <= 120, opened  # under one a minute across the inbox, not 18
    assert sent_elsewhere >= 5  # a teammate answered some from the phone
    answered = store.conn.execute(
        "SELECT count(DISTINCT c.id) FROM conversations c JOIN messages m ON m.conversation_id = c.id"
        " WHERE m.text LIKE '%(answered from the%' AND c.needs_reply = 0").fetchone()[0]
    assert answered >= 5  # and those customers no longer wait
    assert store.waiting_summary()[0] - waiting_before < opened
    day_rate = opened / 120
    clock.set(noon + 12 * HOUR)  # midnight: the shop is quiet
    for aid, demo in demos.items():  # catch up to midnight first
        while True:
            page = await demo.fetch(cursors[aid])
            store.ingest(aid, page.messages, page.cursor)
            cursors[aid] = page.cursor
            if not page.more:
                break
    night_before = store.conn.execute("SELECT count(*) FROM conversations").fetchone()[0]
    await minutes(60)
    night_rate = (store.conn.execute("SELECT count(*) FROM conversations").fetchone()[0] - night_before) / 60
    assert night_rate < day_rate / 3, (night_rate, day_rate)
    store.close()

