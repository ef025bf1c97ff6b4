"""A small SMTP relay on loopback in front of the real Postfix that injects faults around the final dot."""

from __future__ import annotations

import asyncio
import collections
import re
import smtplib
import threading
from dataclasses import dataclass, field

from tests.connectors.mailservers import HOST, SUPPORT, admin

POSTFIX_RELAY_PORT = 2525  # Postfix's port without AUTH, delivering example.test over LMTP to Dovecot
_MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>]+>)", re.IGNORECASE | re.MULTILINE)

# What the relay does with one message:
#   ok        relay it to Postfix, then answer 250
#   tempfail  answer 451 to MAIL FROM (the client provably sent nothing)
#   drop      read it to the final dot, then close the connection without relaying it
#   late      relay it, then answer 250 only after `late_seconds` (past the client's timeout)
#   die       relay it, then close the connection without answering
#   hold      relay it, then answer nothing until the client goes away (the test kills the client)
#   trickle   relay it, then send the 250 one byte every `trickle_seconds` (each read is quick, the
#             whole answer is not)
MODES = ("ok", "tempfail", "drop", "late", "die", "hold", "trickle")


@dataclass
class FaultySmtp:
    late_seconds: float = 4.0
    trickle_seconds: float = 0.5
    modes: collections.deque = field(default_factory=collections.deque)  # one per message; then "ok"
    relayed: list[bytes] = field(default_factory=list)  # Message-IDs handed to Postfix
    holding: threading.Event = field(default_factory=threading.Event)
    port: int = 0
    # Like Gmail: file every message it accepts in this folder of the sender's mailbox ("" does not).
    files_in: str = ""

    def start(self) -> FaultySmtp:
        ready = threading.Event()

        def run() -> None:
            self.loop = asyncio.new_event_loop()
            server = self.loop.run_until_complete(asyncio.start_server(self._session, HOST, 0))
            self.port = server.sockets[0].getsockname()[1]
            self.server = server
            ready.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, name="faulty-smtp", daemon=True)
        self.thread.start()
        ready.wait(5)
        return self

    def stop(self) -> None:
        async def shutdown() -> None:
            self.server.close()
            sessions = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in sessions:  # e.g. a "late" answer still waiting
                task.cancel()
            await asyncio.gather(*sessions, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    def next_mode(self, *modes: str) -> None:
        assert all(m in MODES for m in modes)
        self.modes.extend(modes)

    def _relay(self, sender: str, recipients: list[str], data: bytes) -> None:
        with smtplib.SMTP(HOST, POSTFIX_RELAY_PORT, timeout=10) as smtp:
            smtp.sendmail(sender, recipients, data)
        found = _MESSAGE_ID.search(data)
        self.relayed.append(found.group(1) if found else b"")
        if self.files_in:
            box = admin(SUPPORT)
            try:
                box.append(self.files_in, data)
            finally:
                box.logout()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        def say(line: str) -> None:
            writer.write(line.encode() + b"\r\n")

        sender, recipients, mode = "", [], "ok"
        try:
            say("220 faulty relay ESMTP")
            while line := await reader.readline():
                command = line.decode("ascii", "replace").strip()
                verb = command[:4].upper()
                if verb == "EHLO":
                    say("250-faulty relay")
                    say("250-8BITMIME")
                    say("250-AUTH PLAIN LOGIN")
                    say("250 SIZE 52428800")
                elif verb == "HELO":
                    say("250 faulty relay")
                elif verb == "MAIL":
                    mode = self.modes.popleft() if self.modes else "ok"
                    if mode == "tempfail":
                        say("451 4.3.0 try again later")
                        continue
                    sender, recipients = _address(command), []
                    say("250 2.1.0 ok")
                elif verb == "RCPT":
                    recipients.append(_address(command))
                    say("250 2.1.5 ok")
                elif verb == "DATA":
                    say("354 end with <CRLF>.<CRLF>")
                    await writer.drain()
                    data = await _read_data(reader)
                    if mode == "drop":  # not relayed, so not filed either
                        return
                    await asyncio.to_thread(self._relay, sender, recipients, data)
                    if mode == "die":
                        return
                    if mode == "hold":
                        self.holding.set()
                        await reader.read()  # until the client's end goes away
                        return
                    if mode == "late":
                        await asyncio.sleep(self.late_seconds)
                    if mode == "trickle":
                        for byte in b"250 2.0.0 queued\r\n":
                            writer.write(bytes([byte]))
                            await writer.drain()
                            await asyncio.sleep(self.trickle_seconds)
                    else:
                        say("250 2.0.0 queued")
                elif verb == "AUTH":  # any credentials: Postfix behind us checks nothing on this port
                    if command.upper().startswith("AUTH LOGIN"):
                        for _ in range(2 - len(command.split()[2:])):
                            say("334 VXNlcm5hbWU6")
                            await writer.drain()
                            await reader.readline()
                    say("235 2.7.0 authenticated")
                elif verb in ("RSET", "NOOP"):
                    say("250 ok")
                elif verb == "QUIT":
                    say("221 bye")
                    await writer.drain()
                    return
                else:
                    say("502 5.5.2 not implemented")
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()


def _address(command: str) -> str:
    start, end = command.find("<"), command.find(">")
    return command[start + 1:end] if 0 <= start < end else command.split(":", 1)[-1].strip()


async def _read_data(reader: asyncio.StreamReader) -> bytes:
    lines = []
    while True:
        line = await reader.readline()
        if not line or line == b".\r\n":
            break
        lines.append(line[1:] if line.startswith(b"..") else line)
    return b"".join(lines)
