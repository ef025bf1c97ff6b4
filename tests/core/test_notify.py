"""The notification policy: which events, one notification per burst, the terminal's escapes, the command."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest

from agentconsole.config import ConfigError, load
from agentconsole.domain.clock import FrozenClock
from agentconsole.notify import (Event, Notification, Notifier, NotifyEvent, NotifyPolicy, Terminal, run_command,
                                 terminal_sequence)

ALL = NotifyPolicy(terminal=Terminal.OSC9)


def event(n: int = 0, kind: Event = Event.NEW_WAITING) -> NotifyEvent:
    return NotifyEvent(kind, "X", f"Customer {n}", f"message {n}", n)


def test_a_burst_of_200_is_one_notification_and_the_next_waits_for_the_quiet_time():
    clock = FrozenClock(1000.0)
    notifier = Notifier(ALL, clock, gather=2.0, quiet=30.0)
    for n in range(200):
        notifier.add([event(n)])
        clock.advance(0.005)
    assert notifier.due() is None  # still gathering
    clock.advance(2.0)
    told = notifier.due()
    assert told is not None and told.count == 200
    assert told.title == "agentconsole: 200 new messages"
    assert told.body == "Customer 0 (X): message 0 (and 199 more)"
    assert notifier.due() is None  # nothing left
    notifier.add([event(300), event(301, Event.SEND_FAILED)])
    clock.advance(5.0)
    assert notifier.due() is None  # within the quiet time after the last one
    clock.advance(25.0)
    second = notifier.due()
    assert second is not None and second.count == 2
    assert second.title == "agentconsole: New message, Send needs a decision"


def test_only_the_chosen_events_notify_and_nothing_when_nowhere_to_tell():
    clock = FrozenClock()
    picky = Notifier(NotifyPolicy(on=frozenset({Event.OVER_TARGET}), command="true"), clock, gather=0)
    picky.add([event(1), event(2, Event.OVER_TARGET)])
    told = picky.due()
    assert told is not None and told.counts == ((Event.OVER_TARGET, 1),)
    silent = Notifier(NotifyPolicy(), clock, gather=0)  # terminal off, no command
    silent.add([event(1)])
    assert silent.due() is None


HOSTILE = NotifyEvent(Event.NEW_WAITING, "X", "Mal\x1b]0;pwned\x07 \x9b31m;$(touch pwned)",
                      "hi\x07\x1b[2J there\nnext line\ttab", 7)


def test_untrusted_fields_reach_the_terminal_without_escapes():
    told = Notification(HOSTILE, ((Event.NEW_WAITING, 1),))
    for terminal in (Terminal.OSC9, Terminal.OSC777, Terminal.OSC99):
        sequence = terminal_sequence(told, terminal)
        body = sequence[sequence.index(";") + 1:]
        inner = body.replace("\x1b]99;i=1:d=1:p=body;", "").replace("\x1b\\", "").rstrip("\x07")
        assert "\x1b" not in inner and "\x07" not in inner and "\x9b" not in inner and "\n" not in inner
    assert told.body.startswith("Mal")
    assert "there next line tab" in told.body


def test_each_terminal_gets_its_own_escape_and_tmux_its_passthrough():
    told = Notification(event(1), ((Event.NEW_WAITING, 1),))
    assert terminal_sequence(told, Terminal.OFF) == ""
    assert terminal_sequence(told, Terminal.BELL) == "\a"
    assert terminal_sequence(told, Terminal.BELL, tmux=True) == "\a"
    assert terminal_sequence(told, Terminal.OSC9) == "\x1b]9;agentconsole: New message: Customer 1 (X): message 1\x07"
    assert terminal_sequence(told, Terminal.OSC777) == (
        "\x1b]777;notify;agentconsole: New message;Customer 1 (X): message 1\x07")
    assert terminal_sequence(told, Terminal.OSC99) == (
        "\x1b]99;i=1:d=0;agentconsole: New message\x1b\\\x1b]99;i=1:d=1:p=body;Customer 1 (X): message 1\x1b\\")
    wrapped = terminal_sequence(told, Terminal.OSC99, tmux=True)
    # DCS tmux; <the sequence with every ESC doubled> ST
    assert wrapped == ("\x1bPtmux;\x1b\x1b]99;i=1:d=0;agentconsole: New message\x1b\x1b\\\x1b\x1b]99;i=1:d=1:p=body;"
                       "Customer 1 (X): message 1\x1b\x1b\\\x1b\\")
    assert terminal_sequence(told, Terminal.OSC9, tmux=True) == (
        "\x1bPtmux;\x1b\x1b]9;agentconsole: New message: Customer 1 (X): message 1\x07\x1b\\")


SCRIPT = "import json, os, sys; json.dump({k: v for k, v in os.environ.items() if k.startswith('AGENTCONSOLE_')}, " \
         "open(sys.argv[1], 'a')); open(sys.argv[1], 'a').write('\\n')"


def test_the_command_gets_the_event_in_its_environment_never_in_its_text(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "events.jsonl"
    command = f"{shlex.quote(sys.executable)} -c {shlex.quote(SCRIPT)} {shlex.quote(str(out))}"
    told = Notification(HOSTILE, ((Event.NEW_WAITING, 3),))
    assert run_command(command, told, environ={"PATH": "/usr/bin:/bin"}) == 0
    seen = json.loads(out.read_text().splitlines()[0])
    assert seen["AGENTCONSOLE_EVENT"] == "new_waiting"
    assert seen["AGENTCONSOLE_COUNT"] == "3"
    assert seen["AGENTCONSOLE_CHANNEL"] == "X"
    assert seen["AGENTCONSOLE_CONVERSATION"] == "7"
    assert seen["AGENTCONSOLE_CUSTOMER"].startswith("Mal") and "$(touch pwned)" in seen["AGENTCONSOLE_CUSTOMER"]
    assert not any(ch in value for value in seen.values() for ch in "\x1b\x07\x9b\n\t")
    assert not (tmp_path / "pwned").exists()  # the customer's name was never run as shell text


def test_a_failing_or_hanging_command_is_logged_not_raised(tmp_path: Path, caplog):
    told = Notification(event(1), ((Event.NEW_WAITING, 1),))
    assert run_command("exit 4", told) == 4
    assert run_command("sleep 5", told, timeout=0.2) is None
    assert "ended with status 4" in caplog.text and "was stopped" in caplog.text


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_notify_config_is_read_and_checked(tmp_path: Path):
    config = load(write(tmp_path, '[notify]\non = ["send_failed"]\nterminal = "osc777"\ncommand = "notify-send hi"\n'))
    assert (config.notify_on, config.notify_terminal, config.notify_command) == (
        ("send_failed",), "osc777", "notify-send hi")
    assert load(write(tmp_path, "")).notify_on == ("new_waiting", "over_target", "send_failed", "handoff")
    with pytest.raises(ConfigError, match=r"line 2: \[notify\] terminal: unknown terminal notification 'osc8'"):
        load(write(tmp_path, '[notify]\nterminal = "osc8"\n'))
    with pytest.raises(ConfigError, match=r"\[notify\] on: unknown event 'new_mail'; allowed: new_waiting"):
        load(write(tmp_path, '[notify]\non = ["new_mail"]\n'))
    with pytest.raises(ConfigError, match=r"\[notify\] on: must be a list of strings"):
        load(write(tmp_path, '[notify]\non = "handoff"\n'))
