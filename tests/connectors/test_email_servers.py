"""The email connector against real Dovecot (IMAP) and Postfix (submission) on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path

import aiosmtplib
import pytest

from agentconsole.domain.clock import SystemClock
from agentconsole.domain.errors import AuthError, PermanentError, TemporaryError
from agentconsole.domain.models import Direction, OutboundRequest, Person
from agentconsole.storage.store import Store
from connectors.email.connector import EmailConnector
from connectors.email.settings import EmailSettings

from tests.connectors.mailservers import (CA_FILE, CUSTOMER, HOST, IMAPS_PORT, SUBMISSION_PORT, SUPPORT, Folder, admin,
                       customer_mail, mail_settings)

pytestmark = pytest.mark.servers


def connector(folder: str, user: tuple[str, str] = SUPPORT, **changes) -> EmailConnector:
    changes.setdefault("sync_sent", False)
    settings = mail_settings(user, folders=(folder,), **changes)
    return EmailConnector(settings, SystemClock(), lambda: user[1])


def mid(external_id: str) -> str:
    """The Message-ID part of a stored email's identity (identity_of adds a digest after it)."""
    return external_id.partition("#")[0]


def store_for(tmp_path: Path) -> tuple[Store, int]:
    store = Store(tmp_path / "inbox.db", SystemClock())  # the servers date mail by the real clock
    return store, store.ensure_account("support", "email", "email", handle=SUPPORT[0])


async def test_first_sync_then_new_mail_arrives(folder: Folder, tmp_path: Path) -> None:
    ids = [folder.add(f"Order {n}") for n in range(3)]
    mail = connector(folder.name, batch_size=2)
    store, account = store_for(tmp_path)
    try:
        first = await mail.fetch(None)
        assert first.more and [mid(m.external_id) for m in first.messages] == ids[:2]
        store.ingest(account, first.messages, first.cursor)
        second = await mail.fetch(store.cursor(account))
        assert not second.more and [mid(m.external_id) for m in second.messages] == ids[2:]
        store.ingest(account, second.messages, second.cursor)
        assert (await mail.fetch(store.cursor(account))).messages == []

        late = folder.add("Order 4")
        third = await mail.fetch(store.cursor(account))
        assert [mid(m.external_id) for m in third.messages] == [late]
        assert third.messages[0].raw.startswith(b"From: ") or b"\nFrom: " in third.messages[0].raw
    finally:
        await mail.close()


async def test_idle_wakes_up_on_new_mail(folder: Folder) -> None:
    mail = connector(folder.name)
    try:
        assert await mail.idle(timeout=1.0) is False  # nothing new: the wait simply ends
        waiting = asyncio.create_task(mail.idle(timeout=20.0))
        await asyncio.sleep(0.5)
        started = time.monotonic()
        folder.add("Pushed")
        assert await asyncio.wait_for(waiting, 15) is True
        assert time.monotonic() - started < 5
    finally:
        await mail.close()


async def test_uidvalidity_change_resyncs_without_duplicates(folder: Folder, tmp_path: Path) -> None:
    raws = [customer_mail(f"Refund {n}") for n in range(2)]
    for raw, _ in raws:
        folder.client.append(folder.name, raw)
    mail = connector(folder.name)
    store, account = store_for(tmp_path)
    try:
        first = await mail.fetch(None)
        store.ingest(account, first.messages, first.cursor)
        old = json.loads(first.cursor)["folders"][folder.name]["uidvalidity"]

        folder.recreate()
        for raw, _ in raws:
            folder.client.append(folder.name, raw)
        newer, newer_id = customer_mail("Refund 2")
        folder.client.append(folder.name, newer)

        again = await mail.fetch(store.cursor(account))
        assert json.loads(again.cursor)["folders"][folder.name]["uidvalidity"] != old
        assert len(again.messages) == 3
        report = store.ingest(account, again.messages, again.cursor)
        assert (report.new_messages, report.duplicates) == (1, 2)
        assert store.conn.execute("SELECT count(*) FROM messages").fetchone()[0] == 3
        assert newer_id in {mid(m.external_id) for m in again.messages}
    finally:
        await mail.close()


