"""The installed channel plug-ins, found through the "agentconsole.connectors" entry points and imported on use."""

from __future__ import annotations

from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING

from agentconsole.channels.plugin import PLAIN_TEXT, ChannelPlugin, TextRule
from agentconsole.domain.models import Capabilities, Channel

if TYPE_CHECKING:
    from agentconsole.channels.contract import Connector
    from agentconsole.domain.clock import Clock
    from agentconsole.domain.rows import AccountRow

GROUP = "agentconsole.connectors"


class UnknownPlugin(KeyError):
    """No installed plug-in has this name."""

    def __str__(self) -> str:
        return f"no channel plug-in named {self.args[0]!r} is installed (known: {', '.join(names())})"


@cache
def _entries() -> dict[str, EntryPoint]:
    # Reading entry points reads the installed metadata only: no plug-in module is imported here.
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def names() -> list[str]:
    """Every installed plug-in's name, without importing any of them."""
    return sorted(_entries())


def entry(name: str) -> EntryPoint:
    try:
        return _entries()[name]
    except KeyError:
        raise UnknownPlugin(name) from None


@cache
def get(name: str) -> ChannelPlugin:
    """The plug-in *name*, imported now if it was not yet; raises UnknownPlugin."""
    plugin = entry(name).load()
    if not isinstance(plugin, ChannelPlugin) or plugin.name != name:
        raise TypeError(f"entry point {name!r} does not name a ChannelPlugin called {name!r}")
    return plugin


def plugins() -> list[ChannelPlugin]:
    return [get(name) for name in names()]


def with_setup() -> list[ChannelPlugin]:
    """The plug-ins a person can add an account for (the demo has no set-up)."""
    return [p for p in plugins() if p.setup is not None]


def build(account: AccountRow, clock: Clock) -> Connector:
    """The connector for *account*; raises UnknownPlugin for a kind this installation does not have."""
    return get(account.connector).build(account, clock)


def capabilities(account: AccountRow) -> Capabilities:
    """What *account* can do, from its plug-in and settings alone: no connector, no secret, no network."""
    return get(account.connector).capabilities(account)


def can_watch(account: AccountRow) -> bool:
    try:
        return get(account.connector).can_watch
    except UnknownPlugin:
        return False


@cache
def text_rule(channel: Channel | str) -> TextRule:
    """How *channel* measures a text: its own plug-in's rule, else one another plug-in simulates (the
    demo's, for channels whose package has not landed), else plain characters without a limit."""
    channel = Channel(channel)
    found = [p for p in plugins() if p.text_rule(channel) is not None]
    found.sort(key=lambda p: p.channel != channel)
    return found[0].text[channel] if found else PLAIN_TEXT


def reset() -> None:
    """Forget what was found (tests that install a plug-in on the fly)."""
    for cached in (_entries, get, text_rule):
        if hasattr(cached, "cache_clear"):  # a test may have replaced one with a plain function
            cached.cache_clear()
