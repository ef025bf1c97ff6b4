"""Answers from history: the pairing of questions and replies, the index kept up to date, the lookup's
top-1 / top-3 hit rates on the labelled set in tests/data, and replies re-filled for the new customer."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from agentconsole.domain.models import Channel, Direction, InboundMessage, Kind, Person
from agentconsole.knowledge.history import History, templated, terms_of

pytestmark = pytest.mark.both_backends

LABELLED = Path(__file__).parent.parent / "data" / "answers_from_history.toml"
US = Person("brand", "@brand", "Brand")
# Measured on the labelled set when it was written: top-1 33/36 (92%), top-3 34/36 (94%); the test prints
# the rates and the misses. The floors sit one question below.
TOP1_FLOOR = 0.88
TOP3_FLOOR = 0.91


def load_labelled(store, clock):
    topics = tomllib.loads(LABELLED.read_text())["topic"]
    x = store.ensure_account("x", Channel.X, "demo")
    mail = store.ensure_account("mail", Channel.EMAIL, "demo")
    at = clock.now() - 90 * 86400
    n = 0
    for topic in topics:
        for name, question in topic["history"]:
            n += 1
            account = x if n % 2 else mail
            kind = Kind.DM if n % 2 else Kind.EMAIL
            handle = "@" + name.split()[0].lower() + str(n)
            who = Person(f"c{n}", handle, name)
            reply = topic["answer"].replace("{first}", name.split()[0])
            store.ingest(account, [
                InboundMessage(f"q{n}", f"t{n}", kind, who, question, at),
                InboundMessage(f"a{n}", f"t{n}", kind, US, reply, at + 600, Direction.OUT,
                               extra={"recipient": who}),
            ])
            at += 3600
    return topics


def topic_of(answer, topics):
    for topic in topics:
        if " ".join(answer.template.split()) == " ".join(topic["answer"].replace("{first}", "{first_name}").split()):
            return topic["key"]
    return None


def test_labelled_set_hit_rates_hold_their_floor(store, clock, capsys):
    topics = load_labelled(store, clock)
    history = History(store)
    assert history.refresh() == sum(len(t["history"]) for t in topics)
    top1 = top3 = total = 0
    misses = []
    for topic in topics:
        for ask in topic["asks"]:
            total += 1
            found = [topic_of(a, topics) for a in history.answers(ask, refresh=False)]
            top1 += bool(found) and found[0] == topic["key"]
            top3 += topic["key"] in found[:3]
            if not found or found[0] != topic["key"]:
                misses.append((ask, topic["key"], found))
    with capsys.disabled():
        print(f"\nanswers from history, labelled set: top-1 {top1}/{total}, top-3 {top3}/{total}; misses {misses}")
    assert top1 / total >= TOP1_FLOOR, misses
    assert top3 / total >= TOP3_FLOOR, misses


def test_a_reply_is_refilled_for_the_new_customer(store, clock):
    load_labelled(store, clock)
    best = History(store).answers("are you open on sunday?")[0]
    assert "{first_name}" in best.template and best.uses >= 2  # the same reply to two customers
    filled = best.filled({"first_name": "Dana"})
    assert filled.text.startswith("Hi Dana! We're open") and not filled.gaps
    assert best.filled({"first_name": None}).gaps  # no name known: a visible gap, not the old name
    assert best.channel in ("x", "email") and best.answered_at < clock.now()


def test_the_index_follows_new_replies_and_skips_the_open_conversation(store, clock):
    x = store.ensure_account("x", Channel.X, "demo")
    dana = Person("u1", "@dana_k", "Dana Kim")
    now = clock.now()
    store.ingest(x, [InboundMessage("1", "t", Kind.DM, dana, "does the lamp come with a bulb?", now - 900)])
    history = History(store)
    assert history.answers("lamp bulb included?") == []  # asked, not answered yet
    store.ingest(x, [InboundMessage("2", "t", Kind.DM, US, "Yes Dana, an E27 bulb is in the box.", now - 800,
                                    Direction.OUT, extra={"recipient": dana}),
                     InboundMessage("3", "t", Kind.DM, dana, "great thanks", now - 700),
                     InboundMessage("4", "t", Kind.DM, US, "You're welcome!", now - 600, Direction.OUT,
                                    extra={"recipient": dana}),
                     InboundMessage("5", "t", Kind.DM, US, "(and a spare one)", now - 500, Direction.OUT,
                                    extra={"recipient": dana})])
    found = history.answers("is a bulb included with the lamp")
    assert [a.template for a in found][0] == "Yes {first_name}, an E27 bulb is in the box."
    conversation = store.conn.execute("SELECT id FROM conversations").fetchone()[0]
    assert history.answers("is a bulb included with the lamp", conversation) == []
    assert store.conn.execute("SELECT count(*) FROM knowledge_pairs").fetchone()[0] == 2  # two questions


@pytest.mark.parametrize("text, terms", [
    ("Hello, my order #1234 never arrived!!", ["never", "arrived"]),
    ("Wo ist meine Bestellung?", ["bestellung"]),
    ("?!", []),
    ("where is my order", ["where", "order"]),  # only common words: those, then
])
def test_lookup_terms(text, terms):
    assert terms_of(text) == terms


def test_templated_keeps_braces_and_other_names():
    assert templated("Hi Dana, use {CODE}. Sam says hi, @dana_k", "Dana Kim", "@dana_k") == (
        "Hi {first_name}, use {{CODE}}. Sam says hi, {handle}")
