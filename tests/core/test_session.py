"""The Session, without a terminal: the reply verb's guards and transaction, and the reads the screens use."""

from __future__ import annotations

import pytest

from agentconsole.config import Config
from agentconsole.domain.models import Capabilities, InboundMessage, Kind, Person, Status
from agentconsole.replies.canned import CannedDraft
from agentconsole.response.rule import Order
from agentconsole.session.session import SendRefused, Session
from agentconsole.sync.engine import Engine
from agentconsole.team.collision import Collided

from tests.core.fakes import ScriptedConnector

DANA = Person("u1", "dana_k", "Dana Kim")


@pytest.fixture
def workspace(store, clock):
    account = store.ensure_account("shop-x", "x", "scripted", handle="@shop")
    agent = store.ensure_agent("Alice Ng", "AN")
    store.ingest(account, [InboundMessage("p1", "t1", Kind.PUBLIC, DANA, "my order never arrived",
                                          clock.now() - 600)])
    conversation = store.conn.execute("SELECT id FROM conversations WHERE thread_key = 't1'").fetchone()[0]
    connector = ScriptedConnector(clock, capabilities=Capabilities(public_post=True, max_length=280))
    engine = Engine(store, {account: connector}, clock=clock)
    return Session(store, clock=clock, config=Config(), agent_id=agent, engine=engine), conversation


def outbox_texts(store) -> list[str]:
    return [r[0] for r in store.conn.execute("SELECT text FROM outbox ORDER BY id")]


def test_reply_queues_through_the_send_guard(workspace, store):
    session, conversation = workspace
    with pytest.raises(SendRefused, match="over the X limit"):
        session.reply(conversation, "Dana " + "x" * 300)
    with pytest.raises(SendRefused, match=r"fill in \{order\}"):
        session.reply(conversation, "Hi Dana, your order {order} is on its way")
    assert outbox_texts(store) == []
    session.reply(conversation, "Hi Dana, we're on it")
    assert outbox_texts(store) == ["Hi Dana, we're on it"]


def test_reply_and_canned_use_commit_together_or_not_at_all(workspace, store, clock):
    session, conversation = workspace
    canned = session.canned.create(CannedDraft("late", "Late order", "Sorry {first_name}, checking now"))
    session.reply(conversation, "Sorry Dana, checking now", source="canned", template_id=canned)
    assert session.canned.get(canned).usage_count == 1
    # A second answer collides with the first, which is still on its way: neither the reply nor the
    # canned use is recorded.
    with pytest.raises(Collided):
        session.reply(conversation, "Sorry Dana, checking now", source="canned", template_id=canned,
                      opened_at=clock.now() - 1)
    assert session.canned.get(canned).usage_count == 1
    assert len(outbox_texts(store)) == 1


def test_a_failed_canned_use_takes_the_reply_back(workspace, store, monkeypatch):
    session, conversation = workspace
    canned = session.canned.create(CannedDraft("late", "Late order", "Sorry {first_name}, checking now"))

    def busy(canned_id):
        raise RuntimeError("database is busy")

    monkeypatch.setattr(session.canned, "record_use", busy)
    with pytest.raises(RuntimeError):
        session.reply(conversation, "Sorry Dana, checking now", source="canned", template_id=canned)
    assert outbox_texts(store) == []


def test_done_reopen_assign_and_note(workspace, store):
    session, conversation = workspace
    assert session.toggle_done(conversation, Status.OPEN) == Status.DONE
    assert session.conversation(conversation).status == Status.DONE
    assert session.toggle_done(conversation, Status.DONE) == Status.OPEN
    me = session.agent_row.id
    assert session.assign(conversation, me, None) == (True, me)
    assert session.assign(conversation, None, None) == (False, me)  # someone changed it meanwhile
    session.add_note(conversation, "called them back")
    read = session.pane(conversation)
    assert read is not None and [n.text for n in read.notes] == ["called them back"]
    assert session.pane(10_000) is None


def test_reads_the_screens_use(workspace, clock):
    session, conversation = workspace
    assert session.capabilities() and session.limit_for(session.conversation(conversation)) == 280
    assert list(session.conversation_ids("waiting", Order.URGENCY)) == [conversation]
    assert session.most_urgent() == conversation
    assert session.view_counts()["waiting"] == 1
    summary = session.wait_summary(Order.LONGEST)
    assert summary.waiting == 1 and summary.over == 0
    assert session.last_inbound_text(conversation) == "my order never arrived"
    assert [hit.conversation_id for hit in session.search("arrived")] == [conversation]
    assert session.search("   ") == []
    assert [row.id for row in session.crossed_over(clock.now(), clock.now() + 3600)] == [conversation]


def test_engine_events_reach_every_subscriber_and_a_failing_one_stops_nobody(workspace):
    from agentconsole.sync.states import EngineEvent

    session, _ = workspace
    seen: list[str] = []

    def broken(event):
        raise RuntimeError("listener bug")

    session.subscribe(broken)
    session.subscribe(lambda event: seen.append(event.kind))
    session.engine.on_change(EngineEvent("ingested", None))
    assert seen == ["ingested"]
