"""Satisfaction surveys: the answer parser on fixed inputs, the policy (opt-in, DMs and email only,
once per customer per N days, never in crisis mode), answers read at ingest, CSAT per channel/agent/week."""

from __future__ import annotations

import pytest

from agentconsole.domain.models import Channel, Direction, InboundMessage, Kind, OutboundRequest, Person, Status
from agentconsole.replies.outbox import Outbox
from agentconsole.satisfaction.parse import parse_answer
from agentconsole.satisfaction.service import DEFAULT_QUESTION, Surveys

DAY = 86400.0
US = Person("brand", "@brand", "Brand")


@pytest.mark.parametrize("text, score, how", [
    ("5", 5, "digit"), ("5, thanks!", 5, "digit"), ("4/5", 4, "digit"), ("2.5", None, None), ("3 out of 5", 3, "digit"), ("⭐⭐", 2, "stars"),
    ("👍", 5, "emoji"), ("👎👎", 1, "emoji"), ("yes", 5, "yes-no"), ("Ja, danke", 5, "yes-no"),
    ("nope", 1, "yes-no"), ("ok", 4, "yes-no"), ("great, thanks a lot", 5, "words"),
    ("awful, terrible service", 1, "words"), ("it was a bit slow", None, None),
])
def test_answers_are_read_into_scores(text, score, how):
    answer = parse_answer(text)
    assert (answer.score, answer.how) == (score, how) if score else answer is None


@pytest.mark.parametrize("text", ["my order 12345 broke again, can you help?", "", "Wo ist die Rechnung",
                                  "x" * 400])
def test_other_replies_are_not_answers(text):
    assert parse_answer(text) is None


def done_conversation(store, clock, account, ext, who, kind=Kind.DM):
    now = clock.now()
    store.ingest(account, [InboundMessage(f"{ext}-q", ext, kind, who, "where is my parcel", now - 600),
                           InboundMessage(f"{ext}-a", ext, kind, US, "on its way!", now - 300, Direction.OUT,
                                          extra={"recipient": who})])
    cid = store.conn.execute("SELECT id FROM conversations WHERE thread_key = ?", (ext,)).fetchone()[0]
    store.set_status(cid, Status.DONE, None)
    return cid


def test_the_policy(store, clock):
    x = store.ensure_account("x", Channel.X, "demo")
    agent = store.ensure_agent("Alice Ng")
    dana, sam = Person("u1", "@dana", "Dana"), Person("u2", "@sam", "Sam")
    surveys = Surveys(store)
    dm = done_conversation(store, clock, x, "t1", dana)
    assert surveys.after_done(dm, agent).reason == "surveys are off for this account"  # opt-in
    surveys.configure(x, enabled=True, every_days=30)
    public = done_conversation(store, clock, x, "t2", sam, Kind.PUBLIC)
    assert "DMs and email only" in surveys.after_done(public, agent).reason
    asked = surveys.after_done(dm, agent)
    assert asked.ask
    [item] = Outbox(store).pending(dm)
    source = store.conn.execute("SELECT source FROM outbox WHERE id = ?", (item.id,)).fetchone()[0]
    assert (item.request.text, item.request.kind, source) == (DEFAULT_QUESTION, Kind.DM, "survey")
    clock.advance(10 * DAY)
    again = done_conversation(store, clock, x, "t3", dana)
    assert "asked 10 days ago" in surveys.after_done(again, agent).reason  # once per customer per 30 days
    clock.advance(25 * DAY)
    Outbox(store).enqueue(x, OutboundRequest(idempotency_key="k", action="post", text="We're on it",
                                             kind=Kind.PUBLIC), conversation_id=None, agent_id=agent,
                          source="crisis")
    assert "crisis mode" in surveys.after_done(again, agent).reason
    clock.advance(2 * DAY)
    assert surveys.after_done(again, agent).ask
    surveys.configure(x, public=True)
    assert surveys.after_done(public, agent).ask  # public only when enabled


