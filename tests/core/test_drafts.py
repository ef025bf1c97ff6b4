"""Drafts in the store: one per agent, conversation and mode; an empty text drops it; kept across opens."""

from __future__ import annotations

import pytest

from agentconsole.config import Config
from agentconsole.domain.models import InboundMessage, Kind, Person
from agentconsole.domain.rows import DraftRow
from agentconsole.session.session import Session
from agentconsole.storage.store import Store

pytestmark = pytest.mark.both_backends


def conversation(store: Store) -> int:
    account = store.ensure_account("shop", "x", "demo")
    store.ingest(account, [InboundMessage("m1", "t1", Kind.PUBLIC, Person("p1", "@dana", "Dana"), "where is it",
                                          store.clock.now() - 60)], "c")
    return int(store.conn.execute("SELECT id FROM conversations").fetchone()[0])


def test_each_agent_keeps_one_draft_per_conversation_and_mode(store):
    cid = conversation(store)
    dana, omar = store.ensure_agent("Dana"), store.ensure_agent("Omar")
    store.keep_draft(dana, DraftRow(cid, "reply", "on its way", None, None))
    store.keep_draft(dana, DraftRow(cid, "note", "call back", None, None))
    store.keep_draft(omar, DraftRow(cid, "reply", "Omar's own", "Hi {first_name}", 7))
    store.clock.advance(5)
    store.keep_draft(dana, DraftRow(cid, "reply", "on its way today", None, None))  # replaces the first
    assert store.drafts_of(dana) == [DraftRow(cid, "note", "call back", None, None),
                                     DraftRow(cid, "reply", "on its way today", None, None)]
    assert store.drafts_of(omar) == [DraftRow(cid, "reply", "Omar's own", "Hi {first_name}", 7)]
    store.keep_draft(dana, DraftRow(cid, "note", "   ", None, None))  # emptied: dropped
    store.drop_draft(omar, cid, "reply")
    assert store.drafts_of(dana) == [DraftRow(cid, "reply", "on its way today", None, None)]
    assert store.drafts_of(omar) == []


def test_a_draft_survives_the_store_closing_and_untrusted_text_is_kept_as_typed(store, clock):
    cid = conversation(store)
    agent = store.ensure_agent("Dana")
    text = "naïve \x1b[2J [b]bold[/b] 🎉\n\nsecond line"
    Session(store, clock=clock, config=Config(), agent_id=agent).keep_draft(DraftRow(cid, "reply", text, None, None))
    again = Store(store.path, clock)
    try:
        assert Session(again, clock=clock, config=Config(), agent_id=agent).drafts() == [DraftRow(cid, "reply", text, None, None)]
    finally:
        again.close()
