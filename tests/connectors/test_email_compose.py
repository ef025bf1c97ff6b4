"""Replies are composed from clean values: no header injection, stable Message-IDs, proper threading."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser

import pytest

from agentconsole.domain.errors import PermanentError
from agentconsole.domain.models import OutboundRequest, Person
from connectors.email.mime import raw_id
from connectors.email.settings import EmailSettings
from connectors.email.smtp import compose, message_id_for

SETTINGS = EmailSettings(address="support@shop.example", imap_host="imap.shop.example",
                         smtp_host="smtp.shop.example", username="support@shop.example",
                         display_name="Shop\r\nBcc: boss@evil.example")


def request(**changes) -> OutboundRequest:
    values = dict(idempotency_key="key-1", action="reply", text="Thanks!\r\nIt ships today.",
                  thread_key="<root@x.example>", in_reply_to="<parent@x.example>",
                  recipient=Person("dana@x.example", "dana@x.example", "Dana\r\nBcc: a@evil.example"),
                  subject="Order 17")
    values.update(changes)
    return OutboundRequest(**values)


def headers_of(req: OutboundRequest):
    msg, message_id = compose(SETTINGS, req, 1_764_061_200.0)
    raw = msg.as_bytes()
    return BytesParser(policy=policy.default).parsebytes(raw), message_id, raw


def test_threading_headers_and_subject() -> None:
    parsed, message_id, _ = headers_of(request())
    assert parsed["In-Reply-To"] == "<parent@x.example>"
    assert parsed["References"] == "<root@x.example> <parent@x.example>"
    assert parsed["Subject"] == "Re: Order 17"
    assert parsed["Message-ID"] == message_id
    assert parsed.get_content().replace("\r\n", "\n").strip() == "Thanks!\nIt ships today."
    assert headers_of(request(subject="RE: Order 17"))[0]["Subject"] == "RE: Order 17"


def test_message_id_is_stable_per_idempotency_key() -> None:
    first = message_id_for(request(), "shop.example")
    assert first == message_id_for(request(text="other"), "shop.example")
    assert first != message_id_for(request(idempotency_key="key-2"), "shop.example")
    assert headers_of(request())[1] == first


@pytest.mark.parametrize("field", ["subject", "in_reply_to", "thread_key"])
def test_no_header_injection_from_received_values(field: str) -> None:
    evil = "<x@y>\r\nBcc: victim@evil.example\r\nX-Evil: 1"
    _, _, raw = headers_of(request(**{field: evil}))
    head = raw.split(b"\r\n\r\n", 1)[0]
    lines = head.split(b"\r\n")
    assert not any(line.lower().startswith((b"bcc:", b"x-evil:")) for line in lines)
    assert b"victim" not in head or field == "subject"  # ids keep only the well-formed <x@y>


def test_names_with_line_breaks_stay_on_one_header_line() -> None:
    parsed, _, raw = headers_of(request())
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert not any(line.lower().startswith(b"bcc:") for line in head.split(b"\r\n"))
    assert parsed["To"].addresses[0].addr_spec == "dana@x.example"
    assert parsed["From"].addresses[0].addr_spec == "support@shop.example"


def test_stand_in_ids_never_go_out() -> None:
    stand_in = raw_id(b"no message id")
    parsed, _, _ = headers_of(request(in_reply_to=stand_in, thread_key=stand_in))
    assert parsed["In-Reply-To"] is None and parsed["References"] is None


@pytest.mark.parametrize("address", ["dana@x.example\r\nBcc: a@b", "not-an-address", "a@b@c", ""])
def test_bad_recipients_are_refused(address: str) -> None:
    with pytest.raises(PermanentError):
        compose(SETTINGS, request(recipient=Person(address)), 0.0)


def test_quoting_below_the_reply() -> None:
    from connectors.email.mime import parse
    from connectors.email.smtp import quote_block

    parent = parse(b"From: Dana <dana@x.example>\nDate: Tue, 25 Nov 2025 10:00:00 +0000\n\n"
                   b"Where is my parcel?\n\nOrder 17")
    block = quote_block(parent)
    assert block == "On 2025-11-25 10:00 UTC, Dana wrote:\n> Where is my parcel?\n>\n> Order 17"
    msg, _ = compose(SETTINGS, request(text="It ships today."), 0.0, block)
    assert msg.get_content().startswith("It ships today.\n\nOn 2025-11-25 10:00 UTC, Dana wrote:\n> Where")


def test_reply_all_copies_only_plain_addresses_never_us_or_the_customer() -> None:
    cc = ["bob@x.example", "BOB@x.example", "support@shop.example", "dana@x.example",
          "evil@x.example\r\nBcc: boss@evil.example", "eve@y.example"]
    parsed, _, raw = headers_of(request(extra={"cc": cc}))
    assert parsed["Cc"] == "bob@x.example, eve@y.example"
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    assert not any(line.lower().startswith(b"bcc:") for line in head)
    assert headers_of(request())[0]["Cc"] is None  # a plain reply copies nobody