def test_an_answer_is_kept_and_the_conversation_stays_done_other_replies_reopen(store, clock):
    x = store.ensure_account("x", Channel.X, "demo")
    mail = store.ensure_account("mail", Channel.EMAIL, "demo")
    alice, bob = store.ensure_agent("Alice Ng"), store.ensure_agent("Bob Li")
    dana, sam = Person("u1", "@dana", "Dana"), Person("u2", "sam@example.com", "Sam")
    surveys = Surveys(store)
    surveys.configure(x, enabled=True)
    surveys.configure(mail, enabled=True)
    one = done_conversation(store, clock, x, "t1", dana)
    two = done_conversation(store, clock, mail, "t2", sam, Kind.EMAIL)
    assert surveys.after_done(one, alice).ask and surveys.after_done(two, bob).ask
    now = clock.now()
    store.ingest(x, [InboundMessage("r1", "t1", Kind.DM, dana, "5 👍 super quick", now + 60)])
    store.ingest(mail, [InboundMessage("r2", "t2", Kind.EMAIL, sam, "Actually the box is damaged, what now?",
                                       now + 60)])
    assert store.conversation(one).status == Status.DONE and not store.conversation(one).needs_reply
    assert store.conversation(two).status == Status.OPEN  # not an answer: reopened as usual
    store.ingest(mail, [InboundMessage("r3", "t2", Kind.EMAIL, sam, "2", now + 120)])
    rows = {r.key: r for r in surveys.csat(now - DAY, now + DAY, "channel")}
    assert (rows["x"].answers, rows["x"].satisfied, rows["x"].csat) == (1, 1, 1.0)
    assert (rows["email"].answers, rows["email"].satisfied, rows["email"].mean) == (1, 0, 2.0)
    assert rows["x"].first_response_median_s == 300.0
    agents = {r.key: r.mean for r in surveys.csat(now - DAY, now + DAY, "agent")}
    assert agents == {"Alice Ng": 5.0, "Bob Li": 2.0}
    [week] = surveys.csat(now - DAY, now + DAY, "week")
    assert week.answers == 2 and week.csat == 0.5
    assert (5, "x", "5 👍 super quick") in surveys.words(now - DAY, now + DAY)


def test_cli_enables_per_account_and_prints_csat(store, clock):
    import argparse
    import io
    from dataclasses import dataclass, field

    from agentconsole.cli import survey as cli
    from agentconsole.config import Config

    @dataclass
    class Ctx:
        config: Config
        clock: object
        the_store: object
        out: io.StringIO = field(default_factory=io.StringIO)
        err: io.StringIO = field(default_factory=io.StringIO)

        def store(self, demo: bool = False):
            return self.the_store

    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    x = store.ensure_account("shop-x", Channel.X, "demo")
    ctx = Ctx(Config(timezone="UTC"), clock, store)

    def run(*argv: str) -> int:
        args = parser.parse_args(argv)
        return args.func(args, ctx)

    assert run("survey", "enable", "nope") == 1 and "no account named 'nope'" in ctx.err.getvalue()
    assert run("survey", "enable", "shop-x", "--every-days", "14") == 0
    assert "shop-x: asking in DMs and email, at most once per customer in 14 days" in ctx.out.getvalue()
    assert run("survey", "enable", "shop-x", "--every-days", "0") == 2
    dana = Person("u1", "@dana", "Dana")
    cid = done_conversation(store, clock, x, "t1", dana)
    assert Surveys(store).after_done(cid, None).ask
    store.ingest(x, [InboundMessage("r1", "t1", Kind.DM, dana, "4", clock.now() + 60)])
    clock.advance(120)
    assert run("csat", "--since", "7d", "--by", "channel", "--words") == 0
    out = ctx.out.getvalue()
    assert "all        1  100%   4.0        5m" in out and "x          1  100%   4.0        5m" in out
    assert "4/5 x: 4" in out


def test_cli_prints_sentiment_per_channel_and_day(store, clock):
    import argparse
    import io
    from types import SimpleNamespace

    from agentconsole.cli import survey as cli
    from agentconsole.config import Config

    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    x = store.ensure_account("x", Channel.X, "demo")
    dana = Person("u1", "@dana", "Dana")
    now = clock.now()
    store.ingest(x, [InboundMessage("1", "t", Kind.DM, dana, "this is terrible, I hate it", now - 900),
                     InboundMessage("2", "t", Kind.DM, US, "sorry! a new one ships today", now - 800,
                                    Direction.OUT, extra={"recipient": dana}),
                     InboundMessage("3", "t", Kind.DM, dana, "thank you, great service", now - 700)])
    ctx = SimpleNamespace(config=Config(timezone="UTC"), clock=clock, store=lambda demo=False: store,
                          out=io.StringIO(), err=io.StringIO())
    args = parser.parse_args(["sentiment", "--since", "today"])
    assert args.func(args, ctx) == 0
    out = ctx.out.getvalue()
    assert "x                 2 messages" in out and "negative 1" in out
    assert "after our first reply, x: better in 1 of 1" in out


