"""Typed connector errors: the engine decides retries and backoff from the type alone."""

from __future__ import annotations


class ConnectorError(Exception):
    """Base class for everything a connector raises on purpose."""


class AuthError(ConnectorError):
    """Credentials are missing, wrong or revoked; retrying will not help until the user acts."""


class RateLimited(ConnectorError):
    """The platform asked us to slow down; try again after ``retry_after`` seconds."""

    def __init__(self, message: str = "rate limited", retry_after: float = 60.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TemporaryError(ConnectorError):
    """A network hiccup or a server error: back off and try again."""


class PermanentError(ConnectorError):
    """The request can never succeed as it is (refused DM, deleted post, bad input)."""
