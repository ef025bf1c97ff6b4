"""The one HTTP layer every HTTP channel uses: a total deadline per request, a cap on the answer's size,
and the platform's answers mapped to the typed connector errors."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from agentconsole.domain.errors import AuthError, PermanentError, RateLimited, TemporaryError
from agentconsole.domain.sanitize import one_line

log = logging.getLogger(__name__)

DEADLINE = 30.0  # seconds for a whole request: connect, send, headers and the full body
MAX_BYTES = 4 * 1024 * 1024  # no page of mentions or DMs is anywhere near this
DEFAULT_RETRY_AFTER = 60.0


class MalformedResponse(TemporaryError):
    """The server answered, but not with the JSON of the expected shape; nothing was stored."""


class ResponseTooLarge(MalformedResponse):
    """The answer was larger than the cap; it was refused unread, not parsed."""


class DeadlineExceeded(TemporaryError):
    """The request as a whole took longer than its deadline (a hung or trickling server)."""


@dataclass(frozen=True, slots=True)
class Answer:
    """A complete, size-checked HTTP answer."""

    status: int
    headers: httpx.Headers
    body: bytes
    path: str

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise MalformedResponse(f"{self.path}: the answer is not JSON") from exc

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def retry_after(headers: httpx.Headers, now: float, default: float = DEFAULT_RETRY_AFTER) -> float:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), at least one."""
    value = (headers.get("Retry-After") or "").strip()
    if not value:
        return default
    try:
        return max(1.0, float(value))
    except ValueError:
        pass
    try:
        at: datetime = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    return max(1.0, at.timestamp() - now)


def server_message(answer: Answer) -> str:
    """The server's own explanation, one line, for the error we raise."""
    try:
        body = json.loads(answer.body)
    except ValueError:
        return one_line(answer.text, 160)
    if isinstance(body, dict):
        return one_line(str(body.get("error_description") or body.get("error") or body), 160)
    return one_line(str(body), 160)


def raise_for_status(answer: Answer, platform: str, now: float, *, forbidden_is_auth: bool = True) -> None:
    """401/403 -> AuthError, 429 -> RateLimited (Retry-After), 5xx/408/425 -> TemporaryError, other
    4xx -> PermanentError. *forbidden_is_auth* False: a 403 is a refusal of this one request."""
    status = answer.status
    if status < 400:
        return
    message = server_message(answer)
    if status == 401 or (status == 403 and forbidden_is_auth):
        raise AuthError(f"{platform} refused the credentials on {answer.path} ({status}: {message})")
    if status == 429:
        raise RateLimited(f"{platform} rate limit reached on {answer.path}",
                          retry_after=retry_after(answer.headers, now))
    if status >= 500 or status in (408, 425):
        raise TemporaryError(f"{platform} {status} on {answer.path}: {message}")
    raise PermanentError(f"{platform} {status} on {answer.path}: {message}")


class Http:
    """Requests through one httpx client with a total deadline and a size cap on every answer.

    Errors keep the httpx exception as ``__cause__``: a send path can tell a connection that never
    opened (httpx.ConnectError: nothing left) from one that failed after the request was written."""

    def __init__(self, client: httpx.AsyncClient, platform: str, *, deadline: float = DEADLINE,
                 max_bytes: int = MAX_BYTES) -> None:
        self.client = client
        self.platform = platform
        self.deadline = deadline
        self.max_bytes = max_bytes

    async def request(self, method: str, url: str, *, path: str = "", deadline: float | None = None,
                      max_bytes: int | None = None, **kwargs: Any) -> Answer:
        """One request, read completely; raises DeadlineExceeded, ResponseTooLarge or TemporaryError."""
        path = path or httpx.URL(url).path
        limit = self.max_bytes if max_bytes is None else max_bytes
        seconds = self.deadline if deadline is None else deadline
        try:
            async with asyncio.timeout(seconds):
                return await self._read(method, url, path, limit, kwargs)
        except TimeoutError as exc:
            raise DeadlineExceeded(f"{self.platform} did not answer {path} within {seconds:g} s") from exc
        except httpx.TimeoutException as exc:
            raise TemporaryError(f"{self.platform} timed out on {path}") from exc
        except httpx.TransportError as exc:
            raise TemporaryError(f"{self.platform} unreachable ({type(exc).__name__}): {exc}") from exc

    async def _read(self, method: str, url: str, path: str, limit: int, kwargs: dict[str, Any]) -> Answer:
        async with self.client.stream(method, url, **kwargs) as response:
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > limit:
                raise ResponseTooLarge(f"{self.platform} sent {int(declared):,} bytes on {path}; "
                                       f"more than the {limit:,} accepted")
            chunks, size = [], 0
            async for chunk in response.aiter_bytes():  # decoded: a small gzip bomb is caught too
                size += len(chunk)
                if size > limit:
                    raise ResponseTooLarge(f"{self.platform} sent more than {limit:,} bytes on {path}")
                chunks.append(chunk)
            return Answer(response.status_code, response.headers, b"".join(chunks), path)
