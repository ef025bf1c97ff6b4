"""Setting an email account up: options cross-checked, the password asked for, the login tested."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentconsole.channels.plugin import AccountDraft, OptionError, SecretSpec, SetupIO
from agentconsole.domain.clock import Clock
from agentconsole.domain.errors import PermanentError

OPTIONAL = ("imap_tls", "smtp_tls", "display_name", "sent_folder", "tls_ca_file", "allow_plain", "quote",
            "deadline")


def settings_of(values: Mapping[str, Any]) -> dict[str, Any]:
    """The account row's settings: connection details only, never a password."""
    address = str(values.get("address") or "").strip()
    settings: dict[str, Any] = {
        "address": address, "imap_host": values.get("imap_host") or "",
        "imap_port": values.get("imap_port") or 993, "smtp_host": values.get("smtp_host") or "",
        "smtp_port": values.get("smtp_port") or 587, "username": values.get("username") or address,
        "folders": list(values.get("folders") or ["INBOX"]),
        "append_sent": bool(values.get("append_sent", True)),
    }
    settings.update({key: values[key] for key in OPTIONAL if values.get(key)})
    return settings


class EmailSetup:
    """No OAuth here: a password (or app password) typed, piped, or fetched by a command."""

    secret = SecretSpec("password", "Password", "kept in the OS keyring")
    name_required = True

    def validate(self, values: Mapping[str, Any]) -> None:
        from connectors.email.settings import EmailSettings

        try:
            EmailSettings.from_mapping(settings_of(values)).validate()
        except (PermanentError, ValueError) as exc:
            raise OptionError(str(exc)) from exc

    async def obtain_secret(self, values: Mapping[str, Any], io: SetupIO) -> str | None:
        if not io.interactive:
            return None
        return io.ask(f"Password for {values.get('username') or values.get('address')}: ", secret=True)

    async def complete(self, name: str, values: Mapping[str, Any], secret: str, clock: Clock) -> AccountDraft:
        settings = settings_of(values)
        return AccountDraft(name=name, handle=settings["address"].lower(),
                            display_name=str(values.get("display_name") or ""), settings=settings,
                            description=settings["address"])

    async def check(self, name: str, values: Mapping[str, Any], secret: str, clock: Clock) -> str:
        from connectors.email.connector import EmailConnector
        from connectors.email.settings import EmailSettings

        self.validate(values)
        connector = EmailConnector(EmailSettings.from_mapping(settings_of(values)), clock, lambda: secret,
                                   account_name=name)
        try:
            return await connector.check()
        finally:
            await connector.close()
