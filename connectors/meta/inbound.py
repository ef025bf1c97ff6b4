"""Meta's conversations, messages and comments as inbound messages: shapes checked first, attachments
shown as labelled items (never fetched), page-scoped senders said so."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agentconsole.domain.models import Direction, InboundMessage, Kind, Person
from agentconsole.domain.sanitize import one_line
from connectors import shape
from connectors.http import MAX_BYTES
from connectors.meta.graph import parse_time, raw_of, repaired

FUTURE_SLACK = 86_400.0  # a time further ahead than this never moves a high-water mark
INVALID_UTF8_NOTE = "invalid UTF-8 in what Meta sent, shown as \ufffd"


@dataclass(frozen=True)
class MetaId(shape.Spec):
    """Meta's ids: post_comment pairs, m_… message ids, long base64-like Instagram ids."""

    _pattern = re.compile(r"^[A-Za-z0-9_.:$=+/-]{1,400}$")

    def check(self, value: Any, path: str) -> None:
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise shape.ShapeError(f"{path}: expected an id, got {type(value).__name__}")
        if isinstance(value, str) and not self._pattern.match(value):
            raise shape.ShapeError(f"{path}: {value[:40]!r} is not an id")


ID = MetaId()
TEXT = shape.Str(MAX_BYTES)  # longer texts are cut with a note by the store, never dropped
WHO = shape.Obj({"id": ID}, {"name": shape.Str(2000), "username": shape.Str(2000)})
LISTED = shape.Obj({}, {"data": shape.ListOf(shape.Anything(), 1000)})
MESSAGE = shape.Obj({"id": ID, "from": WHO}, {"message": TEXT, "created_time": shape.Anything(),
                                              "to": LISTED, "attachments": LISTED, "shares": LISTED,
                                              "sticker": shape.Str(4000), "story": shape.Anything()})
CONVERSATION = shape.Obj({"id": ID}, {"updated_time": shape.Anything(), "participants": LISTED,
                                      "messages": LISTED})
COMMENT = shape.Obj({"id": ID, "from": WHO}, {"message": TEXT, "text": TEXT, "username": shape.Str(2000),
                                 "created_time": shape.Anything(), "timestamp": shape.Anything(),
                                 "comments": LISTED, "replies": LISTED})
POST = shape.Obj({"id": ID}, {"message": TEXT, "caption": TEXT, "comments": LISTED})


@dataclass
class Mark:
    """A high-water mark: the newest plausible time read, the ids read at exactly that time, and ids
    read without a usable time (so neither comes twice)."""

    at: float | None = None
    ids: list[str] = field(default_factory=list)
    odd: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, value: Any) -> Mark:
        if not isinstance(value, dict):
            return cls()
        at = value.get("at")
        ids, odd = value.get("ids"), value.get("odd")
        return cls(float(at) if isinstance(at, (int, float)) and not isinstance(at, bool) else None,
                   [str(i) for i in ids][:200] if isinstance(ids, list) else [],
                   [str(i) for i in odd][-200:] if isinstance(odd, list) else [])

    def dump(self) -> dict[str, Any]:
        return {"at": self.at, "ids": self.ids[:200], "odd": self.odd[-200:]}

    def is_new(self, item_id: str, at: float | None) -> bool:
        if at is None:
            return item_id not in self.odd
        return self.at is None or at > self.at or (at == self.at and item_id not in self.ids)

    def advanced(self, seen: list[tuple[str, float | None]], now: float) -> Mark:
        """The mark after reading *seen* (id, time); implausible future times never count."""
        at, ids = self.at, list(self.ids)
        odd = list(self.odd)
        for item_id, when in seen:
            if when is None or when > now + FUTURE_SLACK:
                if item_id not in odd:
                    odd.append(item_id)
            elif at is None or when > at:
                at, ids = when, [item_id]
            elif when == at and item_id not in ids:
                ids.append(item_id)
        return Mark(at, ids, odd)


def readable(items: list[Any], spec: shape.Spec) -> list[dict[str, Any]]:
    return [item for item in items if shape.valid(item, spec)]


def listed(value: Any) -> list[Any]:
    data = value.get("data") if isinstance(value, dict) else None
    return data if isinstance(data, list) else []


