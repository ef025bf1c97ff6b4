"""X: owned mentions and DMs in, replies, DMs and posts out, rate-limited and priced as X bills them;
the X channel's plug-in."""

from __future__ import annotations

from agentconsole.channels.contract import Connector
from agentconsole.channels.plugin import ChannelPlugin, Option, OptionType, SetupFlow, TextRule
from agentconsole.domain.clock import Clock
from agentconsole.domain.models import Capabilities, Channel, Kind
from agentconsole.domain.rows import AccountRow

from connectors.x.text import DM_LIMIT, POST_LIMIT, weighted_length

DEFAULT_API = "https://api.x.com"
DEFAULT_PORT = 8765

CAPABILITIES = Capabilities(public_reply=True, direct_message=True, public_post=True, max_length=POST_LIMIT,
                            idempotent_send=False, can_find_sent=True,
                            # X's timelines are eventually consistent: a post not listed yet may exist.
                            find_sent_authoritative=False, reports_send_phases=True)


def _capabilities(account: AccountRow) -> Capabilities:
    return CAPABILITIES


def _build(account: AccountRow, clock: Clock) -> Connector:
    from connectors.x.connector import from_account

    return from_account(account, clock)


def _setup() -> SetupFlow:
    from connectors.x.setup import XSetup

    return XSetup()


OPTIONS = (
    Option("client_id", "Client ID", "the OAuth 2.0 Client ID of your own X developer app (a Native App, "
           "owned by the brand account, so mention reads are billed as owned reads)", required=True, form=True),
    Option("redirect_port", "Redirect port", f"the loopback port registered in the app as "
           f"http://127.0.0.1:PORT/callback (default {DEFAULT_PORT})", OptionType.PORT, default=DEFAULT_PORT,
           form=True),
    Option("headless", "Headless", "no browser on this host: print the address and paste back where it "
           "sent you", OptionType.FLAG, default=False, form=True),
    Option("poll_interval", "Poll every", "seconds between mention polls (default 60; each poll costs "
           "credits)", OptionType.INT, default=60, minimum=15, maximum=3600),
    Option("dm_interval", "DM poll every", "seconds between DM polls (default 60; X allows 15 per 15 min)",
           OptionType.INT, default=60, minimum=60, maximum=3600),
    Option("prices", "Prices", "USD price overrides, e.g. owned_read=0.001,dm_read=0.01,post=0.015,"
           "post_url=0.2,reply=0.01,dm=0.015,user_read=0.01,post_read=0.005", OptionType.LIST, default=[]),
    Option("api", "API address", f"the X API base address (default {DEFAULT_API})", OptionType.URL,
           default=DEFAULT_API),
    Option("deadline", "Deadline", "seconds one request to X may take in all (default 30)", OptionType.INT,
           minimum=1, maximum=600),
)

plugin = ChannelPlugin(
    name="x", channels=(Channel.X,), title="X",
    summary="an X account through your own X developer app (OAuth 2.0 with PKCE)", options=OPTIONS,
    build=_build, capabilities=_capabilities,
    text={Channel.X: TextRule({Kind.PUBLIC: POST_LIMIT, Kind.DM: DM_LIMIT, None: POST_LIMIT}, weighted_length)},
    can_watch=True, setup=_setup(), describe=lambda settings: "@" + str(settings.get("username") or ""))
