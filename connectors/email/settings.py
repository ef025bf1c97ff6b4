"""An email account's connection settings, read from the account row, with TLS chosen safely."""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agentconsole.domain.errors import PermanentError

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
TLS_MODES = ("implicit", "starttls", "plain")
QUOTE_MODES = ("none", "below")


@dataclass(frozen=True, slots=True)
class EmailSettings:
    address: str
    imap_host: str
    smtp_host: str
    username: str
    imap_port: int = 993
    smtp_port: int = 587
    imap_tls: str = "implicit"
    smtp_tls: str = "starttls"
    display_name: str = ""
    folders: tuple[str, ...] = ("INBOX",)
    sent_folder: str = ""  # "" finds it: the folder flagged \Sent (RFC 6154), else a usual name
    sync_sent: bool = True
    append_sent: bool = True
    # The server files every submitted message in Sent itself (Gmail does; Postfix with Dovecot does
    # not): only then does "not in Sent" prove an interrupted send never arrived.
    server_files_sent: bool = False
    allow_plain: bool = False
    tls_ca_file: str = ""
    timeout: float = 30.0  # per socket operation
    deadline: float = 120.0  # for one IMAP step in all: a server trickling bytes cannot hold it longer
    batch_size: int = 200
    max_message_bytes: int = 25 * 1024 * 1024  # larger messages are fetched as headers only
    quote: str = "none"  # "below": the customer's message is quoted under the reply
    aliases: tuple[str, ...] = ()  # other From addresses that are ours (e.g. a shared sales@)

    @classmethod
    def from_mapping(cls, settings: Mapping[str, Any], address: str = "") -> EmailSettings:
        """Build from an account's ``settings``; ports pick the TLS mode when none is given."""
        def text(key: str, default: str = "") -> str:
            value = settings.get(key, default)
            return str(value) if value is not None else default

        address = text("address") or address
        imap_port = int(settings.get("imap_port") or 993)
        smtp_port = int(settings.get("smtp_port") or 587)
        folders = settings.get("folders") or ["INBOX"]
        if isinstance(folders, str):
            folders = [f.strip() for f in folders.split(",") if f.strip()]
        made = cls(
            address=address.strip().lower(),
            imap_host=text("imap_host"),
            smtp_host=text("smtp_host"),
            username=text("username") or address,
            imap_port=imap_port,
            smtp_port=smtp_port,
            imap_tls=text("imap_tls") or ("implicit" if imap_port == 993 else "starttls"),
            smtp_tls=text("smtp_tls") or ("implicit" if smtp_port == 465 else "starttls"),
            display_name=text("display_name"),
            folders=tuple(str(f) for f in folders),
            sent_folder=text("sent_folder"),
            sync_sent=bool(settings.get("sync_sent", True)),
            append_sent=bool(settings.get("append_sent", True)),
            server_files_sent=bool(settings.get("server_files_sent", False)),
            allow_plain=bool(settings.get("allow_plain", False)),
            tls_ca_file=text("tls_ca_file"),
            timeout=float(settings.get("timeout") or 30.0),
            deadline=float(settings.get("deadline") or 120.0),
            max_message_bytes=int(settings.get("max_message_bytes") or 25 * 1024 * 1024),
            quote=text("quote") or "none",
            aliases=tuple(str(a).strip().lower() for a in settings.get("aliases") or () if str(a).strip()),
        )
        # The options were validated when the account was added; only the rule that keeps passwords
        # off the wire unencrypted is re-checked on every use, in case the row was edited by hand.
        made.refuse_plain_to_remote()
        return made

    def validate(self) -> None:
        """Every rule the options must meet together; run by the set-up flow at `account add`."""
        for what, host, mode in (("IMAP", self.imap_host, self.imap_tls),
                                 ("SMTP", self.smtp_host, self.smtp_tls)):
            if not host:
                raise PermanentError(f"{what} host is not set")
            if mode not in TLS_MODES:
                raise PermanentError(f"{what} TLS mode {mode!r} is not one of {', '.join(TLS_MODES)}")
        self.refuse_plain_to_remote()
        if self.quote not in QUOTE_MODES:
            raise PermanentError(f"quote {self.quote!r} is not one of {', '.join(QUOTE_MODES)}")
        if "@" not in self.address:
            raise PermanentError(f"the account address {self.address!r} is not an email address")

    def refuse_plain_to_remote(self) -> None:
        for what, host, mode in (("IMAP", self.imap_host, self.imap_tls),
                                 ("SMTP", self.smtp_host, self.smtp_tls)):
            if mode == "plain" and not (self.allow_plain and host in LOCAL_HOSTS):
                raise PermanentError(
                    f"{what} without TLS is only allowed for localhost with allow_plain = true")

    @property
    def own_addresses(self) -> frozenset[str]:
        return frozenset((self.address, *self.aliases))

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2] or "localhost"

    def ssl_context(self) -> ssl.SSLContext:
        """A verifying TLS context; ``tls_ca_file`` adds a private CA (e.g. a self-signed test server)."""
        context = ssl.create_default_context(cafile=self.tls_ca_file or None)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context

    def describe(self, what: str) -> str:
        host, port, mode = ((self.imap_host, self.imap_port, self.imap_tls) if what == "IMAP"
                            else (self.smtp_host, self.smtp_port, self.smtp_tls))
        return f"{what} {host}:{port} ({'TLS' if mode == 'implicit' else mode.upper()})"
