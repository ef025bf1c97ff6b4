"""Ingest, the verbs on one conversation and a period's sentiment read only what they concern, by
SQLite's plan of each statement they run on a workspace with history: none walks the stored messages."""

from __future__ import annotations

import re

import pytest

from agentconsole.config import Config
from agentconsole.domain.models import Channel, Direction, InboundMessage, Kind, Person
from agentconsole.session.session import Session

pytestmark = pytest.mark.sqlite_only  # reads SQLite's query plans

DANA = Person("u1", "@dana", "Dana")
US = Person("brand", "@brand", "Brand")
# A step over the messages that only the direction narrows is a walk over every inbound (or outbound)
# message ever stored: at 1M messages 40-90 ms per batch or per verb, and ingest fell from ~11k to ~3k
# messages/s. So is one that only the direction and a time narrow (every message since that time),
# and a scan of a whole table.
WALK = re.compile(r"^SCAN (messages|conversations|m)\b|USING (COVERING )?INDEX \w+ \(direction=\?( AND sent_at[<>]\?)?\)$")
QUIET = re.compile(r"\s*(--|PRAGMA|BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)", re.I)  # "--": a trigger's step


def history(n: int) -> list[InboundMessage]:
    out = []
    for i in range(n):
        direction = Direction.OUT if i % 3 == 2 else Direction.IN
        out.append(InboundMessage(f"h{i}", f"t{i // 3}", Kind.PUBLIC, US if direction is Direction.OUT else DANA,
                                  f"message {i} about order {i}", 1_000_000.0 + i, direction))
    return out


def walks(store, run, walk: re.Pattern[str] = WALK) -> list[tuple[str, str]]:
    """Run *run()* with every statement traced, then each one's plan steps that *walk* a table."""
    statements: list[str] = []
    store.conn.set_trace_callback(statements.append)
    try:
        run()
    finally:
        store.conn.set_trace_callback(None)
    reads = [s for s in statements if "messages" in s and not QUIET.match(s)]
    assert reads, "nothing was traced"
    return [(sql, row[3]) for sql in reads for row in store.conn.execute("EXPLAIN QUERY PLAN " + sql)
            if walk.search(row[3])]


def test_no_statement_of_an_ingest_walks_the_stored_messages(store, clock):
    account = store.ensure_account("x", Channel.X, "demo")
    store.ingest(account, history(300), "c0")
    batch = [InboundMessage(f"n{i}", f"new{i}", Kind.PUBLIC, DANA, f"new question {i}", 2_000_000.0 + i)
             for i in range(20)]
    # Out of order too, each in a batch of its own: our answer fetched before the customer message it
    # answers, and our reply fetched after later customer messages (each reads its conversation again).
    late = [[InboundMessage("o1", "late", Kind.PUBLIC, US, "answer", 2_000_100.0, Direction.OUT)],
            [InboundMessage("o2", "late", Kind.PUBLIC, DANA, "question", 2_000_050.0)],
            [InboundMessage("o3", "t5", Kind.PUBLIC, DANA, "and another thing", 2_000_200.0)],
            [InboundMessage("o4", "t5", Kind.PUBLIC, US, "an older answer", 2_000_150.0, Direction.OUT)]]

    def ingest() -> None:
        store.ingest(account, batch, "c1")
        for n, one in enumerate(late):
            store.ingest(account, one, f"c{n + 2}")

    assert walks(store, ingest) == []


def test_no_verb_on_one_conversation_walks_the_stored_messages(store, clock):
    account = store.ensure_account("x", Channel.X, "demo")
    agent = store.ensure_agent("Alice Ng", "AN")
    store.ingest(account, history(300), "c0")
    store.ingest(account, [InboundMessage("w1", "t7", Kind.PUBLIC, DANA, "still waiting!!", 1_000_400.0)], "c1")
    conversation = store.conn.execute("SELECT id FROM conversations WHERE thread_key = 't7'").fetchone()[0]
    session = Session(store, clock=clock, config=Config(), agent_id=agent)

    def verbs() -> None:
        session.pane(conversation)
        session.last_inbound_text(conversation)
        session.why_not_escalate(conversation)
        session.correct_heat(conversation)
        session.assign(conversation, agent, None)
        session.add_note(conversation, "checking with the courier")
        session.reply(conversation, "Hi Dana, it ships today")

    assert walks(store, verbs) == []


def test_a_periods_sentiment_reads_only_that_period(store, clock):
    from agentconsole.triage.service import Triage

    account = store.ensure_account("x", Channel.X, "demo")
    store.ingest(account, history(300), "c0")
    triage = Triage(store)

    def reads() -> None:
        triage.sentiment_by_day(1_000_100.0, 1_000_200.0)
        triage.after_reply(1_000_100.0, 1_000_200.0)

    assert walks(store, reads, re.compile(r"^SCAN (message_scores|s)\b")) == []
