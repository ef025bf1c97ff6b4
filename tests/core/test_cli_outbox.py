"""`agentconsole outbox list|decide`: what awaits a decision, and the decision itself."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import pytest

from agentconsole import cli
from agentconsole.cli import outbox as cli_outbox
from agentconsole.config import Config
from agentconsole.domain.models import InboundMessage, Kind, Person
from agentconsole.replies.outbox import Outbox


@dataclass
class FakeContext:
    config: Config
    clock: object
    the_store: object
    out: io.StringIO = field(default_factory=io.StringIO)
    err: io.StringIO = field(default_factory=io.StringIO)

    def store(self, demo: bool = False):
        return self.the_store


@pytest.fixture
def run(store, clock, monkeypatch):
    monkeypatch.setitem(cli.LAZY_COMMANDS, "outbox", cli_outbox.__name__)

    def invoke(*argv: str) -> tuple[int, str, str]:
        argv = ["--agent", "Alice Ng", *argv]
        args = cli.build_parser(argv).parse_args(argv)
        ctx = FakeContext(Config(agent_name="Alice Ng", agent_initials="", timezone="UTC"), clock, store)
        return args.func(args, ctx), ctx.out.getvalue(), ctx.err.getvalue()

    return invoke


@pytest.fixture
def unsure(store, clock):
    account = store.ensure_account("shop-m", "mastodon", "scripted")
    store.ingest(account, [InboundMessage("m1", "t1", Kind.PUBLIC, Person("u1", "dana"), "help", clock.now())])
    outbox = Outbox(store)
    item = outbox.enqueue_reply(store.conversation_ids()[0], "Your parcel left today", agent_id=None)
    outbox.claim_due()
    outbox.mark_unsure(item, "no answer: it may have been sent")
    return item


def test_list_names_what_awaits_a_decision_and_how_to_decide(run, unsure):
    code, out, _ = run("outbox", "list", "--decide")
    assert code == 0
    assert f"#{unsure} shop-m reply: may have been sent: needs your decision" in out
    assert "'Your parcel left today'" in out and "outbox decide ID resend|mark-sent|discard" in out


def test_mark_sent_settles_it_and_a_second_decision_is_refused(run, store, unsure):
    code, out, _ = run("outbox", "decide", str(unsure), "mark-sent")
    assert code == 0 and out.strip() == f"#{unsure}: sent"
    assert Outbox(store).item(unsure).state == "sent"
    code, _, err = run("outbox", "decide", str(unsure), "resend")
    assert code == 1 and "only sends that may have been sent" in err
    assert run("outbox", "list", "--decide")[1].strip() == "nothing awaits a decision"


def test_resend_queues_it_again_and_unknown_ids_are_an_error(run, store, unsure):
    code, out, _ = run("outbox", "decide", str(unsure), "resend")
    assert code == 0 and "the next sync sends it" in out
    assert Outbox(store).item(unsure).state == "pending" and Outbox(store).item(unsure).phase == ""
    assert run("outbox", "decide", "999", "discard")[0] == 1
