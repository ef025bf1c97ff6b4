"""Heard posts (listening): what an account's keywords and hashtags found, stored once per (account,
external id) together with the listening cursor, listed newest first, promoted or dismissed."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from agentconsole.channels.contract import HeardPost, Reply
from agentconsole.domain.models import InboundMessage, Kind, Person
from agentconsole.domain.normalise import normalise
from agentconsole.domain.sanitize import one_line

STREAM = "listen"  # the sync_cursors stream that holds each account's listening cursor
_COLUMNS = ("h.id, h.account_id, a.name, a.channel, h.external_id, h.author_id, h.author_handle, h.author_name,"
            " h.text, h.url, h.matched, h.reply, h.receives_dm, h.sent_at, h.heard_at, h.state, h.conversation_id")


class HeardState(StrEnum):
    NEW = "new"
    PROMOTED = "promoted"  # it became a conversation (conversation_id)
    DISMISSED = "dismissed"


@dataclass(frozen=True, slots=True)
class HeardRow:
    """One heard post as the Heard view lists it (texts cleaned at storing; shown through safe_text)."""

    id: int
    account_id: int
    account_name: str
    channel: str
    external_id: str
    author_id: str
    author_handle: str
    author_name: str
    text: str
    url: str
    matched: str
    reply: Reply
    receives_dm: bool | None
    sent_at: float
    heard_at: float
    state: HeardState
    conversation_id: int | None


def _row(r: Sequence[Any]) -> HeardRow:
    return HeardRow(int(r[0]), int(r[1]), str(r[2]), str(r[3]), str(r[4]), str(r[5]), str(r[6]), str(r[7]),
                    str(r[8]), str(r[9]), str(r[10]), Reply(r[11]), None if r[12] is None else bool(r[12]),
                    float(r[13]), float(r[14]), HeardState(r[15]), None if r[16] is None else int(r[16]))


def cursor(conn: sqlite3.Connection, account_id: int) -> str | None:
    row = conn.execute("SELECT cursor FROM sync_cursors WHERE account_id = ? AND stream = ?",
                       (account_id, STREAM)).fetchone()
    return None if row is None else row[0]


def store_batch(conn: sqlite3.Connection, account_id: int, posts: Sequence[HeardPost], new_cursor: str | None,
                now: float) -> list[int]:
    """Store a listening round's posts and its cursor (the caller holds the transaction); a post already
    heard, or already in the inbox as a message (a mention), is skipped. Returns the new rows' ids."""
    ids: list[int] = []
    for post in posts:
        msg = normalise(post.message, now)
        if msg.parse_note.startswith("quarantined"):
            continue  # an item that cannot be read at all is not brand talk worth showing
        if conn.execute("SELECT 1 FROM messages WHERE account_id = ? AND external_id = ?",
                        (account_id, msg.external_id)).fetchone():
            continue
        raw = msg.raw.decode("utf-8", "replace") if isinstance(msg.raw, bytes) else None
        extra = {k: v for k, v in msg.extra.items() if isinstance(v, (str, int, float, bool))}
        row = conn.execute(
            "INSERT INTO heard_posts(account_id, external_id, thread_key, author_id, author_handle, author_name,"
            " text, url, matched, reply, receives_dm, in_reply_to, raw, parse_note, extra, sent_at, heard_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (account_id, external_id) DO NOTHING"
            " RETURNING id",
            (account_id, msg.external_id, msg.thread_key, msg.author.external_id, one_line(msg.author.handle, 200),
             one_line(msg.author.display_name, 200), msg.text, one_line(post.url, 2000),
             one_line(post.matched, 200), str(post.reply),
             None if post.receives_dm is None else int(post.receives_dm), msg.in_reply_to, raw, msg.parse_note,
             json.dumps(extra), msg.sent_at, now)).fetchone()
        if row is not None:
            ids.append(int(row[0]))
    conn.execute(
        "INSERT INTO sync_cursors(account_id, stream, cursor, updated_at) VALUES (?,?,?,?)"
        " ON CONFLICT(account_id, stream) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
        (account_id, STREAM, new_cursor, now))
    return ids


def listed(conn: sqlite3.Connection, state: HeardState = HeardState.NEW, limit: int = 200) -> list[HeardRow]:
    """Heard posts in *state*, newest first."""
    rows = conn.execute(f"SELECT {_COLUMNS} FROM heard_posts h JOIN accounts a ON a.id = h.account_id"
                        " WHERE h.state = ? ORDER BY h.sent_at DESC, h.id DESC LIMIT ?",
                        (str(state), limit)).fetchall()
    return [_row(r) for r in rows]


