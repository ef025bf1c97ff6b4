"""The X Activity API's persistent stream for DMs: subscribe with the user token, read with the app's
Bearer token, keep-alive newlines, and reconnects that ask for the minutes missed (backfill)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import httpx

from agentconsole.domain.errors import AuthError, PermanentError, RateLimited, TemporaryError
from connectors.x import payload as xp
from connectors.x.api import USER_AGENT

if TYPE_CHECKING:
    from connectors.x.connector import XConnector

log = logging.getLogger(__name__)

STREAM_PATH = "/2/activity/stream"
SUBSCRIPTIONS = "/2/activity/subscriptions"
EVENTS = ("dm.received", "dm.sent")
TAG = "agentconsole"
KEEPALIVE_TIMEOUT = 60.0  # X sends a newline every ~20 s; three missed in a row is a dead connection
BACKFILL_MINUTES = 5  # the most X replays on a reconnect
MAX_LINE = 1_048_576  # one event; a longer line is not an event of ours
MAX_WAIT = 60.0


async def subscribe(connector: XConnector) -> None:
    """Make sure the DM subscriptions for our user exist (created with the user token, as X requires)."""
    answer = await connector.api.get(SUBSCRIPTIONS, route=SUBSCRIPTIONS)
    data = xp.page(answer.body, "the activity subscriptions").get("data")
    have = {(s.get("event_type"), str((s.get("filter") or {}).get("user_id")))
            for s in data if isinstance(s, dict)} if isinstance(data, list) else set()
    for event in EVENTS:
        if (event, connector.own_id) in have:
            continue
        try:
            await connector.api.call("POST", SUBSCRIPTIONS, route=SUBSCRIPTIONS, send=True,
                                     json={"event_type": event, "filter": {"user_id": connector.own_id}, "tag": TAG})
        except PermanentError as exc:
            if "409" not in str(exc) and "duplicate" not in str(exc).lower():
                raise


async def read_stream(connector: XConnector, client: httpx.AsyncClient, bearer: str, wake: Callable[[], None],
                      backfill: int, keepalive: float = KEEPALIVE_TIMEOUT, connected: Callable[[], None] | None = None) -> None:
    """One connection: every event line goes to connector.activity(), and *wake* is called when it held
    a message. Returns when X closes the stream; raises TemporaryError when it goes silent."""
    params = {"backfill_minutes": str(backfill)} if backfill else None
    headers = {"Authorization": f"Bearer {bearer}", "User-Agent": USER_AGENT}
    timeout = httpx.Timeout(connect=10.0, read=None, write=10.0, pool=10.0)
    async with client.stream("GET", connector.api.base + STREAM_PATH, params=params, headers=headers,
                             timeout=timeout) as response:
        if response.status_code == 429:
            raise RateLimited("X refused another stream connection", retry_after=connector.api.limits.wait(
                STREAM_PATH, response.headers))
        if response.status_code in (401, 403):
            raise AuthError(f"X refused the app's Bearer token on the activity stream ({response.status_code})")
        if response.status_code != 200:
            raise TemporaryError(f"X answered {response.status_code} on the activity stream")
        if connected is not None:
            connected()
        buffer = b""
        chunks = response.aiter_bytes()
        while True:
            try:
                chunk = await asyncio.wait_for(chunks.__anext__(), keepalive)
            except StopAsyncIteration:
                return
            except TimeoutError:
                raise TemporaryError(f"the X activity stream was silent for {keepalive:.0f} s") from None
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                if line.strip():  # blank lines are the keep-alives
                    _event(connector, line, wake)
            if len(buffer) > MAX_LINE:
                raise TemporaryError("the X activity stream sent a line longer than any event")


def _event(connector: XConnector, line: bytes, wake: Callable[[], None]) -> None:
    try:
        found = connector.activity(line)
    except TemporaryError as exc:  # one unreadable event never ends the stream
        log.warning("skipping an unreadable X activity event: %s", exc)
        return
    if found:
        wake()


async def watch(connector: XConnector, client: httpx.AsyncClient, wake: Callable[[], None], *,
                keepalive: float = KEEPALIVE_TIMEOUT,
                sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
    """Subscribe, then stay connected until cancelled: each reconnect asks for the minutes missed."""
    bearer = connector.tokens.tokens.app_bearer
    if not bearer:
        raise PermanentError("real-time X DMs need the app's Bearer token (add the account again and give "
                             "it); DMs are polled meanwhile")
    await subscribe(connector)
    failures, backfill = 0, 0

    def connected() -> None:
        nonlocal failures
        failures = 0
        connector.streaming = True

    while True:
        wait = min(MAX_WAIT, 2.0 ** failures)
        try:
            await read_stream(connector, client, bearer, wake, backfill, keepalive, connected)
        except RateLimited as exc:
            wait = exc.retry_after
        except (TemporaryError, httpx.TransportError) as exc:
            log.info("X activity stream dropped (%s); reconnecting in %.0f s", exc, wait)
        failures += 1
        backfill = BACKFILL_MINUTES
        connector.stream_dropped()
        await sleep(wait)
