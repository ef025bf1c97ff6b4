"""HTTP plumbing for the Mastodon connector: rate-limit bookkeeping, typed errors and Link headers."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from agentconsole.domain.clock import Clock
from agentconsole.domain.errors import AuthError, PermanentError, RateLimited, TemporaryError
from agentconsole.domain.sanitize import one_line

log = logging.getLogger(__name__)

DEFAULT_RETRY = 60.0


def normalise_instance(url: str) -> str:
    """The instance base URL with a scheme and without a trailing slash."""
    url = url.strip()
    if not url:
        raise ValueError("the Mastodon instance URL is empty")
    if "://" not in url:
        url = "https://" + url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) instance URL: {url!r}")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def parse_time(value: Any) -> float | None:
    """An ISO 8601 timestamp (Mastodon's datetime format) or epoch number as epoch seconds."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def link_params(header: str | None, rel: str, origin: str) -> dict[str, str] | None:
    """The query of the Link header's *rel* URL, or None; URLs off the instance's origin are ignored
    so a hostile header can never send our token elsewhere."""
    if not header:
        return None
    want = urlsplit(origin)
    for part in header.split(","):
        pieces = part.split(";")
        url = pieces[0].strip().strip("<>")
        rels = {p.strip().split("=", 1)[1].strip('"') for p in pieces[1:]
                if p.strip().startswith("rel=")}
        if rel not in rels:
            continue
        got = urlsplit(url)
        if (got.scheme, got.netloc) != (want.scheme, want.netloc):
            log.warning("ignoring a Link header that leaves the instance: %s", one_line(url, 120))
            return None
        return dict(parse_qsl(got.query))
    return None


def _server_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return one_line(response.text, 160) or response.reason_phrase
    if isinstance(body, dict):
        return one_line(str(body.get("error_description") or body.get("error") or body), 160)
    return one_line(str(body), 160)


class RateLimiter:
    """Remembers the X-RateLimit-* headers and refuses requests that would exceed the budget."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.remaining: int | None = None
        self.reset_at: float | None = None

    def update(self, headers: httpx.Headers) -> None:
        remaining = headers.get("X-RateLimit-Remaining")
        if remaining is None:
            return
        try:
            self.remaining = int(float(remaining))
        except ValueError:
            return
        self.reset_at = parse_time(headers.get("X-RateLimit-Reset"))

    def wait_for(self, headers: httpx.Headers | None = None) -> float:
        """Seconds until the budget resets: the reset header, else Retry-After, else a minute."""
        if headers is not None:
            reset = parse_time(headers.get("X-RateLimit-Reset"))
            if reset is not None:
                return max(1.0, reset - self.clock.now())
            retry = headers.get("Retry-After")
            if retry:
                try:
                    return max(1.0, float(retry))
                except ValueError:
                    at = parse_time(retry)
                    if at is not None:
                        return max(1.0, at - self.clock.now())
        if self.reset_at is not None:
            return max(1.0, self.reset_at - self.clock.now())
        return DEFAULT_RETRY

    def before(self, reserve: int) -> None:
        """Raise RateLimited when fewer than *reserve* + 1 requests remain until the reset."""
        if self.remaining is None or self.remaining > reserve:
            return
        if self.reset_at is not None and self.reset_at <= self.clock.now():
            self.remaining = None  # the window has rolled over
            return
        raise RateLimited(f"Mastodon rate limit nearly used up ({self.remaining} left)",
                          retry_after=self.wait_for())


class Api:
    """One instance and token: every request goes through the limiter and the error mapping."""

    def __init__(self, instance: str, client: httpx.AsyncClient, clock: Clock) -> None:
        self.instance = instance
        self.client = client
        self.limiter = RateLimiter(clock)

    async def request(self, method: str, path: str, *, params: Any = None, json: Any = None,
                      headers: dict[str, str] | None = None, reserve: int = 0,
                      send: bool = False) -> httpx.Response:
        """Perform one call; *reserve* keeps that many requests back (fetches leave room for replies)."""
        self.limiter.before(reserve)
        url = self.instance + path
        try:
            response = await self.client.request(method, url, params=params, json=json, headers=headers)
        except httpx.TimeoutException as exc:
            raise TemporaryError(f"Mastodon timed out on {path}") from exc
        except httpx.TransportError as exc:
            raise TemporaryError(f"Mastodon unreachable ({type(exc).__name__}): {exc}") from exc
        self.limiter.update(response.headers)
        status = response.status_code
        if status < 400:
            return response
        message = _server_message(response)
        if status == 401:
            raise AuthError(f"re-authorise: {self.instance} refused the access token ({message}); "
                            "run `agentconsole account add mastodon` again")
        if status == 429:
            raise RateLimited(f"Mastodon rate limit reached on {path}",
                              retry_after=self.limiter.wait_for(response.headers))
        if status >= 500 or status in (408, 425):
            raise TemporaryError(f"Mastodon {status} on {path}: {message}")
        if status == 403 and not send:
            raise AuthError(f"re-authorise: {self.instance} denied {path} ({message})")
        raise PermanentError(f"Mastodon {status} on {path}: {message}")

    async def get_json(self, path: str, *, params: Any = None, reserve: int = 0) -> Any:
        response = await self.request("GET", path, params=params, reserve=reserve)
        return json_body(response, path)

    async def post_json(self, path: str, payload: dict, *, idempotency_key: str | None = None) -> Any:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        response = await self.request("POST", path, json=payload, headers=headers, send=True)
        return json_body(response, path)


def json_body(response: httpx.Response, path: str) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise TemporaryError(f"Mastodon sent a non-JSON answer on {path}") from exc
