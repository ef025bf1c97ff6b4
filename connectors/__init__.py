"""Channel connectors: one module per channel, each building a Connector from an account row."""

from __future__ import annotations

from importlib import import_module

from agentconsole.domain.clock import Clock
from agentconsole.channels.contract import Connector
from agentconsole.domain.rows import AccountRow

# account.connector -> module whose from_account(account, clock) builds the connector.
FACTORIES: dict[str, str] = {
    "demo": "connectors.demo.connector",
    "email": "connectors.email",
    "mastodon": "connectors.mastodon.connector",
}


def build(account: AccountRow, clock: Clock) -> Connector:
    """The connector for *account*; raises KeyError for a connector this build does not know."""
    module = import_module(FACTORIES[account.connector])
    return module.from_account(account, clock)
