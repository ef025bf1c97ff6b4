"""The email connector: IMAP sync by UIDVALIDITY + UID, replies over SMTP, threads by References."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from agentconsole.channels import phases
from agentconsole.domain.clock import Clock, to_datetime
from agentconsole.domain.errors import AuthError, ConnectorError, TemporaryError
from agentconsole.domain.models import (Channel, Direction, FetchResult, InboundMessage, Kind,
                                 OutboundRequest, Person, SendResult)
from agentconsole.domain.rows import AccountRow
from agentconsole.secrets import SecretUnavailable, load_secret

from connectors.email import CAPABILITIES, smtp
from connectors.email.imap import Fetched, FolderMissing, ImapSession
from connectors.email.mime import ParsedMail, message_ids, normalise_subject, parse, raw_id
from connectors.email.settings import EmailSettings

log = logging.getLogger(__name__)
T = TypeVar("T")

THREAD_MEMORY = 500  # thread roots remembered in the cursor, so replies thread after a restart
FUTURE_SLACK = 86_400.0  # a Date header further ahead than this is not believed
IDLE_ROUND_SECONDS = 240.0  # re-issue IDLE well inside the 29 minutes servers allow (RFC 2177)


class ThreadIndex:
    """Message-ID -> thread root and (subject, correspondent) -> thread root, newest kept."""

    def __init__(self, roots: dict[str, str] | None = None, subjects: dict[str, str] | None = None):
        self.roots = dict(roots or {})
        self.subjects = dict(subjects or {})

    def thread_of(self, mail: ParsedMail, message_id: str, correspondent: str) -> str:
        chain = [*mail.references, *([mail.in_reply_to] if mail.in_reply_to else [])]
        subject_key = self._subject_key(mail.subject, correspondent)
        root = ""
        for candidate in chain:
            if candidate in self.roots:
                root = self.roots[candidate]
                break
        if not root and chain:
            root = chain[0]
        if not root and subject_key:
            root = self.subjects.get(subject_key, "")
        root = root or message_id
        self._remember(self.roots, message_id, root)
        for candidate in chain:
            self.roots.setdefault(candidate, root)
        if subject_key:
            self._remember(self.subjects, subject_key, root)
        return root

    @staticmethod
    def _subject_key(subject: str, correspondent: str) -> str:
        normal = normalise_subject(subject)
        return f"{normal}\x1f{correspondent}" if normal and correspondent else ""

    @staticmethod
    def _remember(table: dict[str, str], key: str, value: str) -> None:
        table.pop(key, None)
        table[key] = value  # re-inserted so it counts as newest

    def dump(self) -> dict[str, dict[str, str]]:
        return {"roots": dict(list(self.roots.items())[-THREAD_MEMORY:]),
                "subjects": dict(list(self.subjects.items())[-THREAD_MEMORY:])}


class EmailConnector:
    """An IMAP + SMTP mailbox as a Connector. The cursor is JSON: per folder its UIDVALIDITY and the
    next UID to read, plus the recent thread roots."""

    channel = Channel.EMAIL
    capabilities = CAPABILITIES
    poll_interval = 60.0

    def __init__(self, settings: EmailSettings, clock: Clock, password: Callable[[], str],
                 account_name: str = "email") -> None:
        self.settings = settings
        self.clock = clock
        self._password = password
        self.account_name = account_name
        self._session: ImapSession | None = None
        self._sent: str | None = None  # the Sent folder's name, once found
        self._lock = asyncio.Lock()
        # "Not in Sent" proves a send never arrived only where the server files sent mail itself.
        self.capabilities = dataclasses.replace(CAPABILITIES, find_sent_authoritative=settings.server_files_sent)

    # ---------------------------------------------------------------- plumbing

    def password(self) -> str:
        try:
            return self._password()
        except SecretUnavailable as exc:
            raise AuthError(str(exc)) from exc

    async def _imap(self, step: str, call: Callable[[ImapSession], T]) -> T:
        """Run *call* on the (re)connected session in a worker thread; a broken session is dropped
        so that the next call reconnects."""
        async with self._lock:
            # A password_command may take a moment: it runs off the event loop too.
            password = await asyncio.to_thread(self.password) if self._session is None else ""
            try:
                # The socket timeout is per read: only a deadline on the whole step stops a server
                # that trickles a byte at a time. The thread is left to fail on its own dropped session.
                return await asyncio.wait_for(asyncio.to_thread(self._run_blocking, step, call, password),
                                              self.settings.deadline)
            except TimeoutError as exc:
                await self._drop_session()
                raise TemporaryError(f"{self.settings.describe('IMAP')}: {step} took longer than "
                                     f"{self.settings.deadline:g} s") from exc
            except (TemporaryError, AuthError):
                await self._drop_session()
                raise
            except ConnectorError:
                raise
            except Exception as exc:
                # Something the session did not expect (a malformed server response): start afresh.
                log.exception("IMAP %s failed unexpectedly", step)
                await self._drop_session()
                raise TemporaryError(f"{self.settings.describe('IMAP')}: {step} failed: "
                                     f"{type(exc).__name__}: {exc}") from exc

    async def _drop_session(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await asyncio.to_thread(session.abandon)

    def _sent_folder(self, session: ImapSession) -> str:
        if self.settings.sent_folder:
            return self.settings.sent_folder
        if self._sent is None:
            self._sent = session.find_sent_folder()
        return self._sent

    def _run_blocking(self, step: str, call: Callable[[ImapSession], T], password: str) -> T:
        if self._session is None:
            self._session = ImapSession(self.settings, password)
        session = self._session
        return session.run(step, lambda: call(session))

    async def close(self) -> None:
        async with self._lock:
            session, self._session = self._session, None
            if session is not None:
                await asyncio.to_thread(session.logout)

    # ---------------------------------------------------------------- receiving

    async def fetch(self, cursor: str | None) -> FetchResult:
        state = _load_cursor(cursor)
        if state.get("v", 1) < 2:
            # Messages read before identity_of existed were stored by Message-ID alone: any that
            # arrived before now keeps that identity, so reading them again stores nothing twice.
            state.update(v=2, bare_before=self.clock.now())
        batch = max(1, self.settings.batch_size)
        fetched, more = await self._imap("sync", lambda s: self._sync(s, state, batch))
        # Parsing a batch can take a while (MIME, HTML): keep it off the event loop.
        messages = await asyncio.to_thread(self._messages, fetched, state)
        return FetchResult(messages, json.dumps(state, separators=(",", ":")), more=more)

    def _messages(self, fetched: list[tuple[str, Fetched]], state: dict[str, Any]) -> list[InboundMessage]:
        threads = ThreadIndex(state.get("roots"), state.get("subjects"))
        bare_before = state.get("bare_before")
        messages = [self.message_from_raw(folder, item.raw, item.internal_date, threads, note=item.note,
                                          bare_before=bare_before)
                    for folder, item in fetched]
        state.update(threads.dump())
        return messages

    def _sync(self, session: ImapSession, state: dict[str, Any], batch: int) -> tuple[list[tuple[str, Fetched]], bool]:
        """New messages of every folder since the cursor; the cursor in *state* moves past them."""
        folders = state.setdefault("folders", {})
        out: list[tuple[str, Fetched]] = []
        sent = self._sent_folder(session) if self.settings.sync_sent else ""
        # Sent is read too, so replies sent from another mail client show up as ours.
        for folder in (*self.settings.folders, *([sent] if sent not in self.settings.folders else [])):
            if not folder:
                continue
            try:
                info = session.select(folder)
            except FolderMissing:
                if folder == sent and folder not in self.settings.folders:
                    continue  # no Sent folder on this server: nothing of ours to see
                raise
            seen = folders.get(folder) or {}
            if seen.get("uidvalidity") != info.uidvalidity:
                # A new UIDVALIDITY invalidates every UID we knew: read the folder again from the
                # start; identities that do not depend on UIDs (identity_of) make the store skip what
                # it already has.
                seen = {"uidvalidity": info.uidvalidity, "next_uid": 1}
            if info.uidnext and info.uidnext <= int(seen.get("next_uid", 1)):
                folders[folder] = seen
                continue  # UIDNEXT has not moved: nothing new, no SEARCH needed
            uids = session.uids_from(int(seen.get("next_uid", 1)))
            room = batch - len(out)
            take = uids[:room]
            out.extend((folder, item) for item in session.fetch(take, self.settings.max_message_bytes))
            if take:
                seen["next_uid"] = take[-1] + 1
            folders[folder] = seen
            if len(uids) > len(take):
                return out, True
        return out, False

    def message_from_raw(self, folder: str, raw: bytes, internal_date: float | None,
                         threads: ThreadIndex, note: str = "", bare_before: float | None = None) -> InboundMessage:
        """One fetched message as an InboundMessage; never raises, whatever the bytes are."""
        mail = parse(raw)
        if note:
            mail.problems.insert(0, note)
        # Only the Sent folder vouches for "ours": anyone can put our address in a From header, and a
        # forged one in INBOX must not mark a waiting customer as answered.
        sent_folder = self.settings.sent_folder or self._sent or "Sent"
        ours = folder == sent_folder and mail.from_addr in self.settings.own_addresses
        message_id = mail.message_id or raw_id(raw)
        # Threading and the Sent lookup go by Message-ID; the message's identity is more than that (see
        # identity_of), so two distinct messages sharing a Message-ID are both kept.
        legacy = bare_before is not None and (internal_date is None or internal_date < bare_before)
        external_id = message_id if ours or legacy or not mail.message_id else identity_of(mail, message_id)
        if ours:
            others = [a for a in mail.to_addrs if a not in self.settings.own_addresses]
            correspondent = others[0] if others else ""
        else:
            correspondent = mail.from_addr
        thread_key = threads.thread_of(mail, message_id, correspondent)
        now = self.clock.now()
        sent_at = mail.date
        if sent_at is None or sent_at > now + FUTURE_SLACK:
            sent_at = internal_date if internal_date is not None else now
        attachments = [f"{a.name} ({_size(a.size)})" for a in mail.attachments]
        text = mail.text
        if attachments:
            text = (text + "\n\n" if text else "") + "Attachments: " + ", ".join(attachments)
        customer = Person(external_id=correspondent or "(unknown sender)", handle=correspondent,
                          display_name="" if ours else mail.from_name)
        me = Person(external_id=self.settings.address, handle=self.settings.address,
                    display_name=self.settings.display_name)
        extra: dict[str, Any] = {"folder": folder, "attachments": [(a.name, a.size) for a in mail.attachments],
                       "references": list(mail.references), "to": list(mail.to_addrs)}
        if ours:
            extra["recipient"] = customer
        extra["message_id"] = message_id
        return InboundMessage(
            external_id=external_id, thread_key=thread_key, kind=Kind.EMAIL,
            author=me if ours else customer, text=text, sent_at=sent_at,
            direction=Direction.OUT if ours else Direction.IN, subject=mail.subject,
            in_reply_to=mail.in_reply_to or None, raw=raw, parse_note=mail.parse_note, extra=extra)

    async def idle(self, timeout: float = 300.0) -> bool:
        """Wait for new mail in the first folder with IDLE (True when some arrived). Without IDLE
        this returns False at once and the engine's polling does the work."""
        return bool(await asyncio.to_thread(self._idle_blocking, timeout))

    async def watch(self, wake: Callable[[], None]) -> None:
        """Call *wake* whenever IDLE reports new mail, until cancelled; returns at once without IDLE.

        IDLE blocks inside imapclient, so it runs in a daemon thread of its own (not the default
        executor): quitting the app never waits for an IDLE round to time out.
        """
        loop = asyncio.get_running_loop()
        stop = threading.Event()
        finished: asyncio.Future[None] = loop.create_future()

        def run() -> None:
            failures = 0
            while not stop.is_set():
                try:
                    arrived = self._idle_blocking(IDLE_ROUND_SECONDS)
                    failures = 0
                except Exception:  # dropped connection, server restart: back off, polling covers us
                    failures += 1
                    stop.wait(min(300.0, 2.0 ** failures))
                    continue
                if arrived is None:
                    break  # the server has no IDLE
                if arrived and not stop.is_set():
                    loop.call_soon_threadsafe(wake)
            def finish() -> None:
                if not finished.done():
                    finished.set_result(None)

            loop.call_soon_threadsafe(finish)

        threading.Thread(target=run, name="imap-idle", daemon=True).start()
        try:
            await finished
        finally:
            stop.set()

    def _idle_blocking(self, timeout: float) -> bool | None:
        """One IDLE round: True when mail arrived, False on timeout, None without IDLE support."""
        session = ImapSession(self.settings, self.password())
        try:
            if not session.has_idle():
                return None
            return session.run("IDLE", lambda: session.idle_wait(self.settings.folders[0], timeout))
        finally:
            session.logout()

    # ---------------------------------------------------------------- sending

    async def send(self, request: OutboundRequest) -> SendResult:
        """Submit the reply, reporting each phase: "transmitting" right before DATA, "accepted" the
        moment the 250 arrives, and only then file the copy in Sent (a crash after the 250 never
        resends: the restart only files the copy, see complete_send)."""
        now = self.clock.now()
        quoted = await self._quote(request) if self.settings.quote == "below" else ""
        msg, message_id = smtp.compose(self.settings, request, now, quoted)
        raw = msg.as_bytes()
        result = SendResult(external_id=message_id, sent_at=now,
                            thread_key=request.thread_key or message_id, raw=raw.decode("utf-8", "replace"))
        await smtp.submit(self.settings, await asyncio.to_thread(self.password), msg,
                          transmitting=phases.transmitting, accepted=lambda: phases.accepted(result))
        await self._file_copy(raw, now)
        return result

    async def complete_send(self, request: OutboundRequest, result: SendResult) -> None:
        """File the copy of an accepted reply in Sent, unless it is there already; sends nothing."""
        if not self.settings.append_sent or result.raw is None:
            return
        found = await self._imap("search Sent", lambda s: s.find_header(
            self._sent_folder(s), "Message-ID", result.external_id))
        if not found:
            await self._file_copy(result.raw.encode("utf-8"), result.sent_at)

    async def _file_copy(self, raw: bytes, when: float) -> None:
        if not self.settings.append_sent:
            return
        try:
            await self._imap("APPEND to Sent", lambda s: s.append(self._sent_folder(s), raw, to_datetime(when)))
        except Exception as exc:  # the mail went out; only the copy is missing
            log.warning("could not file the sent reply in the Sent folder: %s", exc)

    async def _quote(self, request: OutboundRequest) -> str:
        """The message replied to, quoted; empty when it cannot be found (the reply still goes)."""
        if not request.in_reply_to:
            return ""
        try:
            parent = (message_ids(request.in_reply_to) or [request.in_reply_to])[-1]
            raw = await self._imap("find the message to quote", lambda s: s.message_by_id(
                self.settings.folders, parent, self.settings.max_message_bytes))
        except ConnectorError as exc:
            log.warning("could not fetch the message to quote: %s", exc)
            return ""
        return smtp.quote_block(await asyncio.to_thread(parse, raw)) if raw else ""

    async def find_sent(self, request: OutboundRequest) -> SendResult | None:
        """The reply's Message-ID in Sent. Found proves it went out (we file it only after the 250, a
        server that files itself only what it accepted); not found proves the opposite only where the
        server files submitted mail itself (``server_files_sent``, e.g. Gmail), not with Postfix."""
        message_id = smtp.message_id_for(request, self.settings.domain)
        try:
            found = await self._imap("search Sent", lambda s: s.find_header(
                self._sent_folder(s), "Message-ID", message_id))
        except TemporaryError:
            raise
        except FolderMissing:
            return None
        if not found:
            return None
        return SendResult(external_id=message_id, sent_at=self.clock.now(),
                          thread_key=request.thread_key or message_id)

    async def check(self) -> str:
        """Log in to IMAP and SMTP; raises the typed error naming exactly which step failed."""
        password = self.password()
        folder = self.settings.folders[0]

        def imap_check() -> str:
            session = ImapSession(self.settings, password)
            try:
                info = session.run(f"open {folder}", lambda: session.select(folder))
            finally:
                session.logout()
            return f"{self.settings.describe('IMAP')}: login ok, {folder} has {info.exists} messages"

        imap_part = await asyncio.to_thread(imap_check)
        async with smtp.smtp_session(self.settings, password):
            pass
        return f"{imap_part}; {self.settings.describe('SMTP')}: login ok"