async def _wait_for(client, folder: str, message_id: str, seconds: float = 15.0) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        client.select_folder(folder, readonly=True)
        found = client.search(["HEADER", "Message-ID", message_id])
        if found:
            return client.fetch(found, ["BODY.PEEK[HEADER]"])[found[0]]
        await asyncio.sleep(0.2)
    raise AssertionError(f"{message_id} never arrived in {folder}")


async def test_reply_reaches_the_customer_and_threads_back(tmp_path: Path, mail_servers: None) -> None:
    subject = f"Invoice {uuid.uuid4().hex[:8]}"
    raw, question_id = customer_mail(subject, "Where is invoice 4411?")
    await aiosmtplib.send(raw, sender=CUSTOMER[0], recipients=[SUPPORT[0]], hostname=HOST,
                          port=SUBMISSION_PORT, start_tls=True, username=CUSTOMER[0], password=CUSTOMER[1],
                          tls_context=mail_settings().ssl_context())
    support_box, customer_box = admin(SUPPORT), admin(CUSTOMER)
    mail = connector("INBOX", sync_sent=True)
    store, account = store_for(tmp_path)
    try:
        await _wait_for(support_box, "INBOX", question_id)
        batch = await mail.fetch(None)
        store.ingest(account, batch.messages, batch.cursor)
        question = next(m for m in batch.messages if mid(m.external_id) == question_id)
        assert question.direction == Direction.IN and question.thread_key == question_id

        request = OutboundRequest(idempotency_key=uuid.uuid4().hex, action="reply",
                                  text="It left today.\nTracking: 123", thread_key=question.thread_key,
                                  in_reply_to=question.external_id, recipient=question.author, subject=question.subject)
        sent = await mail.send(request)
        assert sent.external_id.startswith("<") and sent.thread_key == question_id
        assert (await mail.find_sent(request)).external_id == sent.external_id

        headers = await _wait_for(customer_box, "INBOX", sent.external_id)
        received = headers[b"BODY[HEADER]"].decode()
        assert f"In-Reply-To: {question_id}" in received
        assert f"References: {question_id}" in received
        assert f"Subject: Re: {subject}" in received

        await asyncio.sleep(1.05)  # Date headers count whole seconds: keep the follow-up visibly later
        follow_up, follow_id = customer_mail(f"Re: {subject}", "Thanks! And the receipt?",
                                             In_Reply_To=sent.external_id,
                                             References=f"{question_id} {sent.external_id}")
        await aiosmtplib.send(follow_up, sender=CUSTOMER[0], recipients=[SUPPORT[0]], hostname=HOST,
                              port=SUBMISSION_PORT, start_tls=True, username=CUSTOMER[0],
                              password=CUSTOMER[1], tls_context=mail_settings().ssl_context())
        await _wait_for(support_box, "INBOX", follow_id)
        later = await mail.fetch(store.cursor(account))
        store.ingest(account, later.messages, later.cursor)

        conversation_id = store.conn.execute(
            "SELECT id FROM conversations WHERE thread_key = ?", (question_id,)).fetchone()[0]
        rows = store.messages(conversation_id)
        assert [(mid(r.external_id), r.direction) for r in rows] == [
            (question_id, "in"), (sent.external_id, "out"), (follow_id, "in")]
        assert store.conversation(conversation_id).needs_reply
    finally:
        support_box.logout()
        customer_box.logout()
        await mail.close()


async def test_find_sent_is_none_for_a_reply_that_never_went_out(mail_servers: None) -> None:
    mail = connector("INBOX")
    try:
        request = OutboundRequest(idempotency_key=uuid.uuid4().hex, action="reply", text="x",
                                  recipient=Person(CUSTOMER[0]), subject="never sent")
        assert await mail.find_sent(request) is None
    finally:
        await mail.close()


