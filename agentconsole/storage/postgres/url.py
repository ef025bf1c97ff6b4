"""The storage URL helpers, where the PostgreSQL backend's callers look for them (they live in domain: the
config, which the screens import, checks URLs too and must not import storage)."""

from __future__ import annotations

from agentconsole.domain.database_url import PasswordInUrl, refuse_password, secret_key, without_password

__all__ = ["PasswordInUrl", "refuse_password", "secret_key", "without_password"]
