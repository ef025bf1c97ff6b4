"""Who else a reply-all on an email goes to: the To and Cc of the message answered, minus us and the sender."""

from __future__ import annotations

import re
from collections.abc import Iterable
from email import policy
from email.parser import BytesHeaderParser
from email.utils import getaddresses

# The address shape the email connector accepts in a header: anything else is left out, not sent.
_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9.-]{1,253}$")
_UNFOLD = re.compile(r"\r?\n[ \t]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
MAX_CC = 50  # a message to a whole mailing list is not answered to every member


def cc_for(raw: bytes | str | None, *, sender: str, own: Iterable[str]) -> list[str]:
    """The plain addresses of *raw*'s To and Cc headers, lower-cased, in order, without duplicates,
    without *sender* and without our own addresses *own*; empty when *raw* has no readable headers."""
    if not raw:
        return []
    data = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else bytes(raw)
    try:
        headers = BytesHeaderParser(policy=policy.compat32).parsebytes(data)
        values = [_UNFOLD.sub(" ", str(v)) for name in ("To", "Cc") for v in headers.get_all(name, [])]
        # A header holding control characters is not read at all: the parser would guess a part of it.
        pairs = getaddresses([v for v in values if not _CONTROL.search(v)])
    except Exception:  # a header the parser cannot read gives no one to copy, never a wrong one
        return []
    skip = {sender.strip().lower(), *(a.strip().lower() for a in own)}
    out: list[str] = []
    for _, address in pairs:
        address = address.strip().lower()
        if address and address not in skip and address not in out and _ADDRESS.match(address):
            out.append(address)
    return out[:MAX_CC]
