"""Contract harness for the demo plug-in: no server at all, traffic comes from the simulation's clock."""

from __future__ import annotations

import uuid

from agentconsole.channels.contract import Connector
from agentconsole.domain.models import Kind, OutboundRequest
from agentconsole.domain.rows import AccountRow
from connectors.demo.data import DEMO_ACCOUNTS
from tests.connectors.contract.conftest import FAULTS, LISTEN_FAULTS, POISONS, SEND_FAULTS, Harness

NO_SERVER = "the demo has no server: nothing can answer it wrongly or slowly"
NO_NETWORK_SEND = "the demo's sends never leave the process: none can be refused, time out or lose its answer"
NO_POISON = ("the demo's traffic is generated from its own fixed corpus (connectors/demo/data.py), checked "
             "by tests/connectors/test_demo.py: no item of it can be poisoned from outside")
NO_LOST_ANSWER = ("the demo never loses an answer and remembers a key for ever (no window): the crash case "
                  "covers its resend under the same key")


class DemoHarness(Harness):
    name = "demo"
    not_applicable = {**dict.fromkeys(FAULTS, NO_SERVER),
                      **{f"send:{fault}": NO_NETWORK_SEND for fault in SEND_FAULTS},
                      "send:window": NO_LOST_ANSWER, "send:authoritative": NO_NETWORK_SEND,
                      **{f"poison:{poison}": NO_POISON for poison in POISONS},
                      **{f"listen:{fault}": NO_SERVER for fault in LISTEN_FAULTS}}

    def __init__(self, tmp_path, monkeypatch) -> None:
        super().__init__(tmp_path, monkeypatch)
        self.platform: Connector | None = None

    def account(self) -> AccountRow:
        name, channel, handle, display = DEMO_ACCOUNTS[0]
        return AccountRow(1, name, str(channel), "demo", handle, display, {"seed": 7, "interval": 6.0}, True)

    async def seed(self, count: int) -> int:
        # The simulation delivers about one message per interval of clock time: an hour brings plenty.
        self.clock.advance(3600.0)
        return -1

    async def seed_heard(self, count: int) -> int:
        # The simulated brand talk comes about once an hour of clock time: half a day brings some.
        self.clock.advance(12 * 3600.0)
        return -1

    # ---------------------------------------------------------------- sends

    def sender(self) -> Connector:
        # The simulated platform's memory of what it was sent is the connector's own: every engine of
        # a test (the one that "crashes" and the fresh one after it) talks to that one platform.
        if self.platform is None:
            self.platform = self.build()
        return self.platform

    def send_request(self, text: str) -> OutboundRequest:
        return OutboundRequest(uuid.uuid4().hex, "reply", text, thread_key="demo-contract-thread",
                               kind=Kind.PUBLIC)

    async def delivered(self, request: OutboundRequest) -> list[str]:
        # A test sends one request, so every send the platform took counts (a second one under a new
        # key would show here, one under the same key is the same send).
        sent = getattr(self.platform, "_sent", {})
        return [result.external_id for result in sent.values()]


def make_harness(tmp_path, monkeypatch, request) -> DemoHarness:
    return DemoHarness(tmp_path, monkeypatch)