async def test_reply_and_resolve_goes_through_the_same_rule_as_done(store, clock):
    """ctrl+r (a reply sent with resolve) asks like `e`: once the reply is sent and the conversation done,
    the question is queued on a DM; never under a public post by default, never twice to one customer in
    N days, never in the day after crisis mode."""
    from agentconsole.sync.engine import Engine

    from tests.core.fakes import ScriptedConnector

    m = store.ensure_account("shop-m", Channel.MASTODON, "scripted", handle="shop")
    agent = store.ensure_agent("Alice Ng")
    Surveys(store).configure(m, enabled=True, every_days=30)
    outbox, connector = Outbox(store), ScriptedConnector(clock)
    engine = Engine(store, {m: connector}, clock=clock)

    def resolve_by_reply(ext, who, kind=Kind.DM):
        store.ingest(m, [InboundMessage(f"{ext}-q", ext, kind, who, "where is my parcel", clock.now() - 60)])
        cid = store.conn.execute("SELECT id FROM conversations WHERE thread_key = ?", (ext,)).fetchone()[0]
        outbox.enqueue_reply(cid, "It ships today!", agent_id=agent, resolve=True)
        return cid

    def surveys_of(cid):
        return [i.request.text for i in outbox.pending(cid)]

    dana, sam, eve = Person("u1", "dana", "Dana"), Person("u2", "sam", "Sam"), Person("u3", "eve", "Eve")
    dm = resolve_by_reply("t1", dana)
    public = resolve_by_reply("t2", sam, Kind.PUBLIC)
    assert await engine.dispatch_once() == 2
    assert store.conversation(dm).status == Status.DONE and store.conversation(public).status == Status.DONE
    assert surveys_of(dm) == [DEFAULT_QUESTION]  # the one question, queued through the outbox
    assert surveys_of(public) == []  # DMs and email only by default
    assert tuple(store.conn.execute("SELECT agent_id, channel FROM surveys WHERE conversation_id = ?",
                                    (dm,)).fetchone()) == (agent, "mastodon")
    assert await engine.dispatch_once() == 1  # the question itself is sent, once, and asks nothing more
    assert await engine.dispatch_once() == 0
    clock.advance(5 * DAY)
    again = resolve_by_reply("t3", dana)
    assert await engine.dispatch_once() == 1
    assert store.conversation(again).status == Status.DONE and surveys_of(again) == []  # asked 5 days ago
    outbox.enqueue(m, OutboundRequest(idempotency_key="c", action="post", text="We're on it", kind=Kind.PUBLIC),
                   conversation_id=None, agent_id=agent, source="crisis")
    assert await engine.dispatch_once() == 1
    in_crisis = resolve_by_reply("t4", eve)
    assert await engine.dispatch_once() == 1
    assert store.conversation(in_crisis).status == Status.DONE and surveys_of(in_crisis) == []
    assert store.conn.execute("SELECT count(*) FROM surveys").fetchone()[0] == 1


def test_done_from_the_session_asks_once(store, clock):
    from agentconsole.satisfaction.done import mark_done

    x = store.ensure_account("x", Channel.X, "demo")
    Surveys(store).configure(x, enabled=True)
    dana = Person("u1", "@dana", "Dana")
    cid = done_conversation(store, clock, x, "t1", dana)
    store.set_status(cid, Status.OPEN, None)
    assert mark_done(store, cid, None).ask and Surveys(store).asked_after_last_message(cid)
    assert not mark_done(store, cid, None).ask  # a second done after the same last message asks nothing
    assert len(Outbox(store).pending(cid)) == 1


def test_cli_metrics_prints_csat_beside_first_response(store, clock):
    import argparse
    import io
    from types import SimpleNamespace

    from agentconsole.cli import metrics as cli
    from agentconsole.config import Config

    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    x = store.ensure_account("shop-x", Channel.X, "demo")
    alice = store.ensure_agent("Alice Ng")
    Surveys(store).configure(x, enabled=True)
    dana = Person("u1", "@dana", "Dana")
    cid = done_conversation(store, clock, x, "t1", dana)
    assert Surveys(store).after_done(cid, alice).ask
    store.ingest(x, [InboundMessage("r1", "t1", Kind.DM, dana, "5", clock.now() + 60)])
    clock.advance(120)
    ctx = SimpleNamespace(config=Config(timezone="UTC"), clock=clock, store=lambda demo=False: store,
                          out=io.StringIO(), err=io.StringIO())
    args = parser.parse_args(["metrics", "--since", "7d", "--by", "channel"])
    assert args.func(args, ctx) == 0
    out = ctx.out.getvalue().split("satisfaction (survey answers)\n")[1].splitlines()
    assert out[0].split() == ["answers", "CSAT", "mean", "1st", "resp"]
    assert out[1].split() == ["all", "1", "100%", "5.0", "5m"] and out[2].split() == ["x", "1", "100%", "5.0", "5m"]
    assert out[3].split() == ["Alice", "Ng", "1", "100%", "5.0", "5m"] and out[4].split()[1:] == ["1", "100%", "5.0", "5m"]
    assert "-W" in out[4].split()[0]  # the week
