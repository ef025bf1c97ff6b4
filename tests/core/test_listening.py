"""Listening in the core: the terms, the heard posts stored once with their cursor, the engine's rounds,
promoting and dismissing, and that heard posts never count as waiting."""

from __future__ import annotations

import asyncio
import json

import pytest

from agentconsole.channels.contract import HeardPost, ListenResult, ListenTerms, Listens, Reply
from agentconsole.domain.errors import AuthError, RateLimited, TemporaryError
from agentconsole.domain.models import InboundMessage, Kind, Person
from agentconsole.listening import service, terms as listen_terms
from agentconsole.listening.poller import Listener
from agentconsole.listening.service import HeardGone, Offer
from agentconsole.storage import heard
from agentconsole.storage.heard import HeardState
from agentconsole.sync.engine import Engine
from agentconsole.sync.states import EventKind
from tests.conftest import T0
from tests.core.fakes import ScriptedConnector

TERMS = {"listen": {"keywords": ["Acme"], "hashtags": ["acmeshoes"]}}


def post(n: int, text: str = "love my new Acme boots", *, at: float = T0 - 600, reply: Reply = Reply.REPLY,
         dm: bool | None = None) -> HeardPost:
    message = InboundMessage(f"p{n}", f"p{n}", Kind.PUBLIC, Person(f"u{n}", f"@fan{n}", f"Fan {n}"), text, at - n)
    return HeardPost(message, "Acme", url=f"https://example.social/@fan{n}/p{n}", reply=reply, receives_dm=dm)


class Listening(ScriptedConnector):
    """A scripted connector that also listens: each round serves the next scripted result."""

    listen_interval = 60.0

    def __init__(self, clock, rounds=(), fail=()):
        super().__init__(clock)
        self.rounds = list(rounds)
        self.fail = list(fail)
        self.asked: list[tuple[ListenTerms, str | None]] = []

    async def listen(self, terms, cursor):
        self.asked.append((terms, cursor))
        if self.fail:
            raise self.fail.pop(0)
        posts = self.rounds.pop(0) if self.rounds else []
        return ListenResult(posts, json.dumps({"n": len(self.asked)}))


# ---------------------------------------------------------------------- terms

def test_terms_are_cleaned_deduplicated_and_checked() -> None:
    terms = listen_terms.parse("Acme,  acme , Acme  Shoes", "#acmeshoes, AcmeShoes, résumé")
    assert terms == ListenTerms(("Acme", "Acme Shoes"), ("acmeshoes", "résumé"))
    for keywords, hashtags, said in [("", "two words", "no spaces"), ("#acme", "", "hashtags"),
                                     ("a\x1b[2Jb", "", "control"), (",".join(f"w{i}" for i in range(21)), "", "at most")]:
        with pytest.raises(listen_terms.TermError, match=said):
            listen_terms.parse(keywords, hashtags)
    assert listen_terms.of_settings({"listen": {"keywords": ["x"], "hashtags": ["bad tag"]}}) == ListenTerms()
    assert listen_terms.of_settings(TERMS) == ListenTerms(("Acme",), ("acmeshoes",))


def test_the_interval_is_modest_unless_the_account_chose_one() -> None:
    assert listen_terms.interval_of({}, 60.0) == listen_terms.DEFAULT_INTERVAL
    assert listen_terms.interval_of({}, 900.0) == 900.0  # X suggests a quarter hour: its reads cost money
    assert listen_terms.interval_of({"listen": {"interval": 120}}, 900.0) == 120.0
    assert listen_terms.interval_of({"listen": {"interval": 5}}, 900.0) == listen_terms.MIN_INTERVAL


def test_matches_finds_whole_words_and_tags_only() -> None:
    terms = ListenTerms(("Acme",), ("acmeshoes",))
    assert listen_terms.matches("new #AcmeShoes today", terms) == "#acmeshoes"
    assert listen_terms.matches("ACME is late again", terms) == "Acme"
    assert listen_terms.matches("acmeville #acmeshoesale", terms) == ""


# ---------------------------------------------------------------------- storage

def test_a_round_is_stored_once_per_account_and_id_with_its_cursor(store, clock) -> None:
    account = store.ensure_account("shop", "mastodon", "mastodon", settings=TERMS)
    with store.transaction() as conn:
        first = heard.store_batch(conn, account, [post(1), post(2)], "c1", clock.now())
    with store.transaction() as conn:
        again = heard.store_batch(conn, account, [post(2), post(3)], "c2", clock.now())
    assert len(first) == 2 and len(again) == 1
    assert heard.cursor(store.conn, account) == "c2"
    rows = heard.listed(store.conn)
    assert [r.external_id for r in rows] == ["p1", "p2", "p3"]  # newest first
    assert len(store.conversation_ids("all", None)) == 0  # no conversation at all
    assert store.view_counts().get("waiting", 0) == 0


def test_a_post_already_in_the_inbox_as_a_mention_is_not_heard_again(store, clock) -> None:
    account = store.ensure_account("shop", "mastodon", "mastodon", settings=TERMS)
    store.ingest(account, [post(1).message], "m1")
    with store.transaction() as conn:
        assert heard.store_batch(conn, account, [post(1)], "c1", clock.now()) == []


