"""Contract harness for the demo plug-in: no server at all, traffic comes from the simulation's clock."""

from __future__ import annotations

from agentconsole.domain.rows import AccountRow
from connectors.demo.data import DEMO_ACCOUNTS
from tests.connectors.contract.conftest import FAULTS, Harness

NO_SERVER = "the demo has no server: nothing can answer it wrongly or slowly"


class DemoHarness(Harness):
    name = "demo"
    not_applicable = dict.fromkeys(FAULTS, NO_SERVER)

    def account(self) -> AccountRow:
        name, channel, handle, display = DEMO_ACCOUNTS[0]
        return AccountRow(1, name, str(channel), "demo", handle, display, {"seed": 7, "interval": 6.0}, True)

    async def seed(self, count: int) -> int:
        # The simulation delivers about one message per interval of clock time: an hour brings plenty.
        self.clock.advance(3600.0)
        return -1


def make_harness(tmp_path, monkeypatch, request) -> DemoHarness:
    return DemoHarness(tmp_path, monkeypatch)
