"""Ingest reads only the batch it stores: no statement it runs walks the messages stored before it
(SQLite's plan for each statement, read while a batch is ingested into a workspace with history)."""

from __future__ import annotations

import re

import pytest

from agentconsole.domain.models import Channel, Direction, InboundMessage, Kind, Person

pytestmark = pytest.mark.sqlite_only  # reads SQLite's query plans

DANA = Person("u1", "@dana", "Dana")
US = Person("brand", "@brand", "Brand")
# A step over the messages that only the direction narrows is a walk over every inbound message ever
# stored (at 1M messages it took 45 and 90 ms a batch and ingest fell from ~11k to ~3k messages/s).
WALK = re.compile(r"^SCAN (messages|m)\b|USING (COVERING )?INDEX \w+ \(direction=\?\)$")


def history(n: int) -> list[InboundMessage]:
    out = []
    for i in range(n):
        direction = Direction.OUT if i % 3 == 2 else Direction.IN
        out.append(InboundMessage(f"h{i}", f"t{i // 3}", Kind.PUBLIC, US if direction is Direction.OUT else DANA,
                                  f"message {i} about order {i}", 1_000_000.0 + i, direction))
    return out


def test_no_statement_of_an_ingest_walks_the_stored_messages(store, clock):
    account = store.ensure_account("x", Channel.X, "demo")
    store.ingest(account, history(300), "c0")
    statements: list[str] = []
    store.conn.set_trace_callback(statements.append)
    try:
        batch = [InboundMessage(f"n{i}", f"new{i}", Kind.PUBLIC, DANA, f"new question {i}", 2_000_000.0 + i)
                 for i in range(20)]
        store.ingest(account, batch, "c1")
    finally:
        store.conn.set_trace_callback(None)
    reads = [s for s in statements if re.match(r"\s*(WITH|SELECT)\b", s, re.I) and "messages" in s]
    assert reads, "ingest read nothing: the trace saw no statement"
    walks = []
    for sql in reads:
        for row in store.conn.execute("EXPLAIN QUERY PLAN " + sql):
            if WALK.search(row[3]):
                walks.append((sql, row[3]))
    assert walks == []
