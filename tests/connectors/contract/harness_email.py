"""Contract harness for the email plug-in: the real Dovecot of the test mail servers for mail and sign-in,
and a scripted loopback IMAP server for the answers a healthy Dovecot never gives."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

from agentconsole import secrets
from agentconsole.domain.models import Kind, OutboundRequest, Person
from agentconsole.domain.rows import AccountRow
from connectors.email.smtp import message_id_for
from tests.connectors.contract.conftest import GOOD, TAIL, Harness
from tests.connectors.contract.fakeserver import LineServer
from tests.connectors.faulty_smtp import FaultySmtp
from tests.connectors.mailservers import CA_FILE, CUSTOMER, HOST, IMAP_PORT, SUBMISSION_PORT, SUPPORT, admin

NOT_JSON_PAGES = ("IMAP answers are not pages of JSON items: a message too large is fetched as headers "
                  "only (max_message_bytes) and an unreadable one is kept raw and flagged (test_email_*)")
SCRIPTS = {
    "server_error": (b"* BYE [UNAVAILABLE] server shutting down for maintenance\r\n", None),
    "malformed": (b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/html\r\n\r\n<html>", None),
    "trickle": (b"* OK [CAPABILITY IMAP4rev1 STARTTLS] ready, slowly\r\n", 0.1),
    "dropped": (b"", None),  # accepts the connection, then closes it without a word
}

# What the fault-injecting relay in front of the real Postfix does for each send fault.
RELAY_MODES = {"refused": "tempfail", "timeout": "hold", "drop": "die", "lost": "drop", "slow": "trickle"}
SMTP_TIMEOUT = 1.5  # the SMTP client's timeout; the relay trickles its 250 over 19 x SMTP_TIMEOUT / 3 s
# Each poison as the raw mail a sender's software could put on the wire: (charset, extra headers, body).
POISON_MAIL = {
    "year_one": ("utf-8", "Date: Mon, 01 Jan 0001 00:00:00 +0000\n", b"poisoned item: " + TAIL.encode()),
    "overflow": ("utf-8", "Date: 1e999\n", b"poisoned item: " + TAIL.encode()),
    "nan": ("utf-8", "Date: NaN\n", b"poisoned item: " + TAIL.encode()),
    "surrogate": ("utf-8", "", b"poisoned item \xed\xa0\x80 " + TAIL.encode()),  # U+D800 in UTF-8 form
    "invalid_utf8": ("utf-8", "", b"poisoned item \xff\xfe\xc3 " + TAIL.encode()),
    "c1": ("iso-8859-1", "", b"poisoned item \x9b2J " + TAIL.encode()),
    "osc": ("utf-8", "", b"poisoned item \x1b]0;unterminated title and " + TAIL.encode()),
    "tags": ("utf-8", "", "poisoned item \U000e0069\U000e0067\U000e006e hidden ".encode() + TAIL.encode()),
    "huge": ("us-ascii", "", b"poisoned item " + b"spam " * 240_000 + TAIL.encode()),
}
DELIVERY_WAIT = 20.0  # Postfix hands mail to Dovecot over LMTP: allow it that long to arrive


class EmailHarness(Harness):
    name = "email"
    not_applicable = {"listen": "email has no public posts to search: every message is addressed to us",
                      "rate_limit": "IMAP has no rate-limit answer", "garbage": NOT_JSON_PAGES,
                      "huge": NOT_JSON_PAGES, "garbage_id": NOT_JSON_PAGES,
                      "send:window": "SMTP has no idempotency key: a doubt is looked up in Sent or put to the "
                                     "agent, never resent (the unknown-outcome cases cover it)"}

    def __init__(self, tmp_path, monkeypatch, folder) -> None:
        super().__init__(tmp_path, monkeypatch)
        self.folder = folder
        self.script: LineServer | None = None
        self.fault: str | None = None
        self.seeded = 0
        self.relay: FaultySmtp | None = None  # sends go through it to the real Postfix
        self.message_ids: list[str] = []
        self.files_sent = False  # the server files submitted mail in Sent itself (like Gmail)

    async def start(self) -> None:
        self.monkeypatch.setenv(secrets.env_var_name("support"), SUPPORT[1])

    async def stop(self) -> None:
        if self.script is not None:
            await self.script.stop()
        if self.relay is not None:
            await asyncio.to_thread(self._clean_up_sends)

    def _clean_up_sends(self) -> None:
        assert self.relay is not None
        self.relay.stop()
        customer = admin(CUSTOMER)
        try:
            customer.select_folder("INBOX")
            for message_id in self.message_ids:
                if uids := customer.search(["HEADER", "Message-ID", message_id]):
                    customer.delete_messages(uids)
            customer.expunge()
        finally:
            customer.logout()
        self.folder.client.delete_folder(self.sent_folder)

    def account(self) -> AccountRow:
        settings = {"address": SUPPORT[0], "imap_host": HOST, "imap_port": IMAP_PORT, "imap_tls": "starttls",
                    "smtp_host": HOST, "smtp_port": SUBMISSION_PORT, "smtp_tls": "starttls",
                    "username": SUPPORT[0], "tls_ca_file": str(CA_FILE), "folders": [self.folder.name],
                    "sync_sent": False, "timeout": 10, "deadline": self.deadline}
        if self.script is not None:
            settings.update(imap_port=self.script.port, imap_tls="plain", allow_plain=True)
        if self.relay is not None:
            settings.update(smtp_host=HOST, smtp_port=self.relay.port, smtp_tls="plain", allow_plain=True,
                            sent_folder=self.sent_folder, timeout=SMTP_TIMEOUT)
        if self.files_sent:
            settings.update(server_files_sent=True, append_sent=False)
        return AccountRow(1, "support", "email", "email", SUPPORT[0], "Support", settings, False)

    async def seed(self, count: int) -> int:
        for _ in range(count):
            self.seeded += 1
            self.folder.add(f"Order {self.seeded} never arrived")
        return count

    async def inject(self, fault: str) -> None:
        self.fault = fault
        if fault == "auth":
            self.monkeypatch.setenv(secrets.env_var_name("support"), "wrong-password")
            return
        greeting, trickle = SCRIPTS[fault]
        self.script = await LineServer(greeting, trickle=trickle).start()

    # ---------------------------------------------------------------- sends

    @property
    def sent_folder(self) -> str:
        return f"{self.folder.name}-sent"

    async def open_sends(self) -> None:
        self.relay = await asyncio.to_thread(FaultySmtp(trickle_seconds=SMTP_TIMEOUT / 3).start)
        await asyncio.to_thread(self.folder.client.create_folder, self.sent_folder)

    def send_request(self, text: str) -> OutboundRequest:
        request = OutboundRequest(uuid.uuid4().hex, "reply", text,
                                  recipient=Person(CUSTOMER[0], CUSTOMER[0], "Customer"),
                                  subject=f"contract {text[-8:]}", kind=Kind.EMAIL)
        self.message_ids.append(message_id_for(request, SUPPORT[0].partition("@")[2]))
        return request

    async def lookup_authoritative(self) -> None:
        assert self.relay is not None
        self.files_sent = True
        self.relay.files_in = self.sent_folder

    async def fault_send(self, fault: str) -> None:
        assert self.relay is not None
        self.relay.next_mode(RELAY_MODES[fault])

    async def delivered(self, request: OutboundRequest) -> list[str]:
        """The reply's copies in the customer's real mailbox, once Postfix delivered what it was given."""
        assert self.relay is not None
        message_id = message_id_for(request, SUPPORT[0].partition("@")[2])
        return await asyncio.to_thread(self._copies, message_id,
                                       self.relay.relayed.count(message_id.encode()))

    def _copies(self, message_id: str, relayed: int) -> list[str]:
        customer = admin(CUSTOMER)
        try:
            deadline = time.monotonic() + DELIVERY_WAIT
            while True:
                customer.select_folder("INBOX", readonly=True)
                found = len(customer.search(["HEADER", "Message-ID", message_id]))
                if found >= relayed or time.monotonic() > deadline:
                    return [message_id] * found
                time.sleep(0.2)
        finally:
            customer.logout()

    # ---------------------------------------------------------------- poison

    async def seed_poison(self, poison: str, good: int) -> int:
        # Good mail carries today's Date: the harness's clock is today, so only the poison is flagged.
        self.clock.set(time.time())
        charset, headers, body = POISON_MAIL[poison]
        raw = (f"From: Customer <{CUSTOMER[0]}>\nTo: {SUPPORT[0]}\nSubject: poisoned {poison}\n"
               f"Message-ID: <{uuid.uuid4().hex}@example.test>\n{headers}MIME-Version: 1.0\n"
               f"Content-Type: text/plain; charset={charset}\nContent-Transfer-Encoding: 8bit\n\n"
               ).encode().replace(b"\n", b"\r\n") + body + b"\r\n"
        for n in range(good + 1):
            if n == good // 2:
                await asyncio.to_thread(self.folder.client.append, self.folder.name, raw)
            else:
                await asyncio.to_thread(self.folder.add, f"order {n}", f"{GOOD} {n}: where is my order?")
        return good

    def position(self, cursor: str | None) -> object:
        state = json.loads(cursor) if cursor else {}
        return json.dumps(state.get("folders"), sort_keys=True)


def make_harness(tmp_path, monkeypatch, request) -> EmailHarness:
    return EmailHarness(tmp_path, monkeypatch, request.getfixturevalue("folder"))
