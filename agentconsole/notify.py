"""Telling the agent outside the console: which events, coalesced so a burst is one notification, as a
terminal escape (OSC 9 / 777 / 99, bell; wrapped for tmux) or a command with the event in its environment."""

from __future__ import annotations

import logging
import os
import subprocess
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from agentconsole.domain.clock import Clock
from agentconsole.domain.sanitize import clean

log = logging.getLogger(__name__)

GATHER = 2.0  # seconds: events this close after the first one join its notification
QUIET = 30.0  # seconds: at most one notification this often; what comes meanwhile is told together after
COMMAND_TIMEOUT = 10.0  # seconds a notification command may run before it is stopped
CUSTOMER_CHARS = 60
PREVIEW_CHARS = 120


class Event(StrEnum):
    NEW_WAITING = "new_waiting"  # a customer wrote and now waits for an answer
    OVER_TARGET = "over_target"  # a conversation went over its response target
    SEND_FAILED = "send_failed"  # a send was refused or may have been sent: it needs a decision
    HANDOFF = "handoff"  # an agent ended a shift and left a hand-off note


class Terminal(StrEnum):
    OFF = "off"
    OSC9 = "osc9"  # iTerm2, WezTerm, Windows Terminal, ghostty, foot
    OSC777 = "osc777"  # urxvt, VTE terminals (GNOME Terminal, Tilix), WezTerm, ghostty
    OSC99 = "osc99"  # kitty's desktop notifications
    BELL = "bell"


EVENT_WORDS = {
    Event.NEW_WAITING: ("new message", "new messages"),
    Event.OVER_TARGET: ("over target", "over target"),
    Event.SEND_FAILED: ("send needs a decision", "sends need a decision"),
    Event.HANDOFF: ("hand-off note", "hand-off notes"),
}


@dataclass(frozen=True)
class NotifyPolicy:
    """[notify] of the config: which events, and where they go."""

    on: frozenset[Event] = frozenset(Event)
    terminal: Terminal = Terminal.OFF
    command: str = ""

    @property
    def active(self) -> bool:
        return bool(self.on) and (self.terminal != Terminal.OFF or bool(self.command.strip()))


@dataclass(frozen=True)
class NotifyEvent:
    kind: Event
    channel: str = ""
    customer: str = ""
    preview: str = ""
    conversation_id: int | None = None


def _plain(text: str, limit: int) -> str:
    """One line of untrusted text with nothing a terminal or a shell could take as an instruction."""
    text = clean(text, keep_newlines=False).replace("\t", " ")
    text = "".join(ch for ch in text if ch.isprintable())
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Notification:
    """What one burst of events comes to: its first event (the fields) and how many of each kind."""

    first: NotifyEvent
    counts: tuple[tuple[Event, int], ...]

    @property
    def count(self) -> int:
        return sum(n for _, n in self.counts)

    @property
    def title(self) -> str:
        parts = [f"{n} {EVENT_WORDS[kind][n != 1]}" if n != 1 else EVENT_WORDS[kind][0].capitalize()
                 for kind, n in self.counts]
        return "agentconsole: " + ", ".join(parts)

    @property
    def body(self) -> str:
        first = self.first
        who = _plain(first.customer, CUSTOMER_CHARS)
        where = f" ({_plain(first.channel, 20)})" if first.channel else ""
        text = f"{who}{where}: {_plain(first.preview, PREVIEW_CHARS)}" if who else _plain(first.preview, PREVIEW_CHARS)
        more = self.count - 1
        return text + (f" (and {more} more)" if more else "")

    def environment(self) -> dict[str, str]:
        """The event for a notification command: only these, sanitised; never put in the command text."""
        first = self.first
        return {
            "AGENTCONSOLE_EVENT": first.kind.value,
            "AGENTCONSOLE_EVENTS": ",".join(kind.value for kind, _ in self.counts),
            "AGENTCONSOLE_COUNT": str(self.count),
            "AGENTCONSOLE_CHANNEL": _plain(first.channel, 20),
            "AGENTCONSOLE_CUSTOMER": _plain(first.customer, CUSTOMER_CHARS),
            "AGENTCONSOLE_PREVIEW": _plain(first.preview, PREVIEW_CHARS),
            "AGENTCONSOLE_CONVERSATION": "" if first.conversation_id is None else str(first.conversation_id),
            "AGENTCONSOLE_TITLE": self.title,
            "AGENTCONSOLE_BODY": self.body,
        }


