"""A crafted week of conversations whose every figure is worked out by hand in the tests."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from agentconsole.domain.clock import FrozenClock
from agentconsole.domain.models import Channel, Direction, InboundMessage, Kind, Person, Status
from agentconsole.storage.store import Store


def at(day: int, hour: int, minute: int = 0) -> float:
    """A time in November 2026, UTC (the 23rd is a Monday)."""
    return datetime(2026, 11, day, hour, minute, tzinfo=timezone.utc).timestamp()


NOW = at(25, 18)  # Wednesday evening
US = Person("us", "brand", "Brand")


class Timeline:
    """Builds the conversations through Store.ingest and set_status, with the clock moved along."""

    def __init__(self, path: Path) -> None:
        self.clock = FrozenClock(at(1, 0))
        self.store = Store(path, self.clock)
        self.accounts = {
            "x": self.store.ensure_account("x-main", Channel.X, "demo"),
            "email": self.store.ensure_account("shop-mail", Channel.EMAIL, "demo"),
            "mastodon": self.store.ensure_account("masto", Channel.MASTODON, "demo"),
        }
        self.alice = self.store.ensure_agent("Alice Ng")
        self.bob = self.store.ensure_agent("Bob Stone")
        self.conv: dict[str, int] = {}
        self._n = 0

    def customer(self, key: str, channel: str, when: float, kind: Kind = Kind.PUBLIC) -> None:
        self._add(key, channel, when, Direction.IN, kind, {})

    def reply(self, key: str, channel: str, when: float, agent: int | None, source: str | None,
              kind: Kind = Kind.PUBLIC) -> None:
        extra: dict = {"recipient": Person(f"cust-{key}", key)}
        if agent is not None:
            extra["agent_id"] = agent
        if source is not None:
            extra["source"] = source
        self._add(key, channel, when, Direction.OUT, kind, extra)

    def done(self, key: str, when: float, agent: int | None) -> None:
        self.clock.set(when)
        self.store.set_status(self.conv[key], Status.DONE, agent)

    def _add(self, key: str, channel: str, when: float, direction: Direction, kind: Kind,
             extra: dict) -> None:
        self._n += 1
        author = Person(f"cust-{key}", key) if direction == Direction.IN else US
        self.clock.set(max(self.clock.now(), when))
        report = self.store.ingest(self.accounts[channel], [InboundMessage(
            f"m{self._n}", f"thread-{key}", kind, author, f"message {self._n}", when, direction, extra=extra)])
        self.conv.setdefault(key, report.conversation_ids[0])


def build(path: Path) -> Timeline:
    """A: three messages before the answer, a note, done, reopened by the customer, done again.
    B: email answered a day later. C: a Mastodon DM nobody answered. D and F: quick answers on X.
    E: last month, outside every period in the tests.
    """
    t = Timeline(path)
    t.customer("E", "x", at(10, 9))
    t.reply("E", "x", at(10, 9, 5), t.alice, "personal")
    t.done("E", at(10, 10), t.alice)

    t.customer("A", "x", at(24, 9))
    t.customer("A", "x", at(24, 9, 10))
    t.customer("A", "x", at(24, 9, 20))
    t.clock.set(at(24, 9, 30))
    t.store.add_note(t.conv["A"], t.alice, "checking the order system")
    t.reply("A", "x", at(24, 9, 40), t.alice, "canned")
    t.done("A", at(24, 10), t.alice)
    t.customer("A", "x", at(24, 11))
    t.reply("A", "x", at(24, 11, 30), t.bob, "personal")
    t.done("A", at(24, 12, 30), t.bob)

    t.customer("B", "email", at(24, 10), Kind.EMAIL)
    t.reply("B", "email", at(25, 10), t.bob, "edited", Kind.EMAIL)

    t.customer("D", "x", at(25, 8))
    t.reply("D", "x", at(25, 8, 5), t.alice, "personal")
    t.done("D", at(25, 9), t.alice)

    t.customer("F", "x", at(25, 12))
    t.reply("F", "x", at(25, 12, 20), t.alice, "canned")

    t.customer("C", "mastodon", at(25, 17), Kind.DM)
    t.clock.set(NOW)
    return t
