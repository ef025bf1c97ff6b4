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


class CreditsExhausted(PermanentError):
    """The account's prepaid platform credits are used up (X's pay-per-use): nothing works until the
    business tops them up; shown as its own state, not as an error of ours."""


# ---------------------------------------------------------------- how a send ended
#
# A send ends as accepted (the connector returns a SendResult), refused (PermanentError or AuthError),
# rate-limited (RateLimited), not sent (NotSent) or outcome unknown (OutcomeUnknown). From fetch, a
# TemporaryError means "try again later"; from send, only NotSent vouches that nothing left, so a bare
# TemporaryError (or any other exception) from send() is treated as OutcomeUnknown.


class NotSent(TemporaryError):
    """The request provably never reached the platform (refused connection, DNS, TLS, a refusal before
    the body was written); sending again cannot post twice."""


class OutcomeUnknown(TemporaryError):
    """The request left and no answer came back (a timeout or a dropped connection after the body was
    written, a 5xx on a non-idempotent endpoint): it may have been posted; never resend it blindly."""
