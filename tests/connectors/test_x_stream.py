"""The X Activity API stream: subscriptions made with the user token, keep-alive newlines, a dropped or
silent stream reconnected with backfill_minutes, and the DM it brings stored once beside the poll."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import parse_qsl, urlsplit

import pytest

from agentconsole.domain.errors import PermanentError
from connectors.x import stream
from connectors.x.auth import Tokens
from tests.connectors.contract.harness_x import XHarness
from tests.connectors.x_fake import BRAND, DATA

EVENT = (DATA / "dm_received.json").read_bytes().replace(b"\n", b"")  # one event per line, as streamed


class StreamServer:
    """X's stream endpoint and subscriptions; each connection plays the next script of (action, value)."""

    def __init__(self, scripts: list[list[tuple[str, object]]]) -> None:
        self.scripts = scripts
        self.requests: list[tuple[str, str, dict, dict, bytes]] = []
        self.subscriptions: list[dict] = []
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self.serve, "127.0.0.1", 0)

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()

    async def serve(self, reader, writer) -> None:
        try:
            method, target, _ = (await reader.readline()).decode().split(" ", 2)
            headers = {}
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            parts = urlsplit(target)
            self.requests.append((method, parts.path, dict(parse_qsl(parts.query)), headers, body))
            if parts.path == "/2/activity/subscriptions":
                if method == "POST":
                    self.subscriptions.append(json.loads(body))
                answer = json.dumps({"data": self.subscriptions if method == "GET" else {"subscription_id": "1"}})
                writer.write(f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(answer)}"
                             f"\r\n\r\n{answer}".encode())
                await writer.drain()
                return
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
            for action, value in self.scripts.pop(0) if self.scripts else [("hang", 3600)]:
                if action == "send":
                    assert isinstance(value, bytes)
                    writer.write(f"{len(value):x}\r\n".encode() + value + b"\r\n")
                    await writer.drain()
                elif action == "hang":
                    await asyncio.sleep(float(value))  # type: ignore[arg-type]
                elif action == "close":
                    writer.write(b"0\r\n\r\n")
                    await writer.drain()
                    return
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            writer.close()

    def streams(self) -> list[dict]:
        return [q for m, p, q, _, _ in self.requests if p == "/2/activity/stream"]


@pytest.fixture
async def harness(tmp_path, monkeypatch):
    made = XHarness(tmp_path, monkeypatch)
    await made.start()
    made.tokens(Tokens("access-1", "", None, "client-1", "app-bearer-1"))
    yield made
    await made.stop()


async def run_watch(harness, server: StreamServer, until, keepalive: float = 5.0):
    row = harness.account()
    row.settings["api"] = server.url
    connector = harness.plugin.build(row, harness.clock)
    woken = []
    naps: list[float] = []

    async def nap(seconds: float) -> None:
        naps.append(seconds)
        await asyncio.sleep(0)

    task = asyncio.create_task(stream.watch(connector, connector._client, lambda: woken.append(1),
                                            keepalive=keepalive, sleep=nap))
    try:
        for _ in range(500):
            await asyncio.sleep(0.01)
            if until(server, woken):
                break
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    return connector, woken, naps


async def test_keep_alives_an_event_a_drop_and_a_reconnect_with_backfill(harness) -> None:
    server = StreamServer([
        [("send", b"\r\n"), ("send", b"\r\n"), ("send", EVENT[:40]), ("send", EVENT[40:] + b"\r\n"), ("close", 0)],
        [("send", b"\r\n"), ("send", EVENT + b"\r\n"), ("hang", 3600)],  # the backfill brings it again
    ])
    await server.start()
    try:
        connector, woken, naps = await run_watch(harness, server, lambda s, w: len(w) >= 2)
    finally:
        await server.stop()
    try:
        streams = server.streams()
        assert len(streams) == 2 and streams[0] == {} and streams[1] == {"backfill_minutes": "5"}
        auth = [h["authorization"] for m, p, _, h, _ in server.requests if p == "/2/activity/stream"]
        assert auth == ["Bearer app-bearer-1"] * 2  # the stream takes the app's token ...
        subscribed = {(s["event_type"], s["filter"]["user_id"]) for s in server.subscriptions}
        assert subscribed == {("dm.received", BRAND["id"]), ("dm.sent", BRAND["id"])}
        posts = [h["authorization"] for m, p, _, h, _ in server.requests if m == "POST"]
        assert posts == ["Bearer access-1"] * 2  # ... the subscriptions the user's
        assert len(woken) == 2 and naps == [1.0]
        assert list(connector.pushed) == ["1996000000000000302"]  # one DM, however often it came
        harness.x.dms = []
        connector.api.base = harness.x.url
        result = await connector.fetch(None)
        assert [m.external_id for m in result.messages] == ["1996000000000000302"]
        connector.activity(EVENT)  # a later replay of the same DM
        harness.clock.advance(61)
        assert (await connector.fetch(result.cursor)).messages == []
    finally:
        await connector.close()


async def test_a_silent_stream_is_dropped_and_reconnected(harness) -> None:
    server = StreamServer([[("send", b"\r\n"), ("hang", 3600)], [("send", EVENT + b"\r\n"), ("hang", 3600)]])
    await server.start()
    try:
        connector, woken, naps = await run_watch(harness, server, lambda s, w: bool(w), keepalive=0.3)
    finally:
        await server.stop()
    await connector.close()
    assert len(server.streams()) == 2 and server.streams()[1] == {"backfill_minutes": "5"} and woken
    assert connector._stream_gap  # the next fetch polls DMs at once


async def test_without_the_app_bearer_dms_are_polled(harness) -> None:
    harness.tokens(Tokens("access-1", "", None, "client-1"))
    connector = harness.build()
    try:
        with pytest.raises(PermanentError, match="Bearer token"):
            await connector.watch(lambda: None)
    finally:
        await connector.close()
