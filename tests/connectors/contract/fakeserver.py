"""Loopback servers of the contract suite's own: a small HTTP/1.1 server and a raw TCP one, both able to
trickle their answer a byte at a time like a hostile or broken platform."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes

    def param(self, name: str) -> str | None:
        return next((v for k, v in self.query if k == name), None)


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    trickle: float | None = None  # seconds between bytes of the body (headers go at once)
    drop: bool = False  # close the connection without answering
    delay: float = 0.0  # seconds of silence before the answer starts (a request that times out)

    @classmethod
    def json(cls, value, status: int = 200, **headers: str) -> Reply:
        return cls(status, json.dumps(value).encode(), {"Content-Type": "application/json", **headers})


Handler = Callable[[Request], Reply]


async def _trickle(writer: asyncio.StreamWriter, data: bytes, every: float) -> None:
    for i in range(len(data)):
        writer.write(data[i:i + 1])
        await writer.drain()
        await asyncio.sleep(every)


class HttpServer:
    """Answers every request on 127.0.0.1 with *handler*; keeps a log of what was asked."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[Request] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task] = set()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def start(self) -> HttpServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._tasks.add(task := asyncio.current_task())
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                method, target, _ = line.decode("latin-1").split(" ", 2)
                headers: dict[str, str] = {}
                while (header := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = header.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
                parts = urlsplit(target)
                request = Request(method, parts.path, parse_qsl(parts.query), headers, body)
                self.requests.append(request)
                reply = self.handler(request)
                if reply.delay:
                    await asyncio.sleep(reply.delay)
                if reply.drop:
                    return
                head = [f"HTTP/1.1 {reply.status} X", f"Content-Length: {len(reply.body)}"]
                head += [f"{k}: {v}" for k, v in reply.headers.items()]
                writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
                if reply.trickle:
                    await _trickle(writer, reply.body, reply.trickle)
                else:
                    writer.write(reply.body)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            return
        finally:
            self._tasks.discard(task)
            writer.close()


class LineServer:
    """A raw TCP server that sends *greeting* (trickled when *trickle* is set), then answers each line
    it reads with *answer(line)* (None: say nothing more); for scripting a broken IMAP server."""

    def __init__(self, greeting: bytes, answer: Callable[[bytes], bytes | None] = lambda line: None,
                 trickle: float | None = None) -> None:
        self.greeting = greeting
        self.answer = answer
        self.trickle = trickle
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task] = set()

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.sockets[0].getsockname()[1]

    async def start(self) -> LineServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._tasks.add(task := asyncio.current_task())
        try:
            if not self.greeting:
                return
            if self.trickle:
                await _trickle(writer, self.greeting, self.trickle)
            else:
                writer.write(self.greeting)
                await writer.drain()
            while line := await reader.readline():
                said = self.answer(line)
                if said is None:
                    break
                writer.write(said)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            self._tasks.discard(task)
            writer.close()
