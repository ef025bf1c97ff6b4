"""Triage: the scorer on fixed inputs, its agreement with VADER's own scorer, scoring at ingest, the
conversation heat, the stored correction, the urgency rank and the sentiment figures."""

from __future__ import annotations

import pytest

from agentconsole.domain.models import Channel, Direction, InboundMessage, Kind, Person
from agentconsole.response.rule import Order, ResponseRule, urgency_rank
from agentconsole.response.sla import Targets
from agentconsole.triage.score import Level, level_of, score, sentiment
from agentconsole.triage.service import Triage

pytestmark = pytest.mark.both_backends

DANA = Person("u1", "@dana", "Dana")
SAM = Person("u2", "@sam", "Sam")
US = Person("brand", "@brand", "Brand")


def msg(ext, thread, who, text, at, direction=Direction.IN, kind=Kind.PUBLIC):
    return InboundMessage(ext, thread, kind, who, text, at, direction)


@pytest.mark.parametrize("text, level, english", [
    ("my order never arrived and nobody answers!!! worst service ever", Level.ANGRY, True),
    ("THIS IS RIDICULOUS, refund me NOW", Level.ANGRY, True),
    ("order #44113 still not here, I will file a chargeback", Level.ANGRY, True),
    ("I am not happy with this at all", Level.UPSET, True),
    ("Is the store open on Sunday?", Level.CALM, True),
    ("Please add our VAT number to the invoice for the DHL parcel", Level.CALM, True),  # acronyms
    ("thanks so much, love it!!", Level.CALM, True),
    ("Wo ist meine Bestellung?!?! Ich will eine Rückerstattung", Level.ANGRY, False),
    ("Ich möchte meine Bestellung stornieren", Level.UPSET, False),
    ("Où est ma commande ? Je veux être remboursé, c'est inadmissible !!", Level.ANGRY, False),
    ("¿Dónde está mi pedido? Quiero un reembolso", Level.UPSET, False),
    ("Hat jemand Tipps für die Öffnungszeiten?", Level.CALM, False),
])
def test_levels_of_fixed_messages(text, level, english):
    s = score(text)
    assert (s.level, s.english) == (level, english), s


def test_other_languages_get_no_sentiment_only_neutral_signals():
    s = score("Das ist wirklich schlecht und nicht gut")  # words VADER does not know as German
    assert s.english is False and s.sentiment == 0.0 and s.heat == 0.0


def test_emoji_are_read_by_name():
    assert score("the delivery 😠").sentiment < -0.3
    assert score("arrived today 😍").sentiment > 0.3


# Customer-service lines written for this test: the scorer's simplified pass over VADER's lexicon must
# agree with the package's own polarity_scores on the sign (VADER's ±0.05 thresholds) for nearly all.
AGREEMENT = [
    "my order never arrived", "worst customer service I have ever had", "thank you, that fixed it",
    "the app keeps crashing, this is so frustrating", "great, it works now!", "not bad at all",
    "I'm not happy with the replacement", "can you tell me when you open tomorrow?",
    "absolutely terrible experience, never again", "love the new colours :)", "this is a joke :(",
    "the parcel is damaged and the box was wet", "super helpful team, thanks a lot",
    "why is nobody answering my emails", "I was charged twice, please fix this", "awesome support",
    "the refund still hasn't arrived", "no problem, take your time", "it's okay but shipping was slow",
    "I hate waiting on hold for an hour", "very disappointed with the quality", "you guys rock!!!",
    "the website is down again", "good morning, quick question about sizes", "HORRIBLE. just horrible.",
    "I don't like the new design", "not good enough", "perfect, exactly what I needed",
    "the courier was rude", "happy with my purchase", "still waiting for an answer...",
    "this is unacceptable", "I'm so angry right now", "nice work on the update", "meh, it's fine",
    "my account was hacked, help", "the discount code doesn't work", "best shop in town",
    "I want to cancel my subscription", "the staff were friendly and kind",
]


def test_agrees_with_vaders_own_scorer_on_the_sign():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    reference = SentimentIntensityAnalyzer()

    def sign(x: float) -> int:
        return 1 if x >= 0.05 else -1 if x <= -0.05 else 0

    agree = [sign(sentiment(t)) == sign(reference.polarity_scores(t)["compound"]) for t in AGREEMENT]
    assert sum(agree) / len(agree) >= 0.9, [t for t, ok in zip(AGREEMENT, agree) if not ok]


def test_levels_cycle_and_have_text_marks():
    assert [Level.CALM.next(), Level.UPSET.next(), Level.ANGRY.next()] == [Level.UPSET, Level.ANGRY, Level.CALM]
    assert (Level.CALM.mark, Level.UPSET.mark, Level.ANGRY.mark) == ("", "!", "!!")
    assert level_of(Level.UPSET.heat) is Level.UPSET and level_of(Level.ANGRY.heat) is Level.ANGRY


