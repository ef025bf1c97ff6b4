"""Every real malformed message and every hostile one we build becomes a stored, inert InboundMessage."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentconsole.domain.clock import FrozenClock
from agentconsole.domain.models import Direction, InboundMessage
from agentconsole.storage.store import Store
from connectors.email.connector import EmailConnector, ThreadIndex
from connectors.email.mime import normalise_subject, parse
from connectors.email.settings import EmailSettings

CORPUS = Path(__file__).resolve().parent.parent / "data" / "email"
CORPUS_FILES = sorted(CORPUS.rglob("*.eml"))
UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def connector(clock: FrozenClock | None = None) -> EmailConnector:
    settings = EmailSettings(address="support@shop.example", imap_host="imap.shop.example",
                             smtp_host="smtp.shop.example", username="support@shop.example")
    return EmailConnector(settings, clock or FrozenClock(), lambda: "unused")


def assert_inert(message: InboundMessage) -> None:
    for value in (message.text, message.subject, message.author.display_name, message.author.handle,
                  message.parse_note, *(name for name, _ in message.extra["attachments"])):
        assert UNSAFE.search(value) is None, value


def hostile_messages() -> dict[str, bytes]:
    def b64(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    deep = b"".join(b'Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' % (i, i) for i in range(1500))
    return {
        "bad charset": b"From: a@x.example\nSubject: hi\nContent-Type: text/plain; charset=x-no-such\n\n"
                       b"caf\xe9 \xff\xfe",
        "broken base64": b"From: a@x.example\nSubject: b64\nContent-Type: text/plain\n"
                         b"Content-Transfer-Encoding: base64\n\nSGVsbG8gV29ybGQ!!!*&^%$=\n==A\n",
        "missing boundary": b"From: a@x.example\nContent-Type: multipart/mixed\n\n--x\n\nbody\n--x--\n",
        "deep nesting": b"From: a@x.example\nSubject: deep\n" + deep + b"text at the bottom\n",
        "html with script": b"From: a@x.example\nSubject: html\nContent-Type: text/html\n\n"
                            b"<html><head><style>p{x:1}</style><script>alert('x')</script></head><body>"
                            b"<p>Hello &#27;[2J<a href='https://shop.example/o/1'>your order</a></p>"
                            b"<script>steal()</script></body></html>",
        "hostile filenames": b'From: a@x.example\nContent-Type: multipart/mixed; boundary="B"\n\n--B\n'
                             b"Content-Type: text/plain\n\nsee attached\n--B\n"
                             b'Content-Type: application/octet-stream; name="../../etc/passwd\x1b[31m"\n'
                             b'Content-Disposition: attachment; filename="../../etc/passwd\x1b[31m"\n\nAAAA\n--B\n'
                             b"Content-Type: application/x-msdownload\n"
                             b"Content-Disposition: attachment; filename*=utf-8''%0D%0A%1B%5D0%3Bpwn%07"
                             b"invoice%E2%80%AEfdp.exe\n\nMZ\n--B--\n",
        "escapes in subject and name": (
            f"From: =?utf-8?b?{b64(chr(27) + ']0;pwned' + chr(7) + 'Eve' + chr(0x202e))}?= <eve@x.example>\n"
            f"Subject: =?utf-8?b?{b64(chr(27) + '[2J' + chr(27) + '[31mURGENT' + chr(0x9b) + '1m')}?=\n"
            "Content-Type: text/plain; charset=utf-8\n\nbody \x1b[5mblink\x07\x00\n").encode(),
        "raw 8-bit headers": b"From: \xe9ric <eric@x.example>\nSubject: r\xe9sum\xe9 \xff\n\nhi\n",
        "not an email": bytes(range(256)) * 4,
        "empty": b"",
        "crlf injection in references": b"From: a@x.example\nMessage-ID: <m1@x>\n"
                                        b"References: <r1@x>\r\n Bcc: victim@x <r2@x>\nIn-Reply-To: <p\r\n@x>\n\nhi",
        "unknown transfer encoding": b"From: a@x.example\nContent-Transfer-Encoding: x-weird\n\nhello",
        "nul in body": b"From: a@x.example\n\nbefore\x00after",
    }


HOSTILE = hostile_messages()


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_corpus_message_is_kept_with_raw_bytes_and_inert(path: Path) -> None:
    raw = path.read_bytes()
    message = connector().message_from_raw("INBOX", raw, 1_700_000_000.0, ThreadIndex())
    assert message.raw == raw
    assert message.external_id and message.thread_key
    assert_inert(message)


def test_the_corpus_holds_all_62_messages() -> None:
    assert len(CORPUS_FILES) == 62


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_messages_are_kept_and_inert(name: str) -> None:
    raw = HOSTILE[name]
    message = connector().message_from_raw("INBOX", raw, None, ThreadIndex())
    assert message.raw == raw
    assert_inert(message)


def test_hostile_corpus_is_stored_whole(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite", FrozenClock())
    account = store.ensure_account("support", "email", "email", handle="support@shop.example")
    threads = ThreadIndex()
    messages = [connector().message_from_raw("INBOX", raw, 1_700_000_000.0, threads)
                for raw in [*HOSTILE.values(), *(p.read_bytes() for p in CORPUS_FILES)]]
    report = store.ingest(account, messages, cursor="c")
    unique = {m.external_id for m in messages}
    assert report.new_messages == len(unique)
    stored = {row[0]: row[1] for row in store.conn.execute("SELECT external_id, raw FROM messages")}
    first_raw: dict[str, bytes] = {}
    for message in messages:  # a message read twice is kept once
        first_raw.setdefault(message.external_id, message.raw)
    assert stored == first_raw


def test_broken_parts_are_noted_not_dropped() -> None:
    assert "could not be fully read" in parse(HOSTILE["broken base64"]).parse_note
    assert "unknown charset" in parse(HOSTILE["bad charset"]).parse_note
    assert "café" in parse(HOSTILE["bad charset"]).text or "caf" in parse(HOSTILE["bad charset"]).text
    deep = parse(HOSTILE["deep nesting"])
    assert deep.parse_note.startswith("could not be fully read")


def test_html_only_mail_becomes_text_without_script_and_keeps_links() -> None:
    mail = parse(HOSTILE["html with script"])
    assert "Hello" in mail.text and "your order" in mail.text
    assert "https://shop.example/o/1" in mail.text
    assert "alert" not in mail.text and "steal" not in mail.text and "x:1" not in mail.text
    assert "\x1b" not in mail.text


def test_attachments_are_listed_by_clean_name_and_size() -> None:
    mail = parse(HOSTILE["hostile filenames"])
    assert mail.text == "see attached"
    names = [a.name for a in mail.attachments]
    assert names[0].startswith(".._.._etc_passwd") and "/" not in names[0]
    assert all(UNSAFE.search(n) is None for n in names)
    assert mail.attachments[0].size == 4  # "AAAA"; the line break before a boundary belongs to it
    assert names[1] == "invoicefdp.exe"  # the OSC title sequence and the RTL override are gone


def test_escape_sequences_never_survive_in_subject_or_sender() -> None:
    message = connector().message_from_raw("INBOX", HOSTILE["escapes in subject and name"], None,
                                           ThreadIndex())
    assert "URGENT" in message.subject and "\x1b" not in message.subject
    assert "Eve" in message.author.display_name and "\x1b" not in message.author.display_name
    assert "blink" in message.text


def test_message_ids_from_headers_never_carry_line_breaks() -> None:
    mail = parse(HOSTILE["crlf injection in references"])
    assert mail.message_id == "<m1@x>"
    assert all("\r" not in r and "\n" not in r and " " not in r for r in mail.references)
    assert mail.in_reply_to == ""


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_parse_without_an_exception(raw: bytes) -> None:
    mail = parse(b"From: a@x.example\nContent-Type: multipart/mixed; boundary=b\n\n--b\n" + raw)
    assert UNSAFE.search(mail.text) is None


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["From", "To", "Subject", "Message-ID", "References", "Date",
                                           "Content-Type", "Content-Disposition", "In-Reply-To"]),
                          st.binary(max_size=200)), max_size=8),
       st.binary(max_size=500))
def test_any_headers_parse_without_an_exception(headers, body: bytes) -> None:
    raw = b"".join(name.encode() + b": " + value + b"\n" for name, value in headers) + b"\n" + body
    message = connector().message_from_raw("INBOX", raw, None, ThreadIndex())
    assert message.raw == raw
    assert_inert(message)
    assert all(c not in message.external_id for c in "\r\n ")


# ---------------------------------------------------------------- threading

def mail(message_id: str, *, sender: str = "dana@x.example", to: str = "support@shop.example",
         subject: str = "Order 17", refs: str = "", reply_to: str = "", date: str = "") -> bytes:
    headers = [f"From: {sender}", f"To: {to}", f"Subject: {subject}", f"Message-ID: {message_id}"]
    if refs:
        headers.append(f"References: {refs}")
    if reply_to:
        headers.append(f"In-Reply-To: {reply_to}")
    headers.append(f"Date: {date or 'Tue, 25 Nov 2025 10:00:00 +0000'}")
    return ("\n".join(headers) + "\n\nbody\n").encode()


def test_replies_thread_under_the_root_message_id() -> None:
    c, threads = connector(), ThreadIndex()
    first = c.message_from_raw("INBOX", mail("<a@x>"), None, threads)
    ours = c.message_from_raw("Sent", mail("<b@shop>", sender="support@shop.example", to="dana@x.example",
                                           subject="Re: Order 17", refs="<a@x>", reply_to="<a@x>"),
                              None, threads)
    # Only In-Reply-To, pointing at our reply: the index maps it to the root.
    again = c.message_from_raw("INBOX", mail("<c@x>", subject="Re: Order 17", reply_to="<b@shop>"), None,
                               threads)
    assert first.thread_key == ours.thread_key == again.thread_key == "<a@x>"
    assert ours.direction == Direction.OUT and first.direction == Direction.IN
    assert ours.extra["recipient"].external_id == "dana@x.example"


def test_a_forged_from_outside_sent_is_not_taken_for_ours() -> None:
    forged = connector().message_from_raw("INBOX", mail("<z@x>", sender="support@shop.example"), None,
                                          ThreadIndex())
    assert forged.direction == Direction.IN


def test_without_references_the_subject_and_correspondent_decide() -> None:
    c, threads = connector(), ThreadIndex()
    first = c.message_from_raw("INBOX", mail("<a@x>"), None, threads)
    same = c.message_from_raw("INBOX", mail("<d@x>", subject="RE: Fwd: order  17"), None, threads)
    other_person = c.message_from_raw("INBOX", mail("<e@y>", sender="sam@y.example"), None, threads)
    other_subject = c.message_from_raw("INBOX", mail("<f@x>", subject="Refund"), None, threads)
    assert same.thread_key == first.thread_key
    assert other_person.thread_key == "<e@y>"
    assert other_subject.thread_key == "<f@x>"


def test_thread_memory_survives_the_cursor() -> None:
    c, threads = connector(), ThreadIndex()
    c.message_from_raw("INBOX", mail("<a@x>"), None, threads)
    restored = ThreadIndex(**threads.dump())
    later = c.message_from_raw("INBOX", mail("<g@x>", subject="Order 17 again", reply_to="<a@x>"), None,
                               restored)
    assert later.thread_key == "<a@x>"


def test_a_message_without_message_id_gets_a_stable_id() -> None:
    raw = b"From: a@x.example\nSubject: no id\n\nhello"
    one = connector().message_from_raw("INBOX", raw, None, ThreadIndex())
    two = connector().message_from_raw("INBOX", raw, None, ThreadIndex())
    assert one.external_id == two.external_id and one.external_id.startswith("<sha256.")


def test_future_dates_fall_back_to_the_server_date() -> None:
    clock = FrozenClock(1_764_000_000.0)
    message = connector(clock).message_from_raw(
        "INBOX", mail("<a@x>", date="Fri, 01 Jan 2100 00:00:00 +0000"), 1_763_999_000.0, ThreadIndex())
    assert message.sent_at == 1_763_999_000.0


def test_subject_normalisation() -> None:
    assert normalise_subject("Re: RE: Fwd:  [Ticket]  Order   17") == "order 17"
    assert normalise_subject("AW: Sv: order 17") == "order 17"