def person(who: Mapping[str, Any], *, instagram: bool) -> Person:
    """A sender as Meta names them: an id scoped to this Page or account, never a global profile."""
    name = one_line(str(who.get("name") or ""), 200)
    username = one_line(str(who.get("username") or ""), 200)
    scope = "Instagram-scoped id: identifies them to this account" if instagram else \
        "page-scoped id: identifies them to this Page"
    return Person(external_id=str(who["id"]), handle=f"@{username}" if username else "",
                  display_name=name or username, bio=f"{scope} only; Meta shares no profile")


def attachment_labels(message: Mapping[str, Any]) -> list[str]:
    """Attachments, stickers, shares and story mentions as labels; nothing is fetched."""
    labels = []
    for item in listed(message.get("attachments")):
        if not isinstance(item, dict):
            continue
        kind = str(item.get("type") or item.get("mime_type") or "file")
        name = one_line(str(item.get("name") or ""), 80)
        if "story" in kind:
            labels.append("[story mention]")
        else:
            labels.append(f"[attachment: {one_line(kind, 40)}{' ' + name if name else ''}]")
    if message.get("sticker"):
        labels.append("[sticker]")
    for share in listed(message.get("shares")):
        link = one_line(str(share.get("link") or ""), 200) if isinstance(share, dict) else ""
        labels.append(f"[shared: {link}]" if link else "[shared post]")
    story = message.get("story")
    if isinstance(story, dict):
        labels.append("[story mention]" if "mention" in story else "[story reply]")
    return labels


def dm_message(message: dict[str, Any], conversation_id: str, customer_id: str, own_id: str, now: float,
               *, instagram: bool) -> tuple[InboundMessage, float | None]:
    """One DM as an inbound message in the thread ``dm:<customer id>``, and its plausible time."""
    fixed, bad = repaired(message)
    at = parse_time(fixed.get("created_time"))
    notes = [INVALID_UTF8_NOTE] if bad else []
    text = str(fixed.get("message") or "")
    labels = attachment_labels(fixed)
    if labels:
        text = (text + "\n" if text else "") + " ".join(labels)
    outgoing = str(fixed["from"]["id"]) == own_id
    sent_at = at
    if sent_at is None:
        sent_at = now
        notes.append(f"no readable creation time ({one_line(repr(fixed.get('created_time')), 40)});"
                     " time of fetch used")
    return InboundMessage(
        external_id=str(fixed["id"]), thread_key=f"dm:{customer_id}", kind=Kind.DM,
        author=person(fixed["from"], instagram=instagram), text=text, sent_at=sent_at,
        direction=Direction.OUT if outgoing else Direction.IN, raw=raw_of(message),
        parse_note="; ".join(notes),
        extra={"conversation_id": conversation_id, **({"source": "platform"} if outgoing else {})}), at


def comment_message(comment: dict[str, Any], thread: str, parent: str | None, own_id: str, subject: str, now: float,
                    *, instagram: bool) -> tuple[InboundMessage, float | None]:
    """One comment (or reply) as an inbound message of its top-level comment's thread."""
    fixed, bad = repaired(comment)
    at = parse_time(fixed.get("created_time") or fixed.get("timestamp"))
    notes = [INVALID_UTF8_NOTE] if bad else []
    who = fixed["from"]
    if instagram and fixed.get("username") and not who.get("username"):
        who = {**who, "username": fixed["username"]}
    outgoing = str(who.get("id")) == own_id
    sent_at = at
    if sent_at is None:
        sent_at = now
        notes.append(f"no readable creation time ({one_line(repr(fixed.get('created_time')), 40)});"
                     " time of fetch used")
    extra: dict[str, Any] = {"comment": True}
    if comment.get("can_reply_privately") is False:
        extra["can_reply_privately"] = False
    if outgoing:
        extra["source"] = "platform"
    return InboundMessage(
        external_id=str(fixed["id"]), thread_key=thread, kind=Kind.PUBLIC,
        author=person(who, instagram=instagram), text=str(fixed.get("message") or fixed.get("text") or ""),
        sent_at=sent_at, direction=Direction.OUT if outgoing else Direction.IN, subject=subject,
        in_reply_to=parent, raw=raw_of(comment), parse_note="; ".join(notes), extra=extra), at
