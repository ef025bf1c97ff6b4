"""Email over IMAP (receiving) and SMTP (sending): the email channel's plug-in."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from agentconsole.channels.contract import Connector
from agentconsole.channels.plugin import ChannelPlugin, Option, OptionType, TextRule
from agentconsole.domain.clock import Clock
from agentconsole.domain.models import Capabilities, Channel
from agentconsole.domain.rows import AccountRow
from connectors.email.setup import EmailSetup

# Sends report their phases (transmitting before DATA, accepted on the 250); the Sent-folder look-up
# proves absence only where the server files submitted mail itself (server_files_sent).
CAPABILITIES = Capabilities(public_reply=True, direct_message=False, public_post=False, max_length=None,
                            can_find_sent=True, reports_send_phases=True)
TLS = ("implicit", "starttls", "plain")

OPTIONS = (
    Option("address", "Address", "the mailbox's address, e.g. support@shop.example", OptionType.EMAIL,
           required=True, placeholder="support@shop.example", form=True),
    Option("display_name", "Display name", "the name shown on replies"),
    Option("imap_host", "IMAP host", "the IMAP server, e.g. imap.shop.example", OptionType.HOST,
           required=True, placeholder="imap.shop.example", form=True),
    Option("imap_port", "IMAP port", "993 (TLS, default) or 143 (STARTTLS)", OptionType.PORT, default=993,
           placeholder="993 (TLS) or 143 (STARTTLS)", form=True),
    Option("imap_tls", "IMAP TLS", "default: implicit on 993, else starttls", OptionType.CHOICE, default="",
           choices=TLS),
    Option("smtp_host", "SMTP host", "the SMTP submission server, e.g. smtp.shop.example", OptionType.HOST,
           required=True, placeholder="smtp.shop.example", form=True),
    Option("smtp_port", "SMTP port", "587 (STARTTLS, default) or 465 (TLS)", OptionType.PORT, default=587,
           placeholder="587 (STARTTLS) or 465 (TLS)", form=True),
    Option("smtp_tls", "SMTP TLS", "default: implicit on 465, else starttls", OptionType.CHOICE, default="",
           choices=TLS),
    Option("username", "User name", "login name (default: the address)", placeholder="empty = the address",
           form=True),
    Option("folders", "Folders", "comma-separated folders to read (default INBOX)", OptionType.LIST,
           default=["INBOX"]),
    Option("sent_folder", "Sent folder", "where sent replies are filed (default: the server's Sent folder)",
           default=""),
    Option("append_sent", "File sent copies",
           "do not file a copy of each reply in the sent folder (the server does it)", OptionType.FLAG,
           default=True),
    Option("server_files_sent", "Server files sent mail",
           "the SMTP server files each submitted message in Sent itself (Gmail does; Postfix does not), so a"
           " missing copy there proves a reply never left", OptionType.FLAG, default=False),
    Option("quote", "Quote", "quote the customer's message below each reply (default: none)",
           OptionType.CHOICE, default="", choices=("none", "below")),
    Option("tls_ca_file", "CA file", "trust this CA certificate (private servers)", OptionType.PATH, default=""),
    Option("allow_plain", "Allow plain", "allow unencrypted connections (only to localhost; for testing)",
           OptionType.FLAG, default=False),
    Option("deadline", "Deadline", "seconds one IMAP step may take in all (default 120)", OptionType.INT,
           minimum=1, maximum=3600),
)


def capabilities_for(settings: Mapping[str, Any]) -> Capabilities:
    return dataclasses.replace(CAPABILITIES, find_sent_authoritative=bool(settings.get("server_files_sent")))


def _build(account: AccountRow, clock: Clock) -> Connector:
    from connectors.email.connector import from_account

    return from_account(account, clock)


plugin = ChannelPlugin(
    name="email", channels=(Channel.EMAIL,), title="email",
    summary="an email mailbox (IMAP to receive, SMTP to send)", options=OPTIONS, build=_build,
    capabilities=lambda account: capabilities_for(account.settings or {}), text={Channel.EMAIL: TextRule({None: None})},
    can_watch=True, setup=EmailSetup(),
    describe=lambda settings: str(settings.get("imap_host") or ""))