def test_the_rank_puts_over_target_first_then_the_angrier_then_the_share_used():
    calm_far_over, angry_just_over = urgency_rank(3.0, 0.0, "dm"), urgency_rank(1.05, 0.9, "dm")
    assert angry_just_over > calm_far_over
    assert urgency_rank(1.05, 0.0, "dm") > urgency_rank(0.9, 1.0, "dm")  # over before near, however angry
    assert urgency_rank(0.5, 0.0, "public") > urgency_rank(0.5, 0.0, "dm")  # others can read it


def scores(store):
    return {r[0]: r[1:] for r in store.conn.execute(
        "SELECT m.external_id, s.heat, s.english FROM message_scores s JOIN messages m ON m.id = s.message_id")}


def heat(store, thread):
    row = store.conn.execute(
        "SELECT t.heat, t.episode_messages FROM conversation_triage t JOIN conversations c"
        " ON c.id = t.conversation_id WHERE c.thread_key = ?", (thread,)).fetchone()
    return None if row is None else tuple(row)


def test_ingest_scores_inbound_messages_and_keeps_each_waits_heat(store, clock):
    x = store.ensure_account("x", Channel.X, "demo")
    now = clock.now()
    store.ingest(x, [msg("1", "t1", DANA, "where is my parcel?", now - 600),
                     msg("2", "t2", SAM, "love the shop", now - 500),
                     msg("3", "t1", US, "on its way!", now - 400, Direction.OUT)])
    assert set(scores(store)) == {"1", "2"}  # ours are not scored
    assert heat(store, "t1") is None  # answered in the same batch: nothing waits, no heat
    assert heat(store, "t2") == (0.0, 1)
    store.ingest(x, [msg("4", "t1", DANA, "it still has NOT ARRIVED, this is unacceptable!!", now - 300)])
    first = heat(store, "t1")
    assert level_of(first[0]) is Level.ANGRY and first[1] == 1
    store.ingest(x, [msg("5", "t2", SAM, "hello?", now - 200), msg("6", "t2", SAM, "anyone?", now - 100)])
    assert heat(store, "t2") == (0.3, 3)  # two more messages while nobody answered
    store.ingest(x, [msg("7", "t1", US, "so sorry, sending a new one", now - 50, Direction.OUT),
                     msg("8", "t1", DANA, "ok thanks", now - 10)])
    assert heat(store, "t1") == (0.0, 1)  # a new wait starts calm: the old heat is over
    row = store.conversation(store.conn.execute("SELECT id FROM conversations WHERE thread_key='t2'").fetchone()[0])
    assert row.heat == 0.3


def test_a_correction_is_stored_and_changes_the_order(store, clock):
    x = store.ensure_account("x", Channel.X, "demo")
    agent = store.ensure_agent("Alice Ng")
    now = clock.now()
    store.ingest(x, [msg("1", "a", DANA, "question about sizes", now - 1200, kind=Kind.DM),
                     msg("2", "b", SAM, "question about colours", now - 600, kind=Kind.DM)])
    ids = {k: store.conn.execute("SELECT id FROM conversations WHERE thread_key = ?", (k,)).fetchone()[0]
           for k in "ab"}
    rule = ResponseRule(Targets(), None, store.accounts())
    def order():
        return list(store.conversation_ids("waiting", waiting_key=rule.order_key(clock.now(), Order.URGENCY)))

    assert order() == [ids["a"], ids["b"]]
    triage = Triage(store)
    assert triage.correct(ids["b"], agent) is Level.UPSET
    assert triage.correct(ids["b"], agent) is Level.ANGRY
    assert order() == [ids["b"], ids["a"]]
    assert store.conversation(ids["b"]).heat == Level.ANGRY.heat
    kept = triage.corrections()
    assert [(c.conversation_id, c.agent_id, c.level) for c in kept] == [(ids["b"], agent, Level.ANGRY),
                                                                          (ids["b"], agent, Level.UPSET)]
    assert kept[1].scored == 0.0 and kept[0].scored == Level.UPSET.heat  # what each replaced
    store.ingest(x, [msg("3", "b", US, "here you go", now, Direction.OUT, kind=Kind.DM)])
    assert triage.correct(ids["b"], agent) is None  # answered: nothing waits to rank


def test_sentiment_per_channel_and_day_and_after_our_reply(store, clock):
    x = store.ensure_account("x", Channel.X, "demo")
    mail = store.ensure_account("m", Channel.EMAIL, "demo")
    now = clock.now()
    store.ingest(x, [msg("1", "t", DANA, "this is terrible, I hate it", now - 900),
                     msg("2", "t", US, "sorry! a new one ships today", now - 800, Direction.OUT),
                     msg("3", "t", DANA, "thank you, great service", now - 700)])
    store.ingest(mail, [msg("4", "e", SAM, "Wo ist meine Rechnung?", now - 600, kind=Kind.EMAIL)])
    days = Triage(store).sentiment_by_day(now - 86400, now + 1)
    assert [(d.channel, d.messages, d.negative) for d in days] == [("x", 2, 1)]  # German: no sentiment
    after = Triage(store).after_reply(now - 86400, now + 1)
    assert [(a.channel, a.conversations, a.improved) for a in after] == [("x", 1, 1)]
    assert after[0].before < 0 < after[0].after