class Proxy:
    """A TCP relay to Dovecot that can cut the connection after a number of bytes from the server."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.cut_after: int | None = None
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._relay, HOST, 0)
        return self.server.sockets[0].getsockname()[1]

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(HOST, self.target_port)
        budget = self.cut_after

        async def pipe(src, dst, counted: bool) -> None:
            nonlocal budget
            try:
                while data := await src.read(4096):
                    if counted and budget is not None:
                        if budget <= len(data):
                            dst.write(data[:budget])
                            break
                        budget -= len(data)
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                for w in (writer, up_writer):
                    w.close()

        await asyncio.gather(pipe(reader, up_writer, False), pipe(up_reader, writer, True))

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


async def test_connection_dropped_mid_sync_loses_and_duplicates_nothing(folder: Folder,
                                                                         tmp_path: Path) -> None:
    ids = [folder.add(f"Big {n}", "x" * 30_000 + f"\nmessage {n}\n") for n in range(5)]
    proxy = Proxy(1143)
    port = await proxy.start()
    mail = connector(folder.name, imap_port=port, batch_size=2)
    store, account = store_for(tmp_path)
    try:
        first = await mail.fetch(None)
        store.ingest(account, first.messages, first.cursor)
        assert len(first.messages) == 2

        proxy.cut_after = 20_000  # the next connection dies in the middle of the next FETCH
        await mail.close()
        with pytest.raises(TemporaryError):
            await mail.fetch(store.cursor(account))

        proxy.cut_after = None  # the network is back: the connector reconnects by itself
        cursor = store.cursor(account)
        while True:
            batch = await mail.fetch(cursor)
            store.ingest(account, batch.messages, batch.cursor)
            cursor = batch.cursor
            if not batch.more:
                break
        stored = [mid(r[0]) for r in store.conn.execute("SELECT external_id FROM messages ORDER BY sent_at, id")]
        assert sorted(stored) == sorted(ids) and len(stored) == 5
    finally:
        await mail.close()
        await proxy.stop()


async def test_wrong_password_says_so(mail_servers: None) -> None:
    mail = EmailConnector(mail_settings(folders=("INBOX",)), SystemClock(), lambda: "not-the-password")
    with pytest.raises(AuthError, match=r"IMAP 127\.0\.0\.1:1143 .*login as 'support@example.test' "
                                        r"was refused \(wrong user name or password\?\)"):
        await mail.check()
    with pytest.raises(AuthError):
        await mail.fetch(None)
    request = OutboundRequest(idempotency_key="k", action="reply", text="x", recipient=Person(CUSTOMER[0]))
    with pytest.raises(AuthError, match=r"SMTP 127\.0\.0\.1:2587 .*login .* was refused"):
        await mail.send(request)


async def test_check_names_the_step_that_failed(mail_servers: None) -> None:
    good = EmailConnector(mail_settings(), SystemClock(), lambda: SUPPORT[1])
    assert "login ok" in await good.check()
    smtp_down = EmailConnector(mail_settings(smtp_port=1), SystemClock(), lambda: SUPPORT[1])
    with pytest.raises(TemporaryError, match=r"^SMTP 127\.0\.0\.1:1 .*cannot connect"):
        await smtp_down.check()


async def test_implicit_tls_and_certificate_checks(mail_servers: None) -> None:
    implicit = EmailConnector(mail_settings(imap_port=IMAPS_PORT, imap_tls="implicit"), SystemClock(),
                              lambda: SUPPORT[1])
    assert "IMAP 127.0.0.1:1993 (TLS): login ok" in await implicit.check()
    untrusted = EmailConnector(mail_settings(tls_ca_file=""), SystemClock(), lambda: SUPPORT[1])
    with pytest.raises(PermanentError, match="certificate is not trusted"):
        await untrusted.check()
    assert CA_FILE.exists()


def test_plain_text_is_refused_unless_allowed_for_localhost() -> None:
    base = dict(address="a@shop.example", smtp_host="127.0.0.1", username="a", imap_tls="plain")
    with pytest.raises(PermanentError, match="only allowed for localhost"):
        EmailSettings(imap_host="127.0.0.1", **base).validate()
    with pytest.raises(PermanentError, match="only allowed for localhost"):
        EmailSettings(imap_host="imap.shop.example", allow_plain=True, **base).validate()
    EmailSettings(imap_host="127.0.0.1", allow_plain=True, **base).validate()


async def test_oversized_messages_are_kept_by_their_headers(folder: Folder, tmp_path: Path) -> None:
    big = folder.add("Huge attachment", "y" * 50_000)
    small = folder.add("Small")
    mail = connector(folder.name, max_message_bytes=20_000)
    store, account = store_for(tmp_path)
    try:
        batch = await mail.fetch(None)
        by_id = {mid(m.external_id): m for m in batch.messages}
        assert set(by_id) == {big, small}
        assert by_id[big].parse_note.startswith("could not be fully read: too large to fetch")
        assert b"Subject: Huge attachment" in by_id[big].raw and len(by_id[big].raw) < 2_000
        assert by_id[small].parse_note == ""
        assert store.ingest(account, batch.messages, batch.cursor).new_messages == 2
    finally:
        await mail.close()


async def test_a_missing_folder_is_a_clear_permanent_error(mail_servers: None) -> None:
    mail = connector("No-Such-Folder")
    try:
        with pytest.raises(PermanentError, match="cannot open folder 'No-Such-Folder'"):
            await mail.fetch(None)
    finally:
        await mail.close()


async def test_quote_below_includes_the_customers_message(folder: Folder) -> None:
    question = folder.add("Parcel", "Where is my parcel?\nOrder 17")
    mail = connector(folder.name, quote="below")
    customer_box = admin(CUSTOMER)
    try:
        request = OutboundRequest(idempotency_key=uuid.uuid4().hex, action="reply", text="It ships today.",
                                  thread_key=question, in_reply_to=question, recipient=Person(CUSTOMER[0]),
                                  subject="Parcel")
        sent = await mail.send(request)
        await _wait_for(customer_box, "INBOX", sent.external_id)
        uid = customer_box.search(["HEADER", "Message-ID", sent.external_id])[0]
        body = customer_box.fetch([uid], ["BODY.PEEK[TEXT]"])[uid][b"BODY[TEXT]"].decode()
        assert "It ships today." in body and "wrote:" in body
        assert "> Where is my parcel?" in body and "> Order 17" in body
    finally:
        customer_box.logout()
        await mail.close()


async def test_two_distinct_messages_sharing_a_message_id_are_both_kept(folder: Folder, tmp_path: Path) -> None:
    first = folder.add("Order 77", "Where is order 77?")
    folder.add("Order 77", "Cancel it, please", Message_ID=first)  # a second message reusing the id
    mail = connector(folder.name)
    store, account = store_for(tmp_path)
    try:
        batch = await mail.fetch(None)
        assert store.ingest(account, batch.messages, batch.cursor).new_messages == 2
        texts = {r[0] for r in store.conn.execute("SELECT text FROM messages")}
        assert texts == {"Where is order 77?", "Cancel it, please"}
        # Read again from the start (as after a UIDVALIDITY change): the same two, nothing new.
        again = await mail.fetch(None)
        assert store.ingest(account, again.messages, again.cursor).new_messages == 0
        assert {m.extra["message_id"] for m in batch.messages} == {first}  # threading keeps the id
        assert len({m.thread_key for m in batch.messages}) == 1
    finally:
        await mail.close()


async def test_a_cursor_from_before_the_new_identity_keeps_old_messages_by_message_id(
        folder: Folder, tmp_path: Path) -> None:
    old = folder.add("Before the upgrade")
    mail = connector(folder.name)
    store, account = store_for(tmp_path)
    try:
        legacy = json.dumps({"v": 1, "folders": {}})  # what an older build left: every id a bare Message-ID
        first = await mail.fetch(legacy)
        assert [m.external_id for m in first.messages] == [old]  # as the older build stored it
        store.ingest(account, first.messages, first.cursor)
        assert json.loads(first.cursor)["v"] == 2
        await asyncio.sleep(1.1)  # INTERNALDATE counts whole seconds
        new = folder.add("After the upgrade")
        second = await mail.fetch(store.cursor(account))
        assert [mid(m.external_id) for m in second.messages] == [new] and "#" in second.messages[0].external_id
        store.ingest(account, second.messages, second.cursor)
        # A full re-read (a new UIDVALIDITY) keeps both identities: nothing is stored twice.
        state = json.loads(store.cursor(account))
        state["folders"] = {}
        again = await mail.fetch(json.dumps(state))
        assert store.ingest(account, again.messages, again.cursor).new_messages == 0
    finally:
        await mail.close()
