"""Helpers and fixtures for the local Dovecot + Postfix test servers started by .ci/services/mail.sh."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from datetime import datetime, timezone
from pathlib import Path

import pytest
from imapclient import IMAPClient

from connectors.email.settings import EmailSettings

MAIL_DIR = Path(os.environ.get("AGENTCONSOLE_MAIL_DIR", "/var/tmp/agentconsole-mail"))
CA_FILE = MAIL_DIR / "tls" / "cert.pem"
HOST = "127.0.0.1"
IMAP_PORT, IMAPS_PORT, SUBMISSION_PORT = 1143, 1993, 2587
SUPPORT = ("support@example.test", "support-secret")
CUSTOMER = ("customer@example.test", "customer-secret")


def _listening(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def mail_servers() -> None:
    """Skip when the servers are absent, unless CI asked for them (then their absence fails)."""
    missing = [p for p in (IMAP_PORT, IMAPS_PORT, SUBMISSION_PORT) if not _listening(p)]
    if missing or not CA_FILE.exists():
        reason = (f"mail test servers are not running (nothing on ports {missing} or no {CA_FILE}); "
                  "start them with: sudo .ci/services/mail.sh")
        if os.environ.get("AGENTCONSOLE_TEST_SERVERS"):
            pytest.fail(reason)
        pytest.skip(reason)


def mail_settings(user: tuple[str, str] = SUPPORT, **changes) -> EmailSettings:
    values = dict(address=user[0], imap_host=HOST, smtp_host=HOST, username=user[0],
                  imap_port=IMAP_PORT, imap_tls="starttls", smtp_port=SUBMISSION_PORT,
                  smtp_tls="starttls", tls_ca_file=str(CA_FILE), timeout=10.0)
    values.update(changes)
    return EmailSettings(**values)


def admin(user: tuple[str, str] = SUPPORT) -> IMAPClient:
    """A direct IMAP session for arranging mailboxes (not the code under test)."""
    client = IMAPClient(HOST, port=IMAP_PORT, ssl=False, timeout=10)
    client.starttls(mail_settings(user).ssl_context())
    client.login(*user)
    return client


def customer_mail(subject: str, body: str = "Hello, where is my order?", *, sender: str = CUSTOMER[0],
                  to: str = SUPPORT[0], **headers: str) -> tuple[bytes, str]:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now(timezone.utc))
    msg["Message-ID"] = make_msgid(domain="example.test")
    for name, value in headers.items():
        del msg[name.replace("_", "-")]  # a given header replaces the default one (e.g. Message-ID)
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg.as_bytes(), msg["Message-ID"]


@dataclass
class Folder:
    """A folder of its own in the support mailbox, so tests never see each other's mail."""

    name: str
    client: IMAPClient

    def add(self, subject: str, body: str = "Hello, where is my order?", **headers: str) -> str:
        raw, message_id = customer_mail(subject, body, **headers)
        self.client.append(self.name, raw)
        return message_id

    def recreate(self) -> None:
        """Delete and create the folder again: the server gives it a new UIDVALIDITY."""
        self.client.delete_folder(self.name)
        self.client.create_folder(self.name)


@pytest.fixture
def folder(mail_servers: None) -> Iterator[Folder]:
    client = admin()
    name = f"test-{uuid.uuid4().hex[:12]}"
    client.create_folder(name)
    try:
        yield Folder(name, client)
    finally:
        try:
            client.delete_folder(name)
        finally:
            client.logout()
