"""A PostgreSQL URL as agentconsole takes it: never with a password in it, shown without one."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


class PasswordInUrl(ValueError):
    """The URL carries a password, which would then sit in a config file or a shell history."""


def without_password(url: str) -> str:
    """*url* with any password taken out (for messages and the key of its secret)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{parts.username or ''}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def refuse_password(url: str) -> str:
    """*url*, unless it holds a password: that goes to the keyring (`agentconsole db set-password`)."""
    parts = urlsplit(url)
    if parts.password is not None or "password=" in parts.query:
        raise PasswordInUrl(
            f"the storage URL {without_password(url)} must not contain a password: store it with "
            "`agentconsole db set-password`, or set PGPASSWORD or ~/.pgpass on a host without a keyring")
    return url


def secret_key(url: str) -> str:
    """Where the keyring keeps this server's password: one per user, host, port and database."""
    return f"storage:{without_password(url)}"
