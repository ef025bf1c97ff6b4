"""The answers-from-history index: each customer question paired with our reply to it, kept in its own
FTS5 table and brought up to date from a cursor on message ids; looked up by bm25."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from agentconsole.storage.ingest import AUTOMATIC_SOURCES
from agentconsole.storage.postgres import on_postgres

QUESTION_CHARS = 1000  # what a question is searched by: the customer's words before our reply, cut here
_CHUNK = 500


def refresh(conn: sqlite3.Connection) -> int:
    """Index the questions answered since the last refresh; returns how many pairs were (re)built.

    Conversations that got any message since the cursor are paired again from scratch: a late customer
    message or an edit can change which words a reply answered."""
    row = conn.execute("SELECT last_message_id FROM knowledge_state WHERE id = 1").fetchone()
    cursor = row[0] if row else 0
    newest = conn.execute("SELECT max(id) FROM messages").fetchone()[0] or 0
    if newest <= cursor:
        return 0
    touched = [r[0] for r in conn.execute(
        "SELECT DISTINCT conversation_id FROM messages WHERE id > ? AND id <= ?", (cursor, newest))]
    built = 0
    pg = on_postgres(conn)  # there the question is a column of its pair, searched by a generated tsvector
    for start in range(0, len(touched), _CHUNK):
        chunk = touched[start:start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        old = [r[0] for r in conn.execute(
            f"SELECT id FROM knowledge_pairs WHERE conversation_id IN ({marks})", chunk)]
        if old and not pg:
            conn.executemany("DELETE FROM knowledge_fts WHERE rowid = ?", [(i,) for i in old])
        if old:
            conn.execute(f"DELETE FROM knowledge_pairs WHERE conversation_id IN ({marks})", chunk)
        rows = conn.execute(
            "SELECT conversation_id, id, direction, text, sent_at, COALESCE(source, '') FROM messages"
            f" WHERE conversation_id IN ({marks}) AND id <= ? ORDER BY conversation_id, sent_at, id",
            (*chunk, newest))
        pairs = list(_pairs(rows))
        if pairs and pg:
            first = (conn.execute("SELECT max(id) FROM knowledge_pairs").fetchone()[0] or 0) + 1
            conn.executemany("INSERT INTO knowledge_pairs(id, conversation_id, answer_id, asked_at, question)"
                             " VALUES (?,?,?,?,?)", [(first + i, *p) for i, p in enumerate(pairs)])
            built += len(pairs)
        elif pairs:
            first = (conn.execute("SELECT max(id) FROM knowledge_pairs").fetchone()[0] or 0) + 1
            conn.executemany("INSERT INTO knowledge_pairs(id, conversation_id, answer_id, asked_at)"
                             " VALUES (?,?,?,?)", [(first + i, p[0], p[1], p[2]) for i, p in enumerate(pairs)])
            conn.executemany("INSERT INTO knowledge_fts(rowid, question) VALUES (?,?)",
                             [(first + i, p[3]) for i, p in enumerate(pairs)])
            built += len(pairs)
    conn.execute("INSERT INTO knowledge_state(id, last_message_id) VALUES (1, ?)"
                 " ON CONFLICT(id) DO UPDATE SET last_message_id = excluded.last_message_id", (newest,))
    return built


def _pairs(rows: Iterable[tuple[Any, ...]]) -> Iterable[tuple[int, int, float, str]]:
    """(conversation, our reply's message id, when asked, the question) for every reply of ours that
    followed customer messages: those messages since our previous reply are its question."""
    conversation = None
    asked: list[str] = []
    asked_at = 0.0
    for conversation_id, message_id, direction, text, sent_at, source in rows:
        if conversation_id != conversation:
            conversation, asked = conversation_id, []
        if direction == "in":
            if not asked:
                asked_at = sent_at
            asked.append(text)
        elif asked and source not in AUTOMATIC_SOURCES and text.strip():
            yield conversation_id, message_id, asked_at, " ".join(asked)[:QUESTION_CHARS]
            asked = []


@dataclass(frozen=True, slots=True)
class Hit:
    pair_id: int
    conversation_id: int
    score: float  # bm25: lower is better
    answer: str
    answered_at: float
    channel: str
    customer_name: str
    customer_handle: str
    question: str


def pair_count(conn: sqlite3.Connection) -> int:
    count: int = conn.execute("SELECT count(*) FROM knowledge_pairs").fetchone()[0]
    return count


def candidates(conn: sqlite3.Connection, any_terms: str, all_terms: str) -> list[tuple[int, str, bool]]:
    """(pair id, question, holds every term) for the newest questions holding every term and the newest
    holding any. Each is read in rowid order, which stops early: ranking every match of a common word by
    bm25 (or asking FTS5 for the bm25 of given rows) costs seconds at a million messages."""
    if on_postgres(conn):
        return _pg_candidates(conn, any_terms, all_terms)
    found = [(r[0], r[1], True) for r in conn.execute(
        "SELECT rowid, question FROM knowledge_fts WHERE knowledge_fts MATCH ? ORDER BY rowid DESC LIMIT ?",
        (all_terms, ALL_CANDIDATES))]
    seen = {f[0] for f in found}
    found += [(r[0], r[1], False) for r in conn.execute(
        "SELECT rowid, question FROM knowledge_fts WHERE knowledge_fts MATCH ? ORDER BY rowid DESC LIMIT ?",
        (any_terms, ANY_CANDIDATES)) if r[0] not in seen]
    return found


def hits(conn: sqlite3.Connection, ranked: list[tuple[int, float]], exclude_conversation: int | None
         ) -> list[Hit]:
    """The pairs of *ranked* (pair id, score; lower is better), in that order, with their replies."""
    if not ranked:
        return []
    if on_postgres(conn):
        return _pg_hits(conn, ranked, exclude_conversation)
    scores = dict(ranked)
    marks = ",".join("?" * len(scores))
    rows = conn.execute(
        "SELECT p.id, p.conversation_id, m.text, m.sent_at, c.channel, COALESCE(ct.display_name, ''),"
        " COALESCE(i.handle, ''), f.question FROM knowledge_pairs p JOIN messages m ON m.id = p.answer_id"
        " JOIN knowledge_fts f ON f.rowid = p.id"
        " JOIN conversations c ON c.id = p.conversation_id LEFT JOIN contacts ct ON ct.id = c.contact_id"
        f" LEFT JOIN identities i ON i.id = c.identity_id WHERE p.id IN ({marks}) AND p.conversation_id IS NOT ?",
        (*scores, exclude_conversation)).fetchall()
    found = [Hit(r[0], r[1], scores[r[0]], r[2], r[3], r[4], r[5], r[6], r[7]) for r in rows]
    found.sort(key=lambda h: (h.score, -h.pair_id))
    return found


# Measured at 1M messages (399k questions, benchmarks/knowledge_bench.py): 200 + 300 candidates cost
# 27 ms CPU a lookup at p95, 50 + 80 cost 9 ms, with the same top-1 / top-3 on the labelled set (alone
# and inside that workspace) and on the demo.
ALL_CANDIDATES = 50
ANY_CANDIDATES = 80


# ---------------------------------------------------------------- PostgreSQL: the question's tsvector

_QUOTED = re.compile(r'"((?:[^"]|"")*)"')


def _tsquery(fts5: str, join: str) -> str:
    """An FTS5 expression of quoted terms (as agentconsole.knowledge builds them) as to_tsquery text."""
    terms = [t.replace('""', '"') for t in _QUOTED.findall(fts5)]
    return f" {join} ".join("'" + t.replace("'", "''") + "'" for t in terms if t.strip())


def _pg_candidates(conn: sqlite3.Connection, any_terms: str, all_terms: str) -> list[tuple[int, str, bool]]:
    found: list[tuple[int, str, bool]] = []
    seen: set[int] = set()
    for query, limit, every in ((_tsquery(all_terms, "&"), ALL_CANDIDATES, True),
                                (_tsquery(any_terms, "|"), ANY_CANDIDATES, False)):
        if not query:
            continue
        for r in conn.execute("SELECT id, question FROM knowledge_pairs"
                              " WHERE search @@ to_tsquery('agentconsole_stem', ?) ORDER BY id DESC LIMIT ?",
                              (query, limit)):
            if r[0] not in seen:
                seen.add(r[0])
                found.append((r[0], r[1], every))
    return found


def _pg_hits(conn: sqlite3.Connection, ranked: list[tuple[int, float]], exclude_conversation: int | None
             ) -> list[Hit]:
    scores = dict(ranked)
    marks = ",".join("?" * len(scores))
    rows = conn.execute(
        "SELECT p.id, p.conversation_id, m.text, m.sent_at, c.channel, COALESCE(ct.display_name, ''),"
        " COALESCE(i.handle, ''), p.question FROM knowledge_pairs p JOIN messages m ON m.id = p.answer_id"
        " JOIN conversations c ON c.id = p.conversation_id LEFT JOIN contacts ct ON ct.id = c.contact_id"
        f" LEFT JOIN identities i ON i.id = c.identity_id WHERE p.id IN ({marks})"
        " AND p.conversation_id IS DISTINCT FROM CAST(? AS BIGINT)", (*scores, exclude_conversation)).fetchall()
    found = [Hit(r[0], r[1], scores[r[0]], r[2], r[3], r[4], r[5], r[6], r[7]) for r in rows]
    found.sort(key=lambda h: (h.score, -h.pair_id))
    return found
