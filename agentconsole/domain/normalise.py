"""The one door into the core for inbound items: every field validated and normalised, nothing raises."""

from __future__ import annotations

import math
import re
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from agentconsole.domain.models import Direction, InboundMessage, Kind, Person
from agentconsole.domain.sanitize import clean, findings

EARLIEST = 0.0  # 1970-01-01: a time before this is a bug or an attack, not a customer message
FUTURE_SLACK = 86_400.0  # a clock a day ahead is plausible; more is clamped to the time of fetch
MAX_TEXT = 1_048_576  # characters of text kept for display and search; the raw payload keeps the rest
MAX_KEY = 1_000  # characters of an id or thread key
QUARANTINE_PREFIX = "quarantine:"
_SURROGATES = re.compile("[\ud800-\udfff]")


def valid_str(value: Any, limit: int | None = None) -> str:
    """*value* as a str SQLite can store: lone surrogates replaced, cut at *limit*; never raises."""
    text: str = value if type(value) is str else ("" if value is None else str(value))
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = _SURROGATES.sub("\ufffd", text)
    return text[:limit] if limit is not None and len(text) > limit else text


def raw_bytes(raw: Any) -> bytes | None:
    """The raw payload as bytes, exactly as received when it came as bytes."""
    if raw is None or type(raw) is bytes:
        return raw
    if isinstance(raw, (bytearray, memoryview)):
        return bytes(raw)
    text = raw if isinstance(raw, str) else repr(raw)
    try:  # text decoded with surrogateescape goes back to its original bytes
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def check_time(value: Any, now: float) -> tuple[float, str]:
    """(a usable epoch time, "" or a note saying why *value* was replaced by the time of fetch)."""
    try:
        t = float(value)
    except (TypeError, ValueError, OverflowError):
        return now, f"invalid date ({_short(value)}); the time of fetch is shown"
    if EARLIEST <= t <= now + FUTURE_SLACK:  # NaN fails both comparisons
        return t, ""
    if math.isnan(t) or math.isinf(t):
        what = "not a number" if math.isnan(t) else "infinite"
    else:
        what = _iso(t)
    return now, f"date out of range ({what}); the time of fetch is shown"


def normalise(msg: InboundMessage, now: float) -> InboundMessage:
    """*msg* with every field storable and displayable, and a note on what was changed.

    Returns *msg* itself in the common case (nothing to change) so the ingest hot path stays cheap;
    an item that cannot be made into a message at all comes back quarantined (see quarantine()).
    """
    try:
        return _normalise(msg, now)
    except Exception as exc:  # whatever the item is, the batch and the cursor go on without it
        return quarantine(msg, now, _reason(exc))


