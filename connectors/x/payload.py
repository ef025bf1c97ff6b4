"""X's JSON read defensively: both field spellings, both DM shapes, encrypted chats, and one bad item
spoiling only itself."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agentconsole.domain.models import Direction, InboundMessage, Kind, Person
from agentconsole.domain.normalise import valid_str
from agentconsole.domain.sanitize import clean, one_line
from connectors import shape
from connectors.http import MAX_BYTES, MalformedResponse

log = logging.getLogger(__name__)

INVALID_UTF8_NOTE = "invalid UTF-8 in what X sent, shown as \ufffd"
SURROGATE_NOTE = "a lone surrogate (not a character) in what X sent, shown as \ufffd"
ENCRYPTED_TEXT = ("Encrypted X chat: agentconsole cannot read it. Open the X app to read and answer this "
                  "conversation.")
_SNOWFLAKE = re.compile(r"^[0-9]{1,19}$")
_ESCAPED = re.compile("[\udc80-\udcff]")


@dataclass(frozen=True)
class XId(shape.Spec):
    """An X id: a decimal snowflake below 2^63 (as X sends it, a string)."""

    def check(self, value: Any, path: str) -> None:
        text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
        if not isinstance(text, str) or not _SNOWFLAKE.match(text) or int(text) >= 2 ** 63:
            raise shape.ShapeError(f"{path}: {str(value)[:40]!r} is not an X id")


ID = XId()
TEXT = shape.Str(MAX_BYTES)
MEDIA_KEYS = shape.Obj({}, {"media_keys": shape.ListOf(shape.Str(100), 100)})
REFERENCES = shape.ListOf(shape.Obj({"type": shape.Str(40), "id": ID}), 50)
USER = shape.Obj({"id": ID}, {"username": shape.Str(200), "name": shape.Str(20_000),
                              "description": shape.Str(200_000), "location": shape.Str(20_000)})
POST = shape.Obj({"id": ID, "text": TEXT},
                 {"author_id": ID, "conversation_id": ID, "created_at": shape.Str(100), "in_reply_to_user_id": ID,
                  "referenced_tweets": REFERENCES, "referenced_posts": REFERENCES, "attachments": MEDIA_KEYS})
DM_EVENT = shape.Obj({"id": ID, "event_type": shape.Str(40)},
                     {"text": TEXT, "sender_id": ID, "dm_conversation_id": shape.Str(100),
                      "created_at": shape.Str(100), "participant_ids": shape.ListOf(ID, 100),
                      "attachments": MEDIA_KEYS})
LEGACY_DM = shape.Obj({"id": ID, "type": shape.Str(40),
                       "message_create": shape.Obj({"sender_id": ID}, {
                           "target": shape.Obj({}, {"recipient_id": ID}),
                           "message_data": shape.Obj({}, {"text": TEXT})})},
                      {"created_timestamp": shape.Anything()})
CHAT = shape.Obj({"id": shape.Id(), "sender_id": ID, "conversation_id": shape.Str(100)})
MEDIA = shape.Obj({"media_key": shape.Str(100)}, {"type": shape.Str(40), "url": shape.Str(4000),
                                                  "preview_image_url": shape.Str(4000)})


# ---------------------------------------------------------------------- bytes to objects

def decode(body: bytes, what: str) -> Any:
    """One JSON document; invalid UTF-8 is kept as escapes so it spoils only the strings it is in."""
    try:
        return json.loads(body.decode("utf-8", "surrogateescape"))
    except ValueError as exc:
        raise MalformedResponse(f"X sent a non-JSON answer on {what}") from exc


def repaired(value: Any) -> tuple[Any, bool]:
    """*value* with every string valid Unicode, and whether any was not (bad bytes or lone surrogates)."""
    if isinstance(value, str):
        fixed = valid_str(value)
        return fixed, fixed is not value and fixed != value
    if isinstance(value, list):
        pairs = [repaired(v) for v in value]
        return [v for v, _ in pairs], any(b for _, b in pairs)
    if isinstance(value, dict):
        out, bad = {}, False
        for k, v in value.items():
            fixed, b = repaired(v)
            out[valid_str(k) if isinstance(k, str) else k] = fixed
            bad = bad or b
        return out, bad
    return value, False


@dataclass(frozen=True)
class Item:
    """One object from a page: repaired, its raw JSON as X sent it (bytes), what decoding noticed."""

    obj: dict[str, Any]
    raw: bytes
    notes: tuple[str, ...] = ()


def items(values: Any, spec: shape.Spec, what: str) -> list[Item]:
    """The readable objects of *values* (a page's list); unreadable ones are logged and left out, and a
    list of which none is readable is a malformed answer, not an empty one."""
    if values is None:
        return []
    if not isinstance(values, list) or len(values) > 1000:
        raise MalformedResponse(f"X sent an unexpected {what} list")
    good: list[Item] = []
    for value in values:
        fixed, bad = repaired(value)
        if not shape.valid(fixed, spec):
            continue
        raw = json.dumps(value, ensure_ascii=True).encode("ascii")  # lone surrogates survive as escapes
        notes = ((INVALID_UTF8_NOTE if _has_escaped_bytes(value) else SURROGATE_NOTE),) if bad else ()
        good.append(Item(fixed, raw, notes))
    if len(good) < len(values):
        log.warning("X sent %d unreadable %s(s) of %d; they are skipped", len(values) - len(good), what,
                    len(values))
        if not good:
            raise MalformedResponse(f"X sent {len(values)} {what}s and none could be read")
    return good


def _has_escaped_bytes(value: Any) -> bool:
    if isinstance(value, str):
        return bool(_ESCAPED.search(value))
    if isinstance(value, list):
        return any(_has_escaped_bytes(v) for v in value)
    if isinstance(value, dict):
        return any(_has_escaped_bytes(v) for v in value.values())
    return False


def page(body: bytes, what: str) -> dict[str, Any]:
    data = decode(body, what)
    if not isinstance(data, dict):
        raise MalformedResponse(f"X sent an unexpected answer on {what}: not an object")
    return data


def includes(data: dict[str, Any]) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """(users by id, media by key) from a page's expansions; unreadable entries are left out."""
    raw_inc = data.get("includes")
    inc: dict[str, Any] = raw_inc if isinstance(raw_inc, dict) else {}
    users, media = {}, {}
    for user in inc.get("users") or [] if isinstance(inc.get("users"), list) else []:
        fixed, _ = repaired(user)
        if shape.valid(fixed, USER):
            users[str(fixed["id"])] = fixed
    for entry in inc.get("media") or [] if isinstance(inc.get("media"), list) else []:
        fixed, _ = repaired(entry)
        if shape.valid(fixed, MEDIA):
            media[str(fixed["media_key"])] = fixed
    return users, media


def legacy_users(payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The stream's ``users`` map ({id: {"data": user}} or {id: user}) as v2 users by id."""
    found: dict[str, dict[str, Any]] = {}
    users = payload.get("users")
    if not isinstance(users, dict):
        return found
    for uid, entry in list(users.items())[:1000]:
        user = entry.get("data", entry) if isinstance(entry, dict) else None
        fixed, _ = repaired(user)
        if isinstance(fixed, dict):
            fixed = {**fixed, "id": str(fixed.get("id") or uid)}
            fixed.setdefault("username", fixed.get("screen_name") or "")
            if shape.valid(fixed, USER):
                found[str(fixed["id"])] = fixed
    return found


# ---------------------------------------------------------------------- values

def parse_time(value: Any) -> float | None:
    """An ISO 8601 time (v2) or epoch milliseconds (the legacy DM shape); None when unreadable."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value) / 1000.0
        return seconds if seconds == seconds and abs(seconds) < 1e11 else None
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return parse_time(int(text))
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except (ValueError, OverflowError):
        return None


def references(post: dict[str, Any]) -> list[dict[str, Any]]:
    """referenced_tweets (the guides, the stream) or referenced_posts (the OpenAPI since v2.167)."""
    refs = post.get("referenced_tweets") or post.get("referenced_posts") or []
    return [r for r in refs if isinstance(r, dict)]


def replied_to(post: dict[str, Any]) -> str | None:
    return next((str(r["id"]) for r in references(post) if r.get("type") == "replied_to"), None)


def person(user: dict[str, Any] | None, uid: str) -> Person:
    if not user:
        return Person(external_id=uid)
    username = str(user.get("username") or "")
    return Person(external_id=str(user.get("id") or uid), handle=one_line("@" + username, 200) if username else "",
                  display_name=one_line(user.get("name") or "", 200),
                  bio=clean(str(user.get("description") or ""))[:1000],
                  location=one_line(user.get("location") or "", 200))


def attachments(obj: dict[str, Any], media: dict[str, dict[str, Any]]) -> list[str]:
    """Attachment lines for display (type and link); media is never fetched."""
    keys = (obj.get("attachments") or {}).get("media_keys") or []
    lines = []
    for key in keys[:20]:
        entry = media.get(str(key)) or {}
        link = entry.get("url") or entry.get("preview_image_url") or ""
        lines.append(f"[{entry.get('type') or 'media'}] {link}".rstrip())
    return lines


def dm_key(conversation_id: str) -> str:
    return "dm:" + conversation_id


def pair_id(a: str, b: str) -> str:
    """X's one-to-one conversation id: the two user ids, smaller first."""
    first, second = sorted((a, b), key=lambda v: (len(v), v))
    return f"{first}-{second}"


def with_attachments(text: str, lines: list[str]) -> str:
    return "\n".join([text, *lines]) if lines else text


def encrypted_chat(item: Item, own_id: str, now: float) -> InboundMessage:
    """An XChat (chat.received) event: ciphertext, shown as a conversation to answer in the X app."""
    chat = item.obj
    sender = str(chat["sender_id"])
    sent_at = parse_time(chat.get("created_at_msec"))
    notes = list(item.notes)
    if sent_at is None:
        sent_at = now
        notes.append("no readable creation time; time of arrival used")
    return InboundMessage(
        external_id="xchat:" + str(chat["id"]), thread_key="xchat:" + str(chat["conversation_id"]), kind=Kind.DM,
        author=Person(external_id=sender), text=ENCRYPTED_TEXT, sent_at=sent_at,
        direction=Direction.OUT if sender == own_id else Direction.IN, raw=item.raw,
        parse_note="; ".join(notes), extra={"encrypted": True, "answer_in": "the X app"})
