"""The embedded demo workspace: a simulated small shop's customers on every channel; its plug-in."""

from __future__ import annotations

from agentconsole.channels.contract import Connector
from agentconsole.channels.plugin import ChannelPlugin, TextRule
from agentconsole.domain.clock import Clock
from agentconsole.domain.models import Capabilities, Channel, Kind
from agentconsole.domain.rows import AccountRow
from agentconsole.replies.lengths import grapheme_length, x_weighted_length

# How the channels the demo simulates count a text, until each has its own package (X, Bluesky,
# Facebook and Instagram next); Mastodon and email take their rules from their own plug-ins.
SIMULATED_TEXT = {
    Channel.X: TextRule({Kind.PUBLIC: 280, Kind.DM: 10_000}, x_weighted_length),
    Channel.BLUESKY: TextRule({Kind.PUBLIC: 300, Kind.DM: 1000}, grapheme_length, "graphemes"),
    Channel.FACEBOOK: TextRule({Kind.PUBLIC: 8000, Kind.DM: 2000}),
    Channel.INSTAGRAM: TextRule({None: 1000}),
}


def capabilities_for(channel: Channel | str) -> Capabilities:
    """The demo account's capabilities: what the real channel could do, with its limit."""
    from agentconsole.replies.lengths import limit_for

    channel = Channel(channel)
    social = channel != Channel.EMAIL
    return Capabilities(public_reply=True, direct_message=social, public_post=social,
                        max_length=limit_for(channel, Kind.PUBLIC if social else Kind.EMAIL),
                        length_unit="graphemes" if channel == Channel.BLUESKY else "characters",
                        idempotent_send=True)


def _build(account: AccountRow, clock: Clock) -> Connector:
    from connectors.demo.connector import from_account

    return from_account(account, clock)


plugin = ChannelPlugin(
    name="demo", channels=tuple(Channel), title="demo", summary="simulated traffic, nothing leaves the machine",
    options=(), build=_build, capabilities=lambda account: capabilities_for(account.channel),
    text=SIMULATED_TEXT)