def _normalise(msg: InboundMessage, now: float) -> InboundMessage:
    text = msg.text
    sent_at = msg.sent_at
    ok = (type(text) is str and len(text) <= MAX_TEXT and type(sent_at) is float
          and EARLIEST <= sent_at <= now + FUTURE_SLACK and msg.external_id and _key_ok(msg.external_id)
          and _key_ok(msg.thread_key) and type(msg.author) is Person and _key_ok(msg.author.external_id)
          and (msg.in_reply_to is None or _key_ok(msg.in_reply_to)) and type(msg.parse_note) is str
          and type(msg.subject) is str and (msg.raw is None or type(msg.raw) is bytes)
          and _recipient_ok(msg.extra))
    if ok:
        cleaned = clean(text)
        if cleaned is text:
            return msg
    notes: list[str] = []
    changes: dict[str, Any] = {}
    raw = msg.raw
    text = valid_str(text) if text is not None else ""
    if len(text) > MAX_TEXT:
        if raw is None:
            raw = text.encode("utf-8", "surrogatepass")
        notes.append(f"text cut to {MAX_TEXT:,} of its {len(text):,} characters for display and search;"
                     " the raw payload keeps it whole")
        text = text[:MAX_TEXT]
    notes.extend(findings(msg.text if type(msg.text) is str else text))
    changes["text"] = clean(text)
    sent_at, time_note = check_time(sent_at, now)
    if time_note:
        notes.append(time_note)
    changes["sent_at"] = sent_at
    external_id = valid_str(msg.external_id, MAX_KEY)
    if not external_id:  # made from the content, so fetching the same item again finds it again
        seed = raw_bytes(raw) or text.encode("utf-8", "surrogatepass")
        external_id = _content_id(seed)
        notes.append("no id from the platform; one was made from its content")
    changes["external_id"] = external_id
    changes["thread_key"] = valid_str(msg.thread_key, MAX_KEY) or external_id
    changes["author"] = _person(msg.author)
    changes["in_reply_to"] = None if msg.in_reply_to is None else valid_str(msg.in_reply_to, MAX_KEY)
    changes["subject"] = valid_str(msg.subject)
    changes["kind"] = Kind(msg.kind)
    changes["direction"] = Direction(msg.direction)
    if not isinstance(msg.extra, dict):
        raise TypeError("extra is not a mapping")
    recipient = msg.extra.get("recipient")
    if recipient is not None:
        changes["extra"] = {**msg.extra, "recipient": _person(recipient)}
    changes["raw"] = raw_bytes(raw)
    old_note = valid_str(msg.parse_note)
    changes["parse_note"] = "; ".join(([old_note] if old_note else []) + notes)
    return replace(msg, **changes)


def _content_id(data: bytes) -> str:
    import hashlib  # here: only ingest makes ids, and the console's start reads without it

    return "sha256." + hashlib.sha256(data).hexdigest()[:32]


def quarantine(item: Any, now: float, reason: str) -> InboundMessage:
    """A stand-in for an item that cannot be read: its raw bytes kept, flagged, in a thread of its own."""
    raw = getattr(item, "raw", None)
    try:
        raw = raw_bytes(raw) if raw is not None else repr(item).encode("utf-8", "replace")
    except Exception:
        raw = b""
    found = getattr(item, "external_id", None)
    external_id = valid_str(found, MAX_KEY) if isinstance(found, (str, int)) and found != "" else ""
    if not external_id:
        external_id = _content_id(raw or b"")
    return InboundMessage(
        external_id=external_id, thread_key=QUARANTINE_PREFIX + external_id, kind=Kind.PUBLIC,
        author=Person(external_id=QUARANTINE_PREFIX + "unknown", display_name="unreadable item"),
        text="", sent_at=now, raw=raw, parse_note=f"could not be read: {reason}; the raw payload is kept")


def _person(person: Any) -> Person:
    if type(person) is not Person:
        raise TypeError("the author is not a Person")
    if _key_ok(person.external_id) and all(type(v) is str for v in (person.handle, person.display_name,
                                                                       person.bio, person.location)):
        return person  # its text fields are cleaned where they are stored
    return Person(external_id=valid_str(person.external_id, MAX_KEY), handle=valid_str(person.handle),
                  display_name=valid_str(person.display_name), bio=valid_str(person.bio),
                  location=valid_str(person.location))


def _recipient_ok(extra: Any) -> bool:
    if type(extra) is not dict:
        return False
    recipient = extra.get("recipient")
    return recipient is None or (type(recipient) is Person and _key_ok(recipient.external_id))


def _key_ok(value: Any) -> bool:
    return type(value) is str and len(value) <= MAX_KEY and (value.isascii() or _encodes(value))


def _encodes(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _iso(t: float) -> str:
    try:
        return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d")
    except (OverflowError, OSError, ValueError):
        return f"{t:.4g}"


def _reason(exc: Exception) -> str:
    try:
        detail = valid_str(str(exc), 120)
    except Exception:  # an exception whose message cannot be made is still a reason
        detail = ""
    return f"{detail} ({type(exc).__name__})" if detail else type(exc).__name__


def _short(value: Any) -> str:
    return valid_str(repr(value), 40)