def test_untrusted_text_is_cleaned_before_it_is_stored(store, clock) -> None:
    account = store.ensure_account("shop", "mastodon", "mastodon", settings=TERMS)
    with store.transaction() as conn:
        heard.store_batch(conn, account, [post(1, "Acme \x1b]0;owned\x07 \x1b[2J rocks")], None, clock.now())
    (row,) = heard.listed(store.conn)
    assert "\x1b" not in row.text and "rocks" in row.text


def test_a_failing_batch_stores_neither_posts_nor_cursor(store, clock) -> None:
    account = store.ensure_account("shop", "mastodon", "mastodon", settings=TERMS)
    with pytest.raises(RuntimeError), store.transaction() as conn:
        heard.store_batch(conn, account, [post(1)], "c1", clock.now())
        raise RuntimeError("crash between the posts and the commit")
    assert heard.listed(store.conn) == [] and heard.cursor(store.conn, account) is None


# ---------------------------------------------------------------------- promoting and dismissing

def test_promoting_makes_one_conversation_that_waits_from_now(store, clock) -> None:
    account = store.ensure_account("shop", "mastodon", "mastodon", settings=TERMS)
    with store.transaction() as conn:
        (hid,) = heard.store_batch(conn, account, [post(1, at=T0 - 7200)], None, clock.now())
    clock.advance(30)
    cid = service.promote(store, hid, None)
    assert service.promote(store, hid, None) == cid  # again: the same conversation, nothing doubled
    conversation = store.conversation(cid)
    assert conversation.waiting_since == T0 + 30 and conversation.kind == "public"
    assert store.view_counts()["waiting"] == 1
    (message,) = store.messages(cid)
    assert message.external_id == "p1" and message.sent_at == T0 - 7201
    assert heard.listed(store.conn) == [] and heard.get(store.conn, hid).state == HeardState.PROMOTED


def test_dismissing_hides_it_and_a_dismissed_post_cannot_be_promoted(store, clock) -> None:
    account = store.ensure_account("shop", "mastodon", "mastodon", settings=TERMS)
    with store.transaction() as conn:
        (hid,) = heard.store_batch(conn, account, [post(1)], None, clock.now())
    assert service.dismiss(store, hid, None) is True
    assert service.dismiss(store, hid, None) is False
    assert heard.count(store.conn) == 0
    with pytest.raises(HeardGone):
        service.promote(store, hid, None)


def test_what_each_platform_allows() -> None:
    def row(reply: Reply, dm: bool | None, channel: str = "x") -> heard.HeardRow:
        return heard.HeardRow(1, 1, "shop", channel, "p1", "u1", "@a", "A", "t", "", "Acme", reply, dm, T0, T0,
                              HeardState.NEW, None)

    assert service.offers(row(Reply.REFUSED, True)) == (Offer.LIKE, Offer.QUOTE, Offer.DM)
    assert service.offers(row(Reply.REFUSED, False)) == (Offer.LIKE, Offer.QUOTE)
    assert service.offers(row(Reply.REFUSED, None)) == (Offer.LIKE, Offer.QUOTE)  # a DM only where X says so
    assert "X refuses a reply" in service.allows(row(Reply.REFUSED, False))
    assert service.offers(row(Reply.REPLY, None, "mastodon")) == (Offer.REPLY, Offer.DM)


def test_a_quote_is_queued_as_our_own_post_quoting_it(store, clock) -> None:
    from agentconsole.replies.outbox import Outbox

    account = store.ensure_account("shop", "x", "x", settings=TERMS)
    with store.transaction() as conn:
        (hid,) = heard.store_batch(conn, account, [post(1, reply=Reply.REFUSED)], None, clock.now())
    item = Outbox(store).item(service.quote(store, Outbox(store), hid, "Thanks for the love!", None))
    assert item.action == "post" and item.account_id == account and item.conversation_id is None
    assert item.request.extra == {"quote_of": "p1"}


# ---------------------------------------------------------------------- the engine's rounds

async def test_a_round_stores_the_posts_and_says_so(store, clock) -> None:
    account = store.ensure_account("shop", "mastodon", "mastodon", settings=TERMS)
    connector = Listening(clock, rounds=[[post(1), post(2)], [post(2)]])
    assert isinstance(connector, Listens)
    events = []
    listener = Listener(store, {account: connector}, clock, events.append)
    assert await listener.listen_once(account) == 2
    assert await listener.listen_once(account) == 0
    assert connector.asked[0] == (ListenTerms(("Acme",), ("acmeshoes",)), None)
    assert connector.asked[1][1] == json.dumps({"n": 1})  # the stored cursor is handed back
    assert [e.kind for e in events] == [EventKind.HEARD]


async def test_an_account_without_terms_or_a_listening_connector_is_never_asked(store, clock) -> None:
    quiet = store.ensure_account("quiet", "mastodon", "mastodon")
    plain = store.ensure_account("plain", "email", "email", settings=TERMS)
    connector = Listening(clock, rounds=[[post(1)]])
    listener = Listener(store, {quiet: connector, plain: ScriptedConnector(clock)}, clock, lambda e: None)
    assert listener.listening() == [quiet]
    assert await listener.listen_once(quiet) == 0 and await listener.listen_once(plain) == 0
    assert connector.asked == []


