"""Mastodon over the shared HTTP layer: rate-limit bookkeeping, typed errors, Link headers, JSON shapes."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from agentconsole.domain.clock import Clock
from agentconsole.domain.errors import AuthError, RateLimited
from agentconsole.domain.sanitize import one_line
from connectors import shape
from connectors.http import DEADLINE, MAX_BYTES, Answer, Http, MalformedResponse, raise_for_status, retry_after

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
            if headers.get("Retry-After"):
                return retry_after(headers, self.clock.now(), DEFAULT_RETRY)
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
    """One instance and token: every request goes through the limiter, the shared HTTP layer (total
    deadline, size cap) and the error mapping."""

    def __init__(self, instance: str, client: httpx.AsyncClient, clock: Clock, *, deadline: float = DEADLINE,
                 max_bytes: int = MAX_BYTES) -> None:
        self.instance = instance
        self.client = client
        self.clock = clock
        self.http = Http(client, "Mastodon", deadline=deadline, max_bytes=max_bytes)
        self.limiter = RateLimiter(clock)

    async def request(self, method: str, path: str, *, params: Any = None, json: Any = None,
                      headers: dict[str, str] | None = None, reserve: int = 0,
                      send: bool = False) -> Answer:
        """Perform one call; *reserve* keeps that many requests back (fetches leave room for replies)."""
        self.limiter.before(reserve)
        answer = await self.http.request(method, self.instance + path, path=path, params=params, json=json,
                                         headers=headers)
        self.limiter.update(answer.headers)
        status = answer.status
        if status == 401 or (status == 403 and not send):
            what = "refused the access token" if status == 401 else f"denied {path}"
            raise AuthError(f"re-authorise: {self.instance} {what} ({_message(answer)}); "
                            "run `agentconsole account add mastodon` again")
        if status == 429:
            raise RateLimited(f"Mastodon rate limit reached on {path}",
                              retry_after=self.limiter.wait_for(answer.headers))
        raise_for_status(answer, "Mastodon", self.clock.now(), forbidden_is_auth=False)
        return answer

    async def get_json(self, path: str, *, params: Any = None, reserve: int = 0,
                       expect: shape.Spec | None = None) -> Any:
        answer = await self.request("GET", path, params=params, reserve=reserve)
        return json_body(answer, path, expect)

    async def post_json(self, path: str, payload: dict[str, Any], *, idempotency_key: str | None = None) -> Any:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        answer = await self.request("POST", path, json=payload, headers=headers, send=True)
        return json_body(answer, path)


def _message(answer: Answer) -> str:
    from connectors.http import server_message

    return server_message(answer) or str(answer.status)


def json_body(answer: Answer, path: str, expect: shape.Spec | None = None) -> Any:
    """The answer's JSON, checked against *expect* before anyone reads it."""
    body = answer.json()
    if expect is not None:
        try:
            shape.check(body, expect)
        except shape.ShapeError as exc:
            raise MalformedResponse(f"Mastodon sent an unexpected answer on {path}: {exc}") from exc
    return body


# The parts of Mastodon's entities the connector reads; anything else in them is ignored.
ACCOUNT = shape.Obj({"id": shape.Id()}, {"acct": shape.Str(2000), "username": shape.Str(2000),
                                          "display_name": shape.Str(20_000), "note": shape.Str(200_000)})
# A status's text is bounded by the response cap alone: a longer one than the store shows is kept, cut
# with a note and its raw payload whole (agentconsole.domain.normalise), not dropped as unreadable.
STATUS = shape.Obj({"id": shape.Id(), "account": ACCOUNT},
                   {"content": shape.Str(MAX_BYTES), "created_at": shape.Str(100), "visibility": shape.Str(40),
                    "in_reply_to_id": shape.Id(), "url": shape.Str(4000), "spoiler_text": shape.Str(),
                    "mentions": shape.ListOf(shape.Obj({}, {"id": shape.Id(), "acct": shape.Str(2000)}))})
NOTIFICATION = shape.Obj({"id": shape.Id(), "type": shape.Str(100)}, {"status": STATUS, "account": ACCOUNT})
CONVERSATION = shape.Obj({"id": shape.Id(), "last_status": STATUS})
INSTANCE = shape.Obj({}, {"domain": shape.Str(300), "configuration": shape.Obj({}, {
    "statuses": shape.Obj({}, {"max_characters": shape.Anything()}),
    "urls": shape.Obj({}, {"streaming": shape.Str(2000)})})})
