"""Contract harness for the email plug-in: the real Dovecot of the test mail servers for mail and sign-in,
and a scripted loopback IMAP server for the answers a healthy Dovecot never gives."""

from __future__ import annotations

import json

from agentconsole import secrets
from agentconsole.domain.rows import AccountRow
from tests.connectors.contract.conftest import Harness
from tests.connectors.contract.fakeserver import LineServer
from tests.connectors.mailservers import CA_FILE, HOST, IMAP_PORT, SUBMISSION_PORT, SUPPORT

NOT_JSON_PAGES = ("IMAP answers are not pages of JSON items: a message too large is fetched as headers "
                  "only (max_message_bytes) and an unreadable one is kept raw and flagged (test_email_*)")
SCRIPTS = {
    "server_error": (b"* BYE [UNAVAILABLE] server shutting down for maintenance\r\n", None),
    "malformed": (b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/html\r\n\r\n<html>", None),
    "trickle": (b"* OK [CAPABILITY IMAP4rev1 STARTTLS] ready, slowly\r\n", 0.1),
    "dropped": (b"", None),  # accepts the connection, then closes it without a word
}


class EmailHarness(Harness):
    name = "email"
    not_applicable = {"rate_limit": "IMAP has no rate-limit answer", "garbage": NOT_JSON_PAGES,
                      "huge": NOT_JSON_PAGES, "garbage_id": NOT_JSON_PAGES}

    def __init__(self, tmp_path, monkeypatch, folder) -> None:
        super().__init__(tmp_path, monkeypatch)
        self.folder = folder
        self.script: LineServer | None = None
        self.fault: str | None = None
        self.seeded = 0

    async def start(self) -> None:
        self.monkeypatch.setenv(secrets.env_var_name("support"), SUPPORT[1])

    async def stop(self) -> None:
        if self.script is not None:
            await self.script.stop()

    def account(self) -> AccountRow:
        settings = {"address": SUPPORT[0], "imap_host": HOST, "imap_port": IMAP_PORT, "imap_tls": "starttls",
                    "smtp_host": HOST, "smtp_port": SUBMISSION_PORT, "smtp_tls": "starttls",
                    "username": SUPPORT[0], "tls_ca_file": str(CA_FILE), "folders": [self.folder.name],
                    "sync_sent": False, "timeout": 10, "deadline": self.deadline}
        if self.script is not None:
            settings.update(imap_port=self.script.port, imap_tls="plain", allow_plain=True)
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

    def position(self, cursor: str | None) -> object:
        state = json.loads(cursor) if cursor else {}
        return json.dumps(state.get("folders"), sort_keys=True)


def make_harness(tmp_path, monkeypatch, request) -> EmailHarness:
    return EmailHarness(tmp_path, monkeypatch, request.getfixturevalue("folder"))
