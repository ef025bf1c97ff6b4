"""[notify] in the running console (headless driver): a burst of new messages is one terminal notification
and one run of the scripted command, with the event in its environment."""

from __future__ import annotations

import json
import re
import shlex
import sys

from textual.drivers.headless_driver import HeadlessDriver

from agentconsole.config import Config
from agentconsole.domain.models import Direction, InboundMessage, Kind, Person
from agentconsole.replies.outbox import Outbox
from agentconsole.sync.engine import EngineEvent

from tests.screens.helpers import settle

SIZE = (120, 36)
SCRIPT = ("import json, os, sys; f = open(sys.argv[1], 'a'); json.dump({k: v for k, v in os.environ.items() "
          "if k.startswith('AGENTCONSOLE_')}, f); f.write('\\n')")


def notify_config(tmp_path, terminal: str = "osc777", on=("new_waiting", "over_target", "send_failed", "handoff")):
    out = tmp_path / "told.jsonl"
    command = f"{shlex.quote(sys.executable)} -c {shlex.quote(SCRIPT)} {shlex.quote(str(out))}"
    return Config(timezone="Europe/Berlin", notify_on=tuple(on), notify_terminal=terminal,
                  notify_command=command), out


def captured(monkeypatch) -> list[str]:
    writes: list[str] = []
    monkeypatch.setattr(HeadlessDriver, "write", lambda self, data: writes.append(data))
    return writes


async def test_a_burst_of_200_new_messages_is_one_notification(seeded, tmp_path, monkeypatch):
    writes = captured(monkeypatch)
    monkeypatch.delenv("TMUX", raising=False)
    config, out = notify_config(tmp_path)
    app = seeded.app(config=config)
    account = next(a.id for a in seeded.store.accounts() if a.name == "brand-x")
    now = seeded.clock.now()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        for batch in range(4):  # as four fetched pages of one sync
            messages = [InboundMessage(f"burst-{batch}-{n}", f"burst-{batch}-{n}", Kind.DM,
                                       Person(f"p{batch}-{n}", f"@fan{batch}_{n}", f"Fan {batch}.{n}"),
                                       f"hello \x1b[31mthere {n}", now - 60, Direction.IN) for n in range(50)]
            report = seeded.store.ingest(account, messages, f"c{batch}")
            app.engine_event(EngineEvent("ingested", account, report.conversation_ids))
        bob = seeded.store.ensure_agent("Bob Li")
        seeded.store.assign(seeded.ids["sam"], bob, bob)  # Bob's customer writes again: Bob's to be told
        report = seeded.store.ingest(next(a.id for a in seeded.store.accounts() if a.name == "brand-fb"), [
            InboundMessage("f-again", "t-sam", Kind.DM, Person("u2", "sam.ortiz", "Sam Ortiz"), "hello??", now)], "c9")
        app.engine_event(EngineEvent("ingested", None, report.conversation_ids))
        await settle(app, pilot)
        app.notifications.tick()
        await settle(app, pilot)
        assert not [w for w in writes if "\x1b]777" in w]  # still gathering the burst
        seeded.clock.advance(3)
        app.notifications.tick()
        await settle(app, pilot)
        seeded.clock.advance(60)
        app.notifications.tick()  # nothing new: nothing more
        await settle(app, pilot)
    shown = [w for w in writes if "\x1b]777" in w]
    assert len(shown) == 1
    # The four pages are read by workers in any order: the first event named is one of their firsts.
    assert re.fullmatch(r"\x1b]777;notify;agentconsole: 200 new messages;Fan \d\.0 \(X\): hello there 0 "
                        r"\(and 199 more\)\x07", shown[0]), shown
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    told = json.loads(lines[0])
    assert told["AGENTCONSOLE_EVENT"] == "new_waiting"
    assert told["AGENTCONSOLE_COUNT"] == "200"
    assert re.fullmatch(r"Fan \d\.0", told["AGENTCONSOLE_CUSTOMER"])
    assert told["AGENTCONSOLE_PREVIEW"] == "hello there 0"


