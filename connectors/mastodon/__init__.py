"""Mastodon: mentions, replies and DMs over the Mastodon REST API; the Mastodon channel's plug-in."""

from __future__ import annotations

from agentconsole.channels.contract import Connector
from agentconsole.channels.plugin import ChannelPlugin, Option, OptionType, SetupFlow, TextRule
from agentconsole.domain.clock import Clock
from agentconsole.domain.models import Capabilities, Channel
from agentconsole.domain.rows import AccountRow
from agentconsole.replies.lengths import urls_as

DEFAULT_MAX_CHARACTERS = 500
URL_LENGTH = 23  # Mastodon counts every link as 23 characters, whatever its length
IDEMPOTENCY_KEY_SECONDS = 3600.0  # how long Mastodon remembers an Idempotency-Key


def capabilities_for(max_characters: int | None) -> Capabilities:
    return Capabilities(public_reply=True, direct_message=True, public_post=True,
                        max_length=max_characters or DEFAULT_MAX_CHARACTERS, idempotent_send=True,
                        idempotency_window=IDEMPOTENCY_KEY_SECONDS, can_find_sent=True,
                        find_sent_authoritative=True, reports_send_phases=True)


def _capabilities(account: AccountRow) -> Capabilities:
    # The instance's limit was read when the account was added and is kept in its settings.
    try:
        limit = int((account.settings or {}).get("max_characters") or 0)
    except (TypeError, ValueError):
        limit = 0
    return capabilities_for(limit if limit > 0 else None)


def _build(account: AccountRow, clock: Clock) -> Connector:
    from connectors.mastodon.connector import from_account

    return from_account(account, clock)


def _setup() -> SetupFlow:
    from connectors.mastodon.setup import MastodonSetup

    return MastodonSetup()


OPTIONS = (
    Option("instance", "Instance", "the Mastodon server, e.g. https://mastodon.social", OptionType.URL,
           required=True, placeholder="https://mastodon.social", form=True),
    Option("deadline", "Deadline", "seconds one request to the server may take in all (default 30)",
           OptionType.INT, minimum=1, maximum=600),
)

plugin = ChannelPlugin(
    name="mastodon", channels=(Channel.MASTODON,), title="Mastodon",
    summary="a Mastodon account (OAuth in the browser, or an existing access token)", options=OPTIONS,
    build=_build, capabilities=_capabilities,
    text={Channel.MASTODON: TextRule({None: DEFAULT_MAX_CHARACTERS}, urls_as(URL_LENGTH))},
    can_watch=True, setup=_setup(), describe=lambda settings: str(settings.get("instance") or ""))
