"""The `\\` view filter: what the agent types, parsed, and the conversations it leaves in a view."""

from __future__ import annotations

import pytest

from agentconsole.domain.filters import UNASSIGNED, parse_filter
from agentconsole.domain.models import Channel, InboundMessage, Kind, Person

pytestmark = pytest.mark.both_backends


def test_words_become_channels_kinds_an_assignee_and_text():
    f = parse_filter("X dm @an refund  50%_off \ud800", me=1, agents={"an": 1, "bob": 2})
    assert f.channels == {"x"} and f.kinds == {"dm"} and f.assignee == 1
    assert f.words == ("refund", "50%_off", "\ufffd")
    assert parse_filter("unassigned fb", me=1, agents={}).assignee == UNASSIGNED
    assert parse_filter("mine", me=7, agents={}).assignee == 7
    assert parse_filter("@nobody", me=1, agents={}).words == ("@nobody",)
    assert parse_filter("   ", me=1, agents={}).empty


def test_a_filter_narrows_the_view_and_keeps_its_order(store, clock):
    x = store.ensure_account("shop-x", Channel.X, "demo")
    mail = store.ensure_account("mail", Channel.EMAIL, "demo")
    now = clock.now()
    store.ingest(x, [InboundMessage("1", "t1", Kind.PUBLIC, Person("a", "@dana", "Dana Kim"), "refund please", now - 600),
                     InboundMessage("2", "t2", Kind.DM, Person("b", "@sam", "Sam Ortiz"), "where is my REFUND", now - 300),
                     InboundMessage("3", "t3", Kind.DM, Person("c", "@mo", "Mo"), "100% happy", now - 100)], "c")
    store.ingest(mail, [InboundMessage("4", "t4", Kind.EMAIL, Person("d", "li@example.com", "J. Li"), "invoice",
                                       now - 900, subject="Refund for #4411")], "c")
    ids = {r[1]: r[0] for r in store.conn.execute("SELECT id, thread_key FROM conversations")}
    agent = store.ensure_agent("Alice Ng", "AN")
    store.assign(ids["t2"], agent, agent)

    def narrowed(typed: str, view: str = "all") -> list[int]:
        return list(store.conversation_ids(view, agent, narrow=parse_filter(typed, agent, {"an": agent})))

    assert narrowed("refund") == [ids["t4"], ids["t1"], ids["t2"]]  # text, subject, any case; longest wait first
    assert narrowed("refund x") == [ids["t1"], ids["t2"]]
    assert narrowed("refund x dm") == [ids["t2"]]
    assert narrowed("@an") == [ids["t2"]] and narrowed("unassigned dm") == [ids["t3"]]
    assert narrowed("sam") == [ids["t2"]] and narrowed("@dana") == [ids["t1"]]  # name and handle
    assert narrowed("100%") == [ids["t3"]] and narrowed("%") == [ids["t3"]]  # % is a character, not a wildcard
    assert narrowed("refund", view="waiting") == narrowed("refund")
    assert narrowed("") == list(store.conversation_ids("all", agent))