async def test_inside_tmux_the_escape_goes_through_its_passthrough(seeded, tmp_path, monkeypatch):
    writes = captured(monkeypatch)
    monkeypatch.setenv("TMUX", "/tmp/tmux-0/default,1,0")
    config, _ = notify_config(tmp_path, terminal="osc9", on=("over_target",))
    app = seeded.app(config=config)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        rows = seeded.store.conversations_by_ids([seeded.ids["dana"]])
        app.notifications.over_target(list(rows.values()))
        report = seeded.store.ingest(seeded.store.accounts()[0].id, [InboundMessage(
            "x-new", "t-new", Kind.DM, Person("n", "@n", "N"), "ignored: not chosen", seeded.clock.now())], "c9")
        app.engine_event(EngineEvent("ingested", None, report.conversation_ids))
        await settle(app, pilot)
        seeded.clock.advance(3)
        app.notifications.tick()
        await settle(app, pilot)
    shown = [w for w in writes if "tmux;" in w]
    assert shown == ["\x1bPtmux;\x1b\x1b]9;agentconsole: Over target: Dana Kim (X): my order never arrived and "
                     "nobody answers\x07\x1b\\"]


async def test_a_hand_off_note_left_by_another_agent_notifies(seeded, tmp_path, monkeypatch):
    from agentconsole.shifts.service import Shifts

    captured(monkeypatch)
    config, out = notify_config(tmp_path, terminal="off", on=("handoff",))
    app = seeded.app(config=config)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.notifications.tick()  # what is pending at start is known already
        await settle(app, pilot)
        bob = seeded.store.ensure_agent("Bob Li")
        shifts = Shifts(seeded.store)
        shifts.start(seeded.agent_id, planned_end=None, hello={})
        shifts.start(bob, planned_end=None, hello={})
        shifts.end(seeded.agent_id, goodbye={}, note="my own note")  # not news to this console's agent
        shifts.end(bob, goodbye={}, note="Dana still waits for her refund")
        for _ in range(5):  # hand-off notes are looked for every few ticks
            app.notifications.tick()
            await settle(app, pilot)
        seeded.clock.advance(3)
        app.notifications.tick()
        await settle(app, pilot)
    told = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(t["AGENTCONSOLE_EVENT"], t["AGENTCONSOLE_CUSTOMER"], t["AGENTCONSOLE_PREVIEW"]) for t in told] == [
        ("handoff", "Bob Li", "Dana still waits for her refund")]


async def test_a_send_that_fails_notifies_once_but_not_those_failed_before_the_start(seeded, tmp_path, monkeypatch):
    captured(monkeypatch)
    config, out = notify_config(tmp_path, terminal="off", on=("send_failed",))
    outbox = Outbox(seeded.store)
    old = outbox.enqueue_reply(seeded.ids["ray"], "an old failure", agent_id=seeded.agent_id)
    outbox.mark_failed(old, "refused long ago")
    app = seeded.app(config=config)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.notifications.tick()  # reads what already needed a decision at start
        await settle(app, pilot)
        item = outbox.enqueue_reply(seeded.ids["dana"], "sorry about that", agent_id=seeded.agent_id)
        outbox.mark_failed(item, "403 you cannot reply to this post")
        for _ in range(2):  # the engine says so once per change of the item
            app.engine_event(EngineEvent("outbox", None, (seeded.ids["dana"],)))
            await settle(app, pilot)
        seeded.clock.advance(3)
        app.notifications.tick()
        await settle(app, pilot)
    told = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(t["AGENTCONSOLE_EVENT"], t["AGENTCONSOLE_COUNT"], t["AGENTCONSOLE_CUSTOMER"], t["AGENTCONSOLE_PREVIEW"])
            for t in told] == [("send_failed", "1", "Dana Kim", "failed: 403 you cannot reply to this post")]
