"""Reply-all recipients: the answered message's To and Cc, minus us, the sender and anything unsafe."""

from __future__ import annotations

from agentconsole.replies.reply_all import MAX_CC, cc_for

RAW = (b"From: Dana Kim <dana@example.com>\r\nTo: Support <support@shop.test>, bob@example.com\r\n"
       b"Cc: \"Eve, Q.\" <EVE@Example.com>, dana@example.com, bob@example.com\r\nSubject: hi\r\n\r\nbody\r\n")


def test_to_and_cc_without_us_the_sender_or_duplicates():
    assert cc_for(RAW, sender="dana@example.com", own=["support@shop.test"]) == [
        "bob@example.com", "eve@example.com"]


def test_nothing_readable_gives_nobody():
    assert cc_for(None, sender="a@b.c", own=[]) == []
    assert cc_for(b"", sender="a@b.c", own=[]) == []
    assert cc_for(b"\xff\xfe not mail at all", sender="a@b.c", own=[]) == []


def test_unsafe_addresses_are_left_out_and_the_list_is_bounded():
    hostile = (b"To: support@shop.test, a\x1b[2J@b.com, not-an-address, <x@y.com>\r\n\tz\r\n"
               b"Bcc: hidden@example.com\r\nCc: ok@example.com\r\n\r\n")
    assert cc_for(hostile, sender="dana@example.com", own=["support@shop.test"]) == ["ok@example.com"]  # To unreadable
    many = ("To: " + ", ".join(f"p{i}@list.example" for i in range(200)) + "\r\n\r\n").encode()
    assert len(cc_for(many, sender="s@x.y", own=[])) == MAX_CC


def test_a_stored_text_copy_is_read_too():
    assert cc_for(RAW.decode(), sender="dana@example.com", own=[]) == [
        "support@shop.test", "bob@example.com", "eve@example.com"]


def test_reply_all_queues_the_copies_and_a_plain_reply_none(store, clock):
    from agentconsole.domain.models import InboundMessage, Kind, Person
    from agentconsole.replies.outbox import Outbox

    mail = store.ensure_account("mail", "email", "scripted", handle="support@shop.test")
    dana = Person("dana@example.com", "dana@example.com", "Dana Kim")
    store.ingest(mail, [InboundMessage("<m1@x>", "<m1@x>", Kind.EMAIL, dana, "hello", clock.now(), raw=RAW)])
    cid = store.conn.execute("SELECT id FROM conversations WHERE thread_key = '<m1@x>'").fetchone()[0]
    outbox = Outbox(store)
    everyone = outbox.item(outbox.enqueue_reply(cid, "Thanks all", agent_id=None, reply_all=True))
    assert everyone.request.extra["cc"] == ["bob@example.com", "eve@example.com"]
    assert everyone.request.recipient.external_id == "dana@example.com"
    plain = outbox.item(outbox.enqueue_reply(cid, "Thanks", agent_id=None))
    assert "cc" not in plain.request.extra
