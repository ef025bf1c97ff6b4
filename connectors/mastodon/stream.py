"""Mastodon's server-sent event stream of user notifications, used only to wake polling early."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import urlsplit

import httpx

from agentconsole.domain.errors import AuthError

log = logging.getLogger(__name__)

STREAM_PATH = "/api/v1/streaming/user/notification"
# Mastodon sends a ":thump" heartbeat about every 15 s; silence for this long means a dead link.
READ_TIMEOUT = 90.0
MAX_BACKOFF = 300.0
# An event is a small JSON notification; a server sending an endless line is dropped, not buffered.
MAX_LINE = 256 * 1024


class StreamTooLong(httpx.HTTPError):
    """A line of the event stream grew past MAX_LINE: the connection is dropped and made again."""


async def _lines(response: httpx.Response) -> AsyncIterator[str]:
    """The stream's lines (without their ends), refusing any longer than MAX_LINE."""
    pending = b""
    async for chunk in response.aiter_bytes():
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for line in complete:
            yield line.rstrip(b"\r").decode("utf-8", "replace")
        if len(pending) > MAX_LINE:
            raise StreamTooLong(f"an event-stream line is longer than {MAX_LINE} bytes")
    if pending:
        yield pending.rstrip(b"\r").decode("utf-8", "replace")


def streaming_base(instance: str, configured: str | None) -> str:
    """The SSE base URL: the instance's advertised streaming host (wss:// -> https://) or itself."""
    if not configured:
        return instance
    parts = urlsplit(configured)
    scheme = {"wss": "https", "ws": "http"}.get(parts.scheme, parts.scheme)
    if scheme not in ("http", "https") or not parts.netloc:
        return instance
    return f"{scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def _wakes(event: str, data: str) -> bool:
    """Whether an event can mean a new customer message: a mention or a direct conversation."""
    if event == "conversation":
        return True
    if event != "notification":
        return False
    try:
        payload = json.loads(data)
    except ValueError:
        return True  # unreadable, but something happened: a poll costs little
    return not isinstance(payload, dict) or payload.get("type") == "mention"


async def _listen(client: httpx.AsyncClient, url: str, wake: Callable[[], None]) -> int:
    """Read one connection until it ends; returns how many events woke the poller."""
    woke = 0
    timeout = httpx.Timeout(20.0, read=READ_TIMEOUT)
    async with client.stream("GET", url, headers={"Accept": "text/event-stream"}, timeout=timeout) as response:
        if response.status_code == 401:
            raise AuthError("re-authorise: the streaming API refused the access token")
        if response.status_code >= 400:
            raise httpx.HTTPStatusError(f"streaming answered {response.status_code}",
                                        request=response.request, response=response)
        data: list[str]
        event, data = "", []
        size = 0
        async for line in _lines(response):
            if line.startswith(":"):
                continue  # heartbeat
            if not line:
                if event and _wakes(event, "\n".join(data)):
                    woke += 1
                    wake()
                event, data, size = "", [], 0
            elif line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip())
                size += len(line)
                if size > MAX_LINE:
                    raise StreamTooLong(f"an event is longer than {MAX_LINE} bytes")
    return woke


async def watch(client: httpx.AsyncClient, base: str, wake: Callable[[], None], *,
                sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                rng: random.Random | None = None, max_backoff: float = MAX_BACKOFF) -> None:
    """Call *wake* whenever a mention or DM arrives, reconnecting with jittered backoff, until
    cancelled; an AuthError ends the watch (polling then reports the same failure)."""
    rng = rng or random.Random()
    failures = 0
    url = base + STREAM_PATH
    while True:
        try:
            woke = await _listen(client, url, wake)
            failures = 0 if woke else failures + 1
        except AuthError:
            raise
        except (httpx.HTTPError, OSError) as exc:
            failures += 1
            log.info("Mastodon stream dropped (%s); reconnecting", type(exc).__name__)
        delay = min(max_backoff, 2.0 ** min(failures, 16)) * (0.5 + rng.random() / 2)
        await sleep(delay)
