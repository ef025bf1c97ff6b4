"""The channel contract suite: every test here runs once for every plug-in registered under the
"agentconsole.connectors" entry points, so a new channel is picked up without editing this suite.

Each plug-in NAME brings a harness, ``tests/connectors/contract/harness_NAME.py``, whose
``make_harness(tmp_path, monkeypatch)`` returns a :class:`Harness`: it serves recorded or scripted
platform answers (a loopback server, the real test mail servers), builds the connector through the
plug-in exactly as the engine does, and injects the faults it can. A plug-in without a harness fails
the suite. A fault a channel cannot meet at all (IMAP has no rate-limit answer) is declared in
``not_applicable`` with the reason, and the test is skipped saying so; anything else must pass.

Sends (test_send_contract.py) go through the real engine and outbox; a harness says what a reply on
its platform looks like (``send_request``), makes the platform meet one of SEND_FAULTS on the next send
(``fault_send``), and counts what the platform really received (``delivered``: the fake server's
created statuses, the customer's real mailbox), so "never two" is counted where it matters.
Poisoned items (test_poison_contract.py) are put on the platform with ``seed_poison``.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import ClassVar

import pytest

from agentconsole.channels import registry
from agentconsole.channels.contract import Connector
from agentconsole.channels.plugin import ChannelPlugin
from agentconsole.domain.clock import FrozenClock
from agentconsole.domain.models import OutboundRequest
from agentconsole.domain.rows import AccountRow

NOW = 1_764_061_200.0
# What the platform does with the next send (see Harness.fault_send):
#   refused         refuses it before any of the body left (a 4xx before DATA, a failed parent lookup)
#   timeout         takes the body and accepts it, then says nothing until the client's timeout
#   drop            takes the body and accepts it, then closes the connection without an answer
#   lost            takes the body, then closes the connection without accepting it
#   slow            accepts it, then answers so slowly that the send deadline passes first
#   forgetful       accepts it and loses the answer, and reading our own sends back fails for now
SEND_FAULTS = ("refused", "timeout", "drop", "lost", "slow", "forgetful")
# One poisoned inbound item (issue 21's classes; see Harness.seed_poison):
#   year_one, overflow, nan   a timestamp in year 1, an exponent that overflows to infinity, NaN
#   surrogate                 a lone surrogate (JSON "\ud800"; in mail its UTF-8 form, ED A0 80)
#   invalid_utf8              bytes that are not UTF-8 inside the one item
#   c1, osc                   an 8-bit C1 CSI introducer; an OSC sequence that is never terminated
#   tags                      invisible TAG characters (U+E0000 block) hiding text
#   huge                      a text larger than the store keeps for display (MAX_TEXT)
POISONS = ("year_one", "overflow", "nan", "surrogate", "invalid_utf8", "c1", "osc", "tags", "huge")
GOOD = "good item"  # every good item's text holds this; the poisoned one's never does
TAIL = "the rest"  # every poisoned text ends with this: what follows a bad part must not be lost
# What the listening cases search for (the Listens extra): the brand's name and its hashtag.
LISTEN_FAULTS = ("auth", "rate_limit", "server_error", "malformed")
FAULTS = ("auth", "rate_limit", "server_error", "malformed", "dropped", "trickle", "garbage", "huge",
          "garbage_id")


class Harness:
    """A plug-in's fake (or real local) platform, as the contract suite drives it."""

    name: ClassVar[str]
    not_applicable: ClassVar[dict[str, str]] = {}
    deadline: float = 1.0  # the request deadline the harness configures on its accounts

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.tmp_path = tmp_path
        self.monkeypatch = monkeypatch
        self.clock = FrozenClock(NOW)

    @property
    def plugin(self) -> ChannelPlugin:
        return registry.get(self.name)

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def account(self) -> AccountRow:
        """The account row the connector is built from (its secret provided the headless way)."""
        raise NotImplementedError

    def build(self) -> Connector:
        return self.plugin.build(self.account(), self.clock)

    async def seed(self, count: int) -> int:
        """Put *count* new customer messages on the platform; returns how many a fetch should bring."""
        raise NotImplementedError

    async def inject(self, fault: str) -> None:
        """Make the platform answer the next fetch with *fault* (one of FAULTS)."""
        raise NotImplementedError

    def clear(self) -> None:
        """Back to normal answers."""

    # ------------------------------------------------------------ sends

    async def open_sends(self) -> None:
        """Get the platform ready to receive sends (called once per sending test)."""

    def sender(self) -> Connector:
        """The connector the sending tests' engines use (a fresh one per engine, unless the platform
        lives in the connector itself, as the demo's does)."""
        return self.build()

    def send_request(self, text: str) -> OutboundRequest:
        """A reply carrying *text* that the platform can take."""
        raise NotImplementedError

    async def fault_send(self, fault: str) -> None:
        """Make the platform meet *fault* (one of SEND_FAULTS) on the next send."""
        raise NotImplementedError

    async def lookup_authoritative(self) -> None:
        """Set the account up so that looking a send up proves it either way (for email: a server that
        files every submitted message in Sent itself)."""
        raise NotImplementedError

    def lookups_back(self) -> None:
        """Reading our own sends back works again (after "forgetful")."""

    async def delivered(self, request: OutboundRequest) -> list[str]:
        """The platform's id of every delivery of *request* (two ids: it was sent twice)."""
        raise NotImplementedError

    # ------------------------------------------------------------ listening (the optional Listens extra)

    async def seed_heard(self, count: int) -> int:
        """Put *count* public posts on the platform that LISTEN_TERMS find and that do not @mention the
        brand, and one that does (listening leaves it to the mentions); returns how many a listening
        round should bring (-1: some, for a simulation). A plug-in that does not listen declares
        ``not_applicable["listen"]`` with the reason instead."""
        raise NotImplementedError

    async def inject_listen(self, fault: str) -> None:
        """Make the platform answer the next listening round with *fault* (auth, rate_limit,
        server_error, malformed): by default the same as for a fetch."""
        await self.inject(fault)

    # ------------------------------------------------------------ poison

    async def seed_poison(self, poison: str, good: int) -> int:
        """Put *good* ordinary customer messages and one carrying *poison* (one of POISONS) on the
        platform, the poisoned one among them; returns how many good ones a fetch should bring."""
        raise NotImplementedError

    def position(self, cursor: str | None) -> object:
        """The part of a cursor that says how far the account has read (compared, never parsed by tests)."""
        return cursor


def _harness_module(name: str):
    try:
        return importlib.import_module(f"tests.connectors.contract.harness_{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"tests.connectors.contract.harness_{name}":
            raise
        pytest.fail(f"plug-in {name!r} has no contract harness: add tests/connectors/contract/harness_{name}.py")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "plugin_name" in metafunc.fixturenames:
        metafunc.parametrize("plugin_name", registry.names())


@pytest.fixture
async def harness(plugin_name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request):
    made = _harness_module(plugin_name).make_harness(tmp_path, monkeypatch, request)
    await made.start()
    try:
        yield made
    finally:
        await made.stop()


def applicable(harness: Harness, fault: str) -> None:
    if fault in harness.not_applicable:
        pytest.skip(f"{harness.name}: {harness.not_applicable[fault]}")
