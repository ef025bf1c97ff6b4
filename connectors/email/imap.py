"""A blocking IMAP session (imapclient) that maps every failure to a typed connector error."""

from __future__ import annotations

import logging
import socket
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from imapclient import IMAPClient  # type: ignore[import-untyped]  # imapclient ships no type hints
from imapclient.imapclient import SENT  # type: ignore[import-untyped]  # imapclient ships no type hints
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError  # type: ignore[import-untyped]  # imapclient ships no type hints

from agentconsole.domain.errors import AuthError, ConnectorError, PermanentError, TemporaryError

from connectors.email.settings import EmailSettings

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Fetched:
    uid: int
    raw: bytes
    internal_date: float | None
    note: str = ""


@dataclass(frozen=True, slots=True)
class FolderState:
    uidvalidity: int
    uidnext: int
    exists: int


class FolderMissing(PermanentError):
    """The folder does not exist on the server (e.g. no Sent folder)."""


@contextmanager
def imap_errors(settings: EmailSettings, step: str) -> Iterator[None]:
    """Translate network, TLS and protocol failures during *step* into typed errors."""
    where = settings.describe("IMAP")
    try:
        yield
    except ConnectorError:
        raise
    except LoginError as exc:
        raise AuthError(f"{where}: login as {settings.username!r} was refused "
                        f"(wrong user name or password?): {_said(exc)}") from exc
    except ssl.SSLCertVerificationError as exc:
        raise PermanentError(f"{where}: the server's TLS certificate is not trusted: "
                             f"{exc.verify_message}") from exc
    except (IMAPClientAbortError, socket.timeout, TimeoutError, ConnectionError, ssl.SSLError,
            EOFError) as exc:
        raise TemporaryError(f"{where}: connection lost during {step}: {_said(exc)}") from exc
    except OSError as exc:
        raise TemporaryError(f"{where}: cannot connect ({step}): {_said(exc)}") from exc
    except IMAPClientError as exc:
        raise TemporaryError(f"{where}: {step} failed: {_said(exc)}") from exc


def _said(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())[:300]


class ImapSession:
    """One logged-in IMAP connection. Blocking: the connector calls it from a worker thread."""

    def __init__(self, settings: EmailSettings, password: str) -> None:
        self.settings = settings
        with imap_errors(settings, "connect"):
            self.client = IMAPClient(settings.imap_host, port=settings.imap_port,
                                     ssl=settings.imap_tls == "implicit",
                                     ssl_context=settings.ssl_context(), timeout=settings.timeout)
        try:
            self.client.normalise_times = False
            if settings.imap_tls == "starttls":
                with imap_errors(settings, "STARTTLS"):
                    if not self.client.has_capability("STARTTLS"):
                        raise PermanentError(f"{settings.describe('IMAP')}: the server does not offer "
                                             "STARTTLS; use implicit TLS (port 993)")
                    self.client.starttls(settings.ssl_context())
            with imap_errors(settings, "login"):
                self.client.login(settings.username, password)
        except BaseException:
            self.abandon()
            raise

    def abandon(self) -> None:
        """Drop the connection without the polite LOGOUT (it may already be dead)."""
        try:
            self.client.shutdown()
        except Exception:  # already closed
            pass

    def logout(self) -> None:
        try:
            self.client.logout()
        except Exception:
            self.abandon()

    def run(self, step: str, call: Callable[[], T]) -> T:
        with imap_errors(self.settings, step):
            return call()

    def select(self, folder: str) -> FolderState:
        try:
            info = self.client.select_folder(folder, readonly=True)
        except IMAPClientAbortError:
            raise
        except IMAPClientError as exc:
            raise FolderMissing(f"{self.settings.describe('IMAP')}: cannot open folder {folder!r}: "
                                f"{_said(exc)}") from exc
        return FolderState(int(info.get(b"UIDVALIDITY", 0)), int(info.get(b"UIDNEXT", 0)),
                           int(info.get(b"EXISTS", 0)))

    def uids_from(self, first_uid: int) -> list[int]:
        """UIDs >= first_uid in the selected folder, ascending."""
        # "N:*" always matches the highest UID even when it is below N, hence the filter.
        found = self.client.search(["UID", f"{max(first_uid, 1)}:*"])
        return sorted(uid for uid in found if uid >= first_uid)

    def fetch(self, uids: list[int], limit: int) -> list[Fetched]:
        """The messages *uids*, whole; one larger than *limit* only by its headers (and says so)."""
        if not uids:
            return []
        sizes = self.client.fetch(uids, ["RFC822.SIZE"])
        big = {uid for uid, data in sizes.items() if int(data.get(b"RFC822.SIZE", 0)) > limit}
        answer = {}
        small = [uid for uid in uids if uid in sizes and uid not in big]
        if small:
            answer.update(self.client.fetch(small, ["BODY.PEEK[]", "INTERNALDATE"]))
        if big:
            answer.update(self.client.fetch(sorted(big), ["BODY.PEEK[HEADER]", "INTERNALDATE", "RFC822.SIZE"]))
        fetched = []
        for uid in uids:
            data = answer.get(uid)
            if data is None:  # expunged between SEARCH and FETCH
                continue
            note = ""
            raw = data.get(b"BODY[]")
            if raw is None:
                raw = data.get(b"BODY[HEADER]") or b""
                size = int(data.get(b"RFC822.SIZE", 0))
                note = f"too large to fetch ({size / 1048576:.0f} MB): only its headers were read"
            when = data.get(b"INTERNALDATE")
            fetched.append(Fetched(uid, bytes(raw), when.timestamp() if isinstance(when, datetime) else None,
                                   note))
        return fetched

    def find_sent_folder(self) -> str:
        """The folder flagged \\Sent, else one with a usual name, else "Sent"."""
        return self.client.find_special_folder(SENT) or "Sent"

    def message_by_id(self, folders: tuple[str, ...], message_id: str, limit: int) -> bytes | None:
        """The raw bytes of the message *message_id* in the first of *folders* that has it."""
        for folder in folders:
            try:
                uids = self.find_header(folder, "Message-ID", message_id)
            except FolderMissing:
                continue
            if uids:
                fetched = self.fetch(sorted(uids)[:1], limit)
                if fetched:
                    return fetched[0].raw
        return None

    def find_header(self, folder: str, header: str, value: str) -> list[int]:
        self.select(folder)
        found: list[int] = self.client.search(["HEADER", header, value])
        return found

    def append(self, folder: str, raw: bytes, when: datetime | None = None) -> None:
        self.client.append(folder, raw, flags=(b"\\Seen",), msg_time=when)

    def has_idle(self) -> bool:
        return bool(self.client.has_capability("IDLE"))

    def idle_wait(self, folder: str, timeout: float) -> bool:
        """Wait up to *timeout* seconds in IDLE for new mail in *folder*; True when some arrived."""
        self.select(folder)
        self.client.idle()
        try:
            responses = self.client.idle_check(timeout=timeout)
        finally:
            self.client.idle_done()
        return any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses)

