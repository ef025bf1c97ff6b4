"""`agentconsole shift ...` drives the same core as the screens, and prints what the banner shows."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import pytest

from agentconsole import cli

from agentconsole.cli import shift as cli_shift
from agentconsole.config import Config
from agentconsole.domain.models import InboundMessage, Kind, Person
from agentconsole.replies.outbox import Outbox
from agentconsole.shifts.banner import build_banner, history_line
from agentconsole.shifts.service import Shifts

DANA = Person("u1", "dana_k", "Dana Kim")


@dataclass
class FakeContext:
    """The CliContext surface the shift commands use, around a test store."""

    config: Config
    clock: object
    the_store: object
    out: io.StringIO = field(default_factory=io.StringIO)
    err: io.StringIO = field(default_factory=io.StringIO)

    def store(self, demo: bool = False):
        return self.the_store


@pytest.fixture
def accounts(store):
    return {"x": store.ensure_account("shop-x", "x", "scripted"),
            "m": store.ensure_account("shop-m", "mastodon", "scripted"),
            "mail": store.ensure_account("shop-mail", "email", "scripted")}


@pytest.fixture
def run(store, clock, monkeypatch):
    monkeypatch.setitem(cli.LAZY_COMMANDS, "shift", cli_shift.__name__)

    def invoke(*argv: str, agent: str = "Alice Ng") -> tuple[int, str, str]:
        argv = ["--agent", agent, *argv]
        args = cli.build_parser(argv).parse_args(argv)
        ctx = FakeContext(Config(agent_initials="", timezone="UTC"), clock, store)
        code = args.func(args, ctx)
        return code, ctx.out.getvalue(), ctx.err.getvalue()

    return invoke


def test_start_posts_to_the_chosen_accounts_and_status_matches_the_banner(run, store, accounts, clock):
    code, out, err = run("shift", "start", "--until", "17:00", "--accounts", "shop-x")
    assert code == 0, err
    assert "Shift started at 09:00 until 17:00." in out
    assert "hello queued for X." in out
    assert "  shop-x: Hi! Alice here (^AN) until 17:00 UTC — ask away." in out
    rows = store.conn.execute("SELECT account_id, action, source FROM outbox").fetchall()
    assert [tuple(r) for r in rows] == [(accounts["x"], "post", "shift")]
    code, out, _ = run("shift", "status")
    assert code == 0
    assert out.strip() == build_banner(Shifts(store)).text()
    assert out.startswith("● On shift: Alice Ng (AN) since 09:00 until 17:00 · hello queued for X")


def test_default_accounts_skip_email_and_no_post_posts_nothing(run, store, accounts):
    code, out, _ = run("shift", "start")
    assert code == 0 and "hello queued for Mastodon, X." in out
    code, out, _ = run("shift", "start", "--no-post", agent="Bob Li")
    assert code == 0 and "no hello post." in out
    assert store.conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == 2


def test_end_hands_over_and_the_next_agent_reads_the_note(run, store, accounts, clock):
    conv = store.ingest(accounts["x"], [InboundMessage("m1", "t1", Kind.PUBLIC, DANA, "where is my parcel",
                                                       clock.now())], set_cursor=False).conversation_ids[0]
    assert run("shift", "start", "--accounts", "shop-x")[0] == 0
    alice = store.ensure_agent("Alice Ng")
    store.assign(conv, alice, alice)
    clock.advance(3600)
    code, out, err = run("shift", "end", "--next", "Bob Li", "--next-start", "09:00", "--note",
                         "Call the courier.", "--assign", "next")
    assert code == 0, err
    assert "goodbye queued for X." in out
    assert "That's it from Alice today — Bob Li takes over at Wed 09:00 UTC." in out
    assert "1 assigned conversation(s) wait unassigned until Bob Li starts a shift, then go to them." in out
    assert store.conversation(conv).assignee_name == ""
    assert f"- #{conv} Dana Kim · X public · waiting 1h00m · assigned to Alice Ng" in out
    assert out.rstrip().endswith("Call the courier.")
    code, out, err = run("shift", "start", "--no-post", agent="Bob Li")
    assert code == 0, err
    assert out.startswith("Hand-off from Alice Ng (shift ended 10:00):\nOpen work: 1 open, 1 waiting.")
    assert "Call the courier." in out
    assert Shifts(store).pending_handoffs() == []
    assert store.conversation(conv).assignee_name == "Bob Li"


def test_history_lists_shifts_like_the_screen(run, store, accounts, clock):
    run("shift", "start", "--accounts", "shop-m")
    item = store.conn.execute("SELECT id FROM outbox").fetchone()[0]
    Outbox(store).mark_failed(item, "instance unreachable")
    clock.advance(1800)
    run("shift", "end", "--no-post")
    code, out, _ = run("shift", "history")
    assert code == 0
    record = Shifts(store).history()[0]
    assert out.strip() == history_line(record, "UTC", clock.now())
    assert out.strip() == ("09:00–09:30 · Alice Ng · hello failed on Mastodon: instance unreachable"
                           " · no goodbye post · answered 0 · median first response –")


def test_mistakes_give_clear_messages_and_exit_codes(run, accounts):
    assert run("shift", "end")[0] == 1
    code, _, err = run("shift", "start", "--until", "25:00")
    assert code == 2 and "not a time of day" in err
    code, _, err = run("shift", "start", "--accounts", "nope")
    assert code == 2 and "unknown account(s): nope" in err
    assert run("shift", "history")[1] == "No shifts yet.\n"


def test_settings_turn_the_away_reply_on_and_check_templates(run, store, accounts):
    code, out, err = run("shift", "settings", "shop-x", "--away", "on", "--hello", "off",
                         "--away-template", "Back at {next_start|9am}, {first_name|there}!")
    assert code == 0, err
    assert out.splitlines()[0] == "shop-x (X): hello off · away on"
    assert "  away: Back at {next_start|9am}, {first_name|there}!" in out
    by_id = {s.account.id: s for s in Shifts(store).accounts()}
    assert by_id[accounts["x"]].away and not by_id[accounts["x"]].hello
    code, _, err = run("shift", "settings", "shop-x", "--hello-template", "hi {nobody}")
    assert code == 2 and "unknown placeholder {nobody}" in err and "line 1, column 4" in err
    code, out, _ = run("shift", "settings")
    assert "shop-mail (Email): no posts (email has no public posts) · away off" in out


def test_naming_the_next_agent_while_on_shift_shows_in_the_banner(run, accounts):
    assert run("shift", "next", "Bob Li", "--at", "17:00")[0] == 1  # not on shift yet
    run("shift", "start", "--no-post")
    code, out, _ = run("shift", "next", "Bob Li", "--at", "17:00")
    assert code == 0
    assert out.strip() == "● On shift: Alice Ng (AN) since 09:00 · no hello post · next: Bob Li 17:00"
