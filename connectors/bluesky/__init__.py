"""Bluesky: mentions, replies, quotes and chat DMs over the AT Protocol; the Bluesky channel's plug-in."""

from __future__ import annotations

from agentconsole.channels.contract import Connector
from agentconsole.channels.plugin import ChannelPlugin, Option, OptionType, SetupFlow, TextRule
from agentconsole.domain.clock import Clock
from agentconsole.domain.models import Capabilities, Channel, Kind
from agentconsole.domain.rows import AccountRow

DEFAULT_SERVICE = "https://bsky.social"
DEFAULT_CHAT_SERVICE = "did:web:api.bsky.chat"
POST_GRAPHEMES, POST_BYTES = 300, 3000
DM_GRAPHEMES, DM_BYTES = 1000, 10_000


def measure(text: str) -> int:
    """Graphemes, unless the UTF-8 size says more: both limits are ten bytes per grapheme (300 / 3,000
    for posts, 1,000 / 10,000 for DMs), so one count out of the grapheme limit enforces the two."""
    from agentconsole.replies.lengths import grapheme_length

    size = len(text.encode("utf-8", "surrogatepass"))
    return max(grapheme_length(text), -(-size // (POST_BYTES // POST_GRAPHEMES)))


TEXT_RULE = TextRule({Kind.PUBLIC: POST_GRAPHEMES, Kind.DM: DM_GRAPHEMES, None: POST_GRAPHEMES}, measure,
                     "graphemes")
CAPABILITIES = Capabilities(public_reply=True, direct_message=True, public_post=True,
                            max_length=POST_GRAPHEMES, length_unit="graphemes", idempotent_send=False,
                            can_find_sent=True, find_sent_authoritative=True, reports_send_phases=True)


def _capabilities(account: AccountRow) -> Capabilities:
    return CAPABILITIES


def _build(account: AccountRow, clock: Clock) -> Connector:
    from connectors.bluesky.connector import from_account

    return from_account(account, clock)


def _setup() -> SetupFlow:
    from connectors.bluesky.setup import BlueskySetup

    return BlueskySetup()


OPTIONS = (
    Option("handle", "Handle", "the brand's Bluesky handle or DID, e.g. shop.bsky.social", required=True,
           placeholder="shop.bsky.social", form=True),
    Option("service", "Sign-in server", "where to sign in (default https://bsky.social); the account's own "
           "PDS is then taken from its DID document", OptionType.URL, default=DEFAULT_SERVICE),
    Option("dms", "Direct messages", "read and send chat DMs (needs an app password created with "
           "'Allow access to your direct messages')", OptionType.FLAG, default=True, form=True),
    Option("chat_service", "Chat service", f"the DID of the chat service the PDS proxies to (default "
           f"{DEFAULT_CHAT_SERVICE})", default=DEFAULT_CHAT_SERVICE),
    Option("plc", "PLC directory", "where did:plc identities are looked up (default https://plc.directory)",
           OptionType.URL, default="https://plc.directory"),
    Option("resolve_pds", "Resolve the PDS", "after signing in, talk to the PDS the DID document names "
           "(off: keep talking to the sign-in server, e.g. a proxy in front of the PDS)", OptionType.FLAG,
           default=True),
    Option("deadline", "Deadline", "seconds one request to the server may take in all (default 30)",
           OptionType.INT, minimum=1, maximum=600),
)

plugin = ChannelPlugin(
    name="bluesky", channels=(Channel.BLUESKY,), title="Bluesky",
    summary="a Bluesky account (handle and app password)", options=OPTIONS,
    build=_build, capabilities=_capabilities, text={Channel.BLUESKY: TEXT_RULE},
    can_watch=False, setup=_setup(), describe=lambda settings: str(settings.get("pds") or
                                                                   settings.get("service") or ""))