def identity_of(mail: ParsedMail, message_id: str) -> str:
    """A received message's identity: its Message-ID qualified by a digest of what the sender wrote
    (addresses, date, subject, text, attachments), not of how it was delivered.

    Not (folder, UIDVALIDITY, UID): that would store every message again when a folder's UIDVALIDITY
    changes, and twice when it is filed in two synced folders. The same message read again anywhere
    keeps its identity; a second, different message reusing the Message-ID (a broken mailer, or one
    forged to hide the first) gets its own. The Message-ID stays first, so In-Reply-To takes it as is.
    """
    parts = [mail.from_addr, ",".join(mail.to_addrs), str(mail.date), mail.subject, mail.text,
             ";".join(f"{a.name}:{a.size}" for a in mail.attachments)]
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8", "replace")).hexdigest()[:16]
    return f"{message_id}#{digest}"


def _load_cursor(cursor: str | None) -> dict[str, Any]:
    if not cursor:
        return {"v": 2, "folders": {}}
    try:
        state = json.loads(cursor)
    except ValueError:
        log.warning("unreadable email cursor; syncing from the start (the store skips duplicates)")
        return {"v": 1, "folders": {}}
    return state if isinstance(state, dict) else {"v": 1, "folders": {}}


def _size(size: float) -> str:
    for unit in ("B", "KB", "MB"):
        if size < 1024 or unit == "MB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} B"


def from_account(account: AccountRow, clock: Clock) -> EmailConnector:
    """Build the connector for an email account row; the password is read when first needed."""
    settings = EmailSettings.from_mapping(account.settings, address=account.handle)
    return EmailConnector(settings, clock, lambda: load_secret(account.name, account.settings),
                          account_name=account.name)