async def test_the_engine_listens_beside_its_polls_and_a_failure_is_kept_not_raised(store, clock) -> None:
    account = store.ensure_account("shop", "mastodon", "mastodon", settings=TERMS)
    connector = Listening(clock, rounds=[[post(1)]], fail=[TemporaryError("instance down")])
    engine = Engine(store, {account: connector}, clock=clock)
    heard_events = asyncio.Event()
    engine.on_change = lambda e: heard_events.set() if e.kind == EventKind.HEARD else None
    task = asyncio.create_task(engine.run())
    try:
        await asyncio.wait_for(heard_events.wait(), 5)  # the failed round
        assert engine.listener.states[account].ok is False
        assert "instance down" in engine.listener.states[account].message
        heard_events.clear()
        engine.listener.kick(account)
        await asyncio.wait_for(heard_events.wait(), 5)  # the next round stores the post
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert [r.external_id for r in heard.listed(store.conn)] == ["p1"]
    assert engine.states()[account].status == "ok"  # the account's own sync never noticed


@pytest.mark.parametrize("error, kept", [(RateLimited("slow down", retry_after=90), "rate limited"),
                                         (AuthError("token revoked"), "token revoked")])
async def test_typed_errors_are_kept_as_the_listening_state(store, clock, error, kept) -> None:
    account = store.ensure_account("shop", "mastodon", "mastodon", settings=TERMS)
    listener = Listener(store, {account: Listening(clock, fail=[error])}, clock, lambda e: None)
    task = asyncio.create_task(listener.run(account))
    try:
        for _ in range(200):
            if account in listener.states:
                break
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    state = listener.states[account]
    assert not state.ok and kept in state.message and state.retry_at is not None and state.retry_at > T0


def test_terms_are_kept_in_the_account_settings(store) -> None:
    account = store.ensure_account("shop", "mastodon", "mastodon", settings={"instance": "https://m.example"})
    service.set_terms(store, account, listen_terms.parse("Acme", "acmeshoes"), interval=600)
    settings = store.account(account).settings
    assert settings["instance"] == "https://m.example"
    assert settings["listen"] == {"keywords": ["Acme"], "hashtags": ["acmeshoes"], "interval": 600.0}
    service.set_terms(store, account, ListenTerms())
    assert "listen" not in store.account(account).settings


def test_a_reply_to_a_promoted_x_post_that_did_not_mention_us_is_refused_before_it_is_queued(store, clock) -> None:
    from agentconsole.config import Config
    from agentconsole.session.session import Session, SendRefused

    x = store.ensure_account("shop-x", "x", "x", settings=TERMS)
    masto = store.ensure_account("shop-m", "mastodon", "mastodon", settings=TERMS)
    with store.transaction() as conn:
        (on_x,) = heard.store_batch(conn, x, [post(1, reply=Reply.REFUSED)], None, clock.now())
        (on_m,) = heard.store_batch(conn, masto, [post(2)], None, clock.now())
    session = Session(store, clock=clock, config=Config(), agent_id=store.ensure_agent("Alice Ng"))
    x_conv, m_conv = session.promote_heard(on_x), session.promote_heard(on_m)
    with pytest.raises(SendRefused, match="X refuses a public reply"):
        session.reply(x_conv, "Thanks!")
    assert session.outbox.pending(x_conv) == []
    assert session.reply(m_conv, "Thanks!")  # Mastodon takes a reply in the thread
    # Once the customer writes to us in that thread (an @mention now), the reply answers that message.
    store.ingest(x, [InboundMessage("p9", "p1", Kind.PUBLIC, Person("u1", "@fan1"), "@shop thanks!", T0 + 60)])
    assert session.reply(x_conv, "Anytime!")


def test_moving_a_promoted_x_post_to_dm_offers_the_dm_alone(store, clock) -> None:
    from agentconsole.config import Config
    from agentconsole.domain.models import Capabilities
    from agentconsole.session.session import Session

    x = store.ensure_account("shop-x", "x", "x", settings=TERMS)
    with store.transaction() as conn:
        (hid,) = heard.store_batch(conn, x, [post(1, reply=Reply.REFUSED, dm=True)], None, clock.now())

    class Engine:  # what the Session reads of an engine here: the account's capabilities
        connectors = {x: type("C", (), {"capabilities": Capabilities(direct_message=True)})()}

    session = Session(store, clock=clock, config=Config(), agent_id=store.ensure_agent("Alice Ng"))
    session.engine = Engine()  # type: ignore[assignment]
    cid = session.promote_heard(hid)
    texts = session.escalation_texts(store.conversation(cid))
    assert texts.public == "" and texts.dm
    done = session.escalate(cid, texts.dm, texts.public)
    queued = store.conn.execute("SELECT id, action FROM outbox WHERE account_id = ?", (x,)).fetchall()
    assert [tuple(r) for r in queued] == [(done.dm_item, "dm")]  # the DM alone, no public reply X would refuse
