"""Mislabelled charsets, 8-bit introducers and hostile dates in mail: parsed, stored, nothing hidden."""

from __future__ import annotations

from pathlib import Path

from agentconsole.domain.clock import FrozenClock
from agentconsole.storage.store import Store
from connectors.email.mime import parse
from tests.connectors.test_email_mime import connector
from connectors.email.connector import ThreadIndex

CZECH = ("Dobrý den, objednávka č. 4521 ještě nedorazila. Prosím o zaslání stavu zásilky. "
         "Děkuji, Šárka Žďárská – ťuk „ok“")


def mail(charset: str, body: bytes, extra: str = "") -> bytes:
    return (f"From: Sarka <sarka@x.example>\nSubject: objednavka\nMessage-ID: <{charset}.{len(body)}@x>\n{extra}"
            f"Content-Type: text/plain; charset={charset}\nContent-Transfer-Encoding: 8bit\n\n").encode() + body


def test_a_windows_1250_mail_declared_latin_1_or_utf_8_is_read_whole_with_a_note():
    body = CZECH.encode("cp1250")
    for declared in ("iso-8859-1", "utf-8", "us-ascii", "x-unknown-charset"):
        parsed = parse(mail(declared, body))
        assert parsed.text.strip() == CZECH, declared
        assert "read as cp1250 by detection" in parsed.parse_note, declared


def test_a_correct_latin_1_mail_is_left_as_declared():
    text = "Grüße aus Köln, Zoë – café"
    parsed = parse(mail("iso-8859-1", text.replace("–", "-").encode("latin-1")))
    assert parsed.text.strip() == text.replace("–", "-") and parsed.parse_note == ""


def test_c1_bytes_that_detection_cannot_place_are_marked_and_the_rest_kept():
    body = b"Dear customer \x9d the text after an 8-bit OSC introducer \x9b2J stays"
    parsed = parse(mail("iso-8859-1", body))
    assert "the text after an 8-bit OSC introducer" in parsed.text and "stays" in parsed.text
    assert not any(0x80 <= ord(c) <= 0x9f for c in parsed.text)


def test_hostile_dates_and_mislabelled_mail_through_the_connector_into_the_store(tmp_path: Path):
    clock = FrozenClock(1_764_061_200.0)
    store = Store(tmp_path / "db.sqlite", clock)
    account = store.ensure_account("support", "email", "email", handle="support@shop.example")
    threads = ThreadIndex()
    raws = [mail("iso-8859-1", CZECH.encode("cp1250")),
            mail("utf-8", b"year one", "Date: Mon, 01 Jan 0001 00:00:00 +0000\n"),
            mail("utf-8", b"far future", "Date: Fri, 31 Dec 9999 23:59:59 -1200\n"),
            mail("utf-8", b"garbage date", "Date: 1e999\n"),
            mail("utf-8", "tags \U000e0041\U000e0042 hidden".encode(), ""),
            mail("utf-8", b"lone esc \x1b]0;unterminated title and the rest")]
    messages = [connector(clock).message_from_raw("INBOX", raw, None, threads) for raw in raws]
    report = store.ingest(account, messages, cursor="c")
    assert report.new_messages == len(raws) and store.cursor(account) == "c"
    rows = [tuple(r) for r in store.conn.execute("SELECT text, parse_note, sent_at, raw FROM messages")]
    assert {r[3] for r in rows} == set(raws)  # the bytes as received
    texts = " ".join(r[0] for r in rows)
    assert CZECH in texts and "unterminated title and the rest" in texts
    for text, note, sent_at, _ in rows:
        assert 0 <= sent_at <= clock.now() + 86_400
        if text.startswith("tags"):
            assert "TAG" in note and "\U000e0041" not in text
    store.close()
