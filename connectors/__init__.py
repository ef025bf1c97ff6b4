"""Channel plug-ins, one package per channel, each registered under the "agentconsole.connectors" entry points."""

from __future__ import annotations

from agentconsole.channels.contract import Connector
from agentconsole.domain.clock import Clock
from agentconsole.domain.rows import AccountRow


def build(account: AccountRow, clock: Clock) -> Connector:
    """The connector for *account* from its plug-in; raises KeyError for a kind that is not installed."""
    from agentconsole.channels import registry

    return registry.build(account, clock)