class Notifier:
    """Collects events (from any thread) and hands out at most one Notification per burst."""

    def __init__(self, policy: NotifyPolicy, clock: Clock, *, gather: float = GATHER, quiet: float = QUIET) -> None:
        self.policy = policy
        self.clock = clock
        self.gather = gather
        self.quiet = quiet
        self._lock = threading.Lock()
        self._first: NotifyEvent | None = None
        self._first_at = 0.0
        self._counts: Counter[Event] = Counter()
        self._told_at: float | None = None

    def add(self, events: Iterable[NotifyEvent]) -> None:
        with self._lock:
            for event in events:
                if event.kind not in self.policy.on or not self.policy.active:
                    continue
                if self._first is None:
                    self._first, self._first_at = event, self.clock.now()
                self._counts[event.kind] += 1

    def due(self) -> Notification | None:
        """The notification to give now, if one is due (call it every second or so)."""
        now = self.clock.now()
        with self._lock:
            if self._first is None or now < self._first_at + self.gather:
                return None
            if self._told_at is not None and now < self._told_at + self.quiet:
                return None
            order = list(Event)
            counts = tuple(sorted(self._counts.items(), key=lambda item: order.index(item[0])))
            notification = Notification(self._first, counts)
            self._first, self._counts, self._told_at = None, Counter(), now
            return notification


def terminal_sequence(notification: Notification, terminal: Terminal, *, tmux: bool = False) -> str:
    """The bytes that make the terminal show *notification* ("" for off). Inside tmux the OSC goes
    through its passthrough (DCS tmux; ... ST, every ESC doubled; needs `set -g allow-passthrough on`)."""
    title = notification.title
    body = notification.body
    if terminal == Terminal.OFF:
        return ""
    if terminal == Terminal.BELL:
        return "\a"  # tmux handles a bell itself (bell-action, the window's flag)
    if terminal == Terminal.OSC9:
        sequence = f"\x1b]9;{title}: {body}\x07"
    elif terminal == Terminal.OSC777:
        sequence = f"\x1b]777;notify;{title.replace(';', ',')};{body}\x07"  # ';' separates its fields
    else:  # OSC 99: the title, then the body, as one notification (id 1, d=0 says more follows)
        sequence = f"\x1b]99;i=1:d=0;{title}\x1b\\\x1b]99;i=1:d=1:p=body;{body}\x1b\\"
    if tmux:
        return "\x1bPtmux;" + sequence.replace("\x1b", "\x1b\x1b") + "\x1b\\"
    return sequence


def inside_tmux(environ: Mapping[str, str] | None = None) -> bool:
    return bool((os.environ if environ is None else environ).get("TMUX"))


def run_command(command: str, notification: Notification, *, timeout: float = COMMAND_TIMEOUT,
                environ: Mapping[str, str] | None = None) -> int | None:
    """Run the configured command through sh, the event in AGENTCONSOLE_* variables; its exit status, or
    None when it could not start or was stopped. Its output goes nowhere: never over the console."""
    env = {**(os.environ if environ is None else environ), **notification.environment()}
    try:
        done = subprocess.run(["/bin/sh", "-c", command], env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=timeout,
                              start_new_session=True, check=False)
    except subprocess.TimeoutExpired:
        log.warning("the notification command ran over %.0f s and was stopped", timeout)
        return None
    except OSError as exc:
        log.warning("the notification command could not start: %s", exc)
        return None
    if done.returncode != 0:
        log.warning("the notification command ended with status %d", done.returncode)
    return done.returncode