def count(conn: sqlite3.Connection, state: HeardState = HeardState.NEW) -> int:
    return int(conn.execute("SELECT count(*) FROM heard_posts WHERE state = ?", (str(state),)).fetchone()[0])


def get(conn: sqlite3.Connection, heard_id: int) -> HeardRow | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM heard_posts h JOIN accounts a ON a.id = h.account_id"
                       " WHERE h.id = ?", (heard_id,)).fetchone()
    return None if row is None else _row(row)


def as_message(conn: sqlite3.Connection, heard_id: int) -> InboundMessage | None:
    """The inbox message a heard post becomes when promoted (as the connector built it)."""
    r = conn.execute("SELECT external_id, thread_key, author_id, author_handle, author_name, text, in_reply_to,"
                     " raw, parse_note, extra, sent_at, url, receives_dm FROM heard_posts WHERE id = ?",
                     (heard_id,)).fetchone()
    if r is None:
        return None
    extra = json.loads(r[9] or "{}")
    extra["heard"] = True
    if r[11]:
        extra.setdefault("url", r[11])
    if r[12] is not None:
        extra.setdefault("receives_your_dm", bool(r[12]))
    return InboundMessage(external_id=r[0], thread_key=r[1], kind=Kind.PUBLIC, author=Person(r[2], r[3], r[4]),
                          text=r[5], sent_at=float(r[10]), in_reply_to=r[6],
                          raw=r[7].encode("utf-8") if r[7] is not None else None, parse_note=r[8], extra=extra)


def conversation_of(conn: sqlite3.Connection, account_id: int, external_id: str) -> int | None:
    """The conversation that holds the message with this id on this account (after a promotion)."""
    row = conn.execute("SELECT conversation_id FROM messages WHERE account_id = ? AND external_id = ?",
                       (account_id, external_id)).fetchone()
    return None if row is None else int(row[0])


def decide(conn: sqlite3.Connection, heard_id: int, state: HeardState, conversation_id: int | None,
           agent_id: int | None, now: float) -> bool:
    """Mark a heard post promoted or dismissed; False when it was already decided (by another console)."""
    cur = conn.execute("UPDATE heard_posts SET state = ?, conversation_id = ?, decided_by = ?, decided_at = ?"
                       " WHERE id = ? AND state = ?",
                       (str(state), conversation_id, agent_id, now, heard_id, str(HeardState.NEW)))
    return cur.rowcount == 1


def save_terms(conn: sqlite3.Connection, account_id: int, listen: dict[str, Any]) -> None:
    """Keep *listen* (keywords, hashtags, interval) in the account's settings; "" or empty removes it."""
    row = conn.execute("SELECT settings FROM accounts WHERE id = ?", (account_id,)).fetchone()
    settings = json.loads(row[0] or "{}") if row is not None else {}
    if listen:
        settings["listen"] = listen
    else:
        settings.pop("listen", None)
    conn.execute("UPDATE accounts SET settings = ? WHERE id = ?", (json.dumps(settings), account_id))


def start_wait(conn: sqlite3.Connection, conversation_id: int, now: float) -> None:
    """A promoted post's conversation waits from its promotion, not from when it was posted: it was not
    addressed to us, so no customer waited on us before."""
    conn.execute("UPDATE conversations SET waiting_since = ?, first_customer_at = ? WHERE id = ?"
                 " AND needs_reply = 1 AND (SELECT count(*) FROM messages WHERE conversation_id = ?) = 1",
                 (now, now, conversation_id, conversation_id))


def reply_refused(conn: sqlite3.Connection, conversation_id: int) -> bool:
    """Whether a reply in this conversation would answer a heard post its platform will not let us reply
    to (X: one that did not @mention or quote us): a reply goes to the newest customer message."""
    row = conn.execute(
        "SELECT h.reply FROM messages m JOIN heard_posts h ON h.account_id = m.account_id"
        " AND h.external_id = m.external_id WHERE m.id = (SELECT id FROM messages WHERE conversation_id = ?"
        " AND direction = 'in' ORDER BY sent_at DESC, id DESC LIMIT 1)", (conversation_id,)).fetchone()
    return row is not None and row[0] == str(Reply.REFUSED)
