"""A seeded Store in tmp_path with a FrozenClock, and a factory for the console app over it."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from agentconsole.domain.clock import FrozenClock
from agentconsole.config import Config
from agentconsole.domain.models import Channel, Direction, InboundMessage, Kind, Person, Status
from agentconsole.storage.store import Store

START = 1_764_000_000.0  # 2025-11-24 16:00 UTC
MINUTE = 60.0

HOSTILE_NAME = "[/]Mal[@click=app.quit]Click me[/] [b]bold"
HOSTILE_TEXT = ("links \x1b]8;;http://evil.example\x07here\x1b]8;;\x07 clear\x1b[2J c1\x9b31m"
                " dcs\x1bPpayload\x1b\\ end [red]not red[/red] [@click=app.bell]ring[/]")
LONG_TEXT = "\n".join(f"line {i} of the giant paste" for i in range(10_000))


@dataclass
class Seeded:
    store: Store
    clock: FrozenClock
    agent_id: int
    ids: dict[str, int]  # conversation ids by a short name

    def app(self, **kwargs):
        from screens.app import AgentConsoleApp

        config = kwargs.pop("config", Config(timezone="Europe/Berlin"))
        from agentconsole.session.session import Session

        session = Session(self.store, clock=self.clock, config=config, agent_id=self.agent_id,
                          engine=kwargs.pop("engine", None))
        return AgentConsoleApp(session, **kwargs)


def _msg(ext: str, thread: str, kind: Kind, who: Person, text: str, at: float,
         direction: Direction = Direction.IN, subject: str = "", **extra) -> InboundMessage:
    return InboundMessage(ext, thread, kind, who, text, at, direction, subject=subject, extra=extra)


def seed(store: Store, clock: FrozenClock) -> Seeded:
    now = clock.now()
    agent = store.ensure_agent("Alice Ng", timezone="Europe/Berlin")
    x = store.ensure_account("brand-x", Channel.X, "demo", handle="@brand")
    fb = store.ensure_account("brand-fb", Channel.FACEBOOK, "demo")
    mail = store.ensure_account("support-mail", Channel.EMAIL, "demo")
    masto = store.ensure_account("brand-masto", Channel.MASTODON, "demo")
    bsky = store.ensure_account("brand-bsky", Channel.BLUESKY, "demo")
    us = Person("brand", "@brand", "Brand")
    dana = Person("u1", "@dana_k", "Dana Kim", bio="Coffee person", location="Boston")
    sam = Person("u2", "sam.ortiz", "Sam Ortiz")
    li = Person("u3", "j.li@example.com", "J. Li")
    ray = Person("u4", "@ray@fosstodon.org", "Ray")
    mo = Person("u5", "@mo.bsky.social", "Mo")
    mal = Person("u6", "@\x1b[31mmal", HOSTILE_NAME)
    store.ingest(x, [_msg("x1", "t-dana", Kind.PUBLIC, dana, "my order never arrived and nobody answers",
                          now - 42 * MINUTE),
                     _msg("x2", "t-mal", Kind.DM, mal, HOSTILE_TEXT, now - 5 * MINUTE),
                     _msg("x3", "t-long", Kind.DM, Person("u7", "@paster", "Pat Paste"), LONG_TEXT,
                          now - 30 * MINUTE)], "c1")
    store.ingest(fb, [_msg("f1", "t-sam", Kind.DM, sam, "Is the store open on Sunday?", now - 50 * MINUTE)],
                 "c1")
    store.ingest(mail, [_msg("m1", "t-li", Kind.EMAIL, li, "Please find the invoice attached.",
                             now - 11 * MINUTE, subject="Re: invoice #4411")], "c1")
    store.ingest(masto, [_msg("n1", "t-ray", Kind.PUBLIC, ray, "love the new release", now - 90 * MINUTE),
                         _msg("n2", "t-ray", Kind.PUBLIC, us, "thank you Ray!", now - 80 * MINUTE,
                              Direction.OUT, recipient=ray)], "c1")
    store.ingest(bsky, [_msg("b1", "t-mo", Kind.PUBLIC, mo, "thanks!", now - 120 * MINUTE)], "c1")
    ids = {row[1]: row[0] for row in store.conn.execute("SELECT id, thread_key FROM conversations")}
    ids = {key.removeprefix("t-"): value for key, value in ids.items()}
    store.set_status(ids["mo"], Status.DONE, agent)
    return Seeded(store, clock, agent, ids)


@pytest.fixture
def seeded(tmp_path, monkeypatch) -> Seeded:
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")
    monkeypatch.setenv("AGENTCONSOLE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("AGENTCONSOLE_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.delenv("NO_COLOR", raising=False)
    clock = FrozenClock(START)
    store = Store(tmp_path / "console.db", clock)
    yield seed(store, clock)
    store.close()
