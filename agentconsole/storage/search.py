"""Full-text search: what a person types turned into an FTS5 query, and the word list that keeps a
prefix query as cheap as an exact one at any size."""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from agentconsole.domain.normalise import valid_str
from agentconsole.domain.sanitize import clean

# A prefix is expanded into the indexed words that start with it (search_terms, every word FTS5 has
# indexed): FTS5 answers a prefix by merging every matching word's full posting list, which is linear
# in the data, while an OR of a few exact words stops after the newest 50 hits. (A prefix index,
# prefix='1 2 3', would cost ingest twice the FTS work per message.)
# Beyond this many words an OR costs more than FTS5's own merge (each word is one more seek).
MAX_EXPANSION = 64
# Tokens as FTS5's unicode61 tokenizer cuts them: letters and numbers, everything else separates.
# The combining diacritics FTS5 folds away (Latin, Greek, Cyrillic and their extensions).
_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_TOKEN_RE = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Part:
    """One element of a query: a word, or the words of a phrase in quotes; the last may be a prefix."""

    words: tuple[str, ...]
    prefix: bool = False


def parse(text: str) -> list[Part]:
    """Words, and phrases in double quotes; the last part is a prefix unless it is a closed phrase,
    so a word or a quoted phrase still being typed finds what it is becoming."""
    # clean() turns a lone surrogate into U+FFFD, which SQLite can bind (a surrogate would raise).
    text = clean(valid_str(text), keep_newlines=False)
    pieces = text.split('"')
    parts: list[Part] = []
    last_closed = False
    for i, piece in enumerate(pieces):
        words = tuple(piece.split())
        if not words:
            continue
        inside = i % 2 == 1
        is_open = inside and i == len(pieces) - 1  # an odd number of quotes: the phrase is not closed yet
        if inside:
            parts.append(Part(words))
            last_closed = not is_open
        else:
            parts.extend(Part((w,)) for w in words)
            last_closed = False
    if parts and not last_closed:
        parts[-1] = Part(parts[-1].words, prefix=True)
    return parts


def _phrase(words: Iterable[str], prefix: bool = False) -> str:
    return '"' + " ".join(words) + '"' + ("*" if prefix else "")


def fts_query(text: str) -> str:
    """The FTS5 query for *text*: every word and phrase quoted (operators are plain words), the last a prefix."""
    return " ".join(_phrase(p.words, p.prefix) for p in parse(text))


def _fold(word: str) -> str:
    """A word as FTS5 stores it: lower case, diacritics removed (remove_diacritics 2)."""
    word = word.lower()
    if word.isascii():
        return word
    return _MARKS.sub("", unicodedata.normalize("NFD", word))


# A migration step (its place is in MIGRATIONS; the PostgreSQL schema finds it by this name): FTS5 also
# indexes the first one and two characters of every word, so the first keystrokes of a word or of an
# order number (a prefix of thousands of indexed words, too many to spell out from search_terms) read
# one ready posting list instead of merging thousands of them at every query.
PREFIX_INDEX = """
    DROP TABLE messages_fts;
    CREATE VIRTUAL TABLE messages_fts USING fts5(
        text, subject, author_name, content='messages', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2', columnsize=0, prefix='1 2'
    );
    INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');
    """

# The words of newly stored messages are read by FTS5 itself: the batch goes through an in-memory
# contentless index with the same tokenizer (no positions, no sizes) whose vocabulary is then the
# batch's words exactly as messages_fts has them, tokenized in C once per batch.
_BATCH_WORDS = ("CREATE VIRTUAL TABLE IF NOT EXISTS temp.batch_words USING fts5(words, content='',"
                " detail=none, columnsize=0, tokenize='unicode61 remove_diacritics 2')")
_BATCH_VOCAB = "CREATE VIRTUAL TABLE IF NOT EXISTS temp.batch_vocab USING fts5vocab(temp, batch_words, 'row')"


def add_terms(conn: sqlite3.Connection, after_id: int, up_to: int | None = None) -> None:
    """Record the words of the messages with ids above *after_id* (up to *up_to*, when given) in
    search_terms, inside the caller's transaction (SQLite only: PostgreSQL reads prefixes from its index)."""
    conn.execute(_BATCH_WORDS)
    conn.execute(_BATCH_VOCAB)
    rows = "SELECT id, text || ' ' || subject || ' ' || author_name FROM messages WHERE id > ?"
    if up_to is None:
        conn.execute(f"INSERT INTO temp.batch_words(rowid, words) {rows}", (after_id,))
    else:
        conn.execute(f"INSERT INTO temp.batch_words(rowid, words) {rows} AND id <= ?", (after_id, up_to))
    conn.execute("INSERT INTO search_terms(term) SELECT term FROM temp.batch_vocab WHERE true"
                 " ON CONFLICT (term) DO NOTHING")
    conn.execute("INSERT INTO temp.batch_words(batch_words) VALUES ('delete-all')")


def _expansion(conn: sqlite3.Connection, word: str) -> list[str] | None:
    """The indexed words that start with *word*, or None when FTS5's own prefix query is the cheaper
    (a word the tokenizer cuts in several, or more words than an OR is worth)."""
    tokens = _TOKEN_RE.findall(word.lower())
    if len(tokens) != 1 or tokens[0] != word.lower():
        return None
    # The words are FTS5's own (its vocabulary), which also writes a final sigma as σ.
    starts = {word.lower(), _fold(word)}
    starts |= {start.replace("ς", "σ") for start in starts}
    found: set[str] = set()
    for start in starts:
        found.update(r[0] for r in conn.execute(
            "SELECT term FROM search_terms WHERE term >= ? AND term < ? LIMIT ?",
            (start, start + "\U0010ffff", MAX_EXPANSION + 1)))
    if not found or len(found) > MAX_EXPANSION:
        return None
    return sorted(found)


def forget(conn: Any, message_ids: Iterable[int]) -> None:
    """Take messages out of the search index before they are deleted: FTS5's external-content index
    needs their indexed values to do it (on PostgreSQL the words are a column of the row and go with it)."""
    if getattr(conn, "dialect", "sqlite") == "postgresql":
        return
    ids = sorted(message_ids)
    for i in range(0, len(ids), 500):
        part = ids[i:i + 500]
        conn.execute("INSERT INTO messages_fts(messages_fts, rowid, text, subject, author_name)"
                     " SELECT 'delete', id, text, subject, author_name FROM messages"
                     f" WHERE id IN ({','.join('?' * len(part))})", part)


def match_query(conn: sqlite3.Connection, text: str) -> str:
    """fts_query(text), with a long last prefix spelled out as the words it can become. A part with no
    word in it (a lone '.') is left out, as FTS5 ignores it in fts_query and PostgreSQL's tsquery skips it:
    joined with AND it would find nothing."""
    parts = [p for p in parse(text) if _TOKEN_RE.search(" ".join(p.words))]
    if not parts:
        return ""
    out = [_phrase(p.words) for p in parts[:-1]]
    last = parts[-1]
    words = _expansion(conn, last.words[-1]) if last.prefix else None
    if words is None:
        out.append(_phrase(last.words, last.prefix))
    else:
        head = last.words[:-1]
        out.append("(" + " OR ".join(_phrase((*head, w)) for w in words) + ")")
    return " AND ".join(out)  # FTS5 takes no implicit AND before a parenthesis


# ---------------------------------------------------------------- PostgreSQL: tsvector and tsquery

SNIPPET_TOKENS = 12  # as snippet(messages_fts, ..., 12) on the SQLite side


def _latin(ch: str) -> bool:
    code = ord(ch)
    return 0xC0 <= code <= 0x24F or 0x1E00 <= code <= 0x1EFF


def _fts5_fold(text: str) -> str:
    """*text* folded as unicode61 with remove_diacritics 2 folds it: lower case, combining marks dropped,
    and the diacritics of Latin letters only (a Greek or Cyrillic accent stays, as FTS5 keeps it)."""
    text = text.lower()
    if text.isascii():
        return text
    out: list[str] = []
    for ch in text:
        if _MARKS.match(ch):
            continue
        out.append(_MARKS.sub("", unicodedata.normalize("NFD", ch)) if _latin(ch) else ch)
    return "".join(out)


def words(text: str) -> list[str]:
    """The words of *text* as FTS5's unicode61 tokenizer (remove_diacritics 2) cuts and folds them."""
    return _TOKEN_RE.findall(_fts5_fold(text))


def document(texts: Iterable[str]) -> str:
    """What PostgreSQL indexes for a message (text, subject, author name): their words as FTS5 has them,
    so to_tsvector('simple', ...) holds the same words as messages_fts and queries mean the same."""
    return " ".join(" ".join(words(t)) for t in texts if t)


def _lexeme(word: str) -> str:
    return "'" + word.replace("'", "''") + "'"


def tsquery(text: str) -> str:
    """The to_tsquery('simple', ...) text for what a person typed: each word and phrase as FTS5 reads it
    quoted (a phrase is its words in order, <->), all of them required, the last a prefix (:*)."""
    out: list[str] = []
    for part in parse(text):
        tokens = [w for word in part.words for w in words(word)]
        if not tokens:
            continue
        lexemes = [_lexeme(t) for t in tokens]
        if part.prefix:
            lexemes[-1] += ":*"
        out.append("(" + " <-> ".join(lexemes) + ")")
    return " & ".join(out)


# How many of the newest messages the first look at a PostgreSQL search reads through the primary key.
RECENT_WINDOW = 5000

_PG_ROW = ("SELECT m.id, m.conversation_id, c.channel, m.author_name, m.text, m.sent_at FROM messages m"
           " JOIN conversations c ON c.id = m.conversation_id")


def pg_search(conn: Any, text: str, limit: int) -> list[tuple[int, int, str, str, str, float]]:
    """(message id, conversation id, channel, author, snippet, sent at) of the newest *limit* matches.

    Two looks, so neither a common nor a rare word walks the table: first the newest RECENT_WINDOW
    messages by the primary key (a common word or phrase has its newest hits there), then, only when
    that found too few, the older ones through the GIN index, all of their matches collected first
    (MATERIALIZED) so the planner cannot turn it back into a newest-first walk of every row (a word with
    no match took 2.1 s that way at 1M messages)."""
    query = tsquery(text)
    if not query:
        return []
    floor = conn.execute("SELECT min(id) FROM (SELECT id FROM messages ORDER BY id DESC LIMIT ?) w",
                         (RECENT_WINDOW,)).fetchone()[0]
    if floor is None:
        return []
    rows = conn.execute(_PG_ROW + " WHERE m.id >= ? AND m.search @@ to_tsquery('simple', ?)"
                        " ORDER BY m.id DESC LIMIT ?", (floor, query, limit)).fetchall()
    if len(rows) < limit:
        rows += conn.execute(
            "WITH older AS MATERIALIZED (SELECT id FROM messages WHERE search @@ to_tsquery('simple', ?)"
            " AND id < ?) " + _PG_ROW + " WHERE m.id IN (SELECT id FROM older ORDER BY id DESC LIMIT ?)"
            " ORDER BY m.id DESC", (query, floor, limit - len(rows))).fetchall()
    wanted = parse(text)
    return [(r[0], r[1], r[2], r[3], snippet(r[4], wanted), r[5]) for r in rows]


def snippet(text: str, parts: list[Part]) -> str:
    """Up to SNIPPET_TOKENS words of *text* around its first match, '…' where it is cut (as FTS5's snippet)."""
    tokens = list(_TOKEN_RE.finditer(text))
    if len(tokens) <= SNIPPET_TOKENS:
        return text
    exact = {w for p in parts for word in p.words for w in words(word)}
    prefixes = [words(p.words[-1])[-1] for p in parts if p.prefix and words(p.words[-1])]
    first = 0
    for i, token in enumerate(tokens):
        folded = "".join(words(token.group()))
        if folded in exact or any(folded.startswith(p) for p in prefixes):
            first = i
            break
    start = max(0, min(first - 2, len(tokens) - SNIPPET_TOKENS))
    end = start + SNIPPET_TOKENS
    head = 0 if start == 0 else tokens[start].start()
    tail = len(text) if end >= len(tokens) else tokens[end - 1].end()
    return ("…" if start else "") + text[head:tail] + ("" if end >= len(tokens) else "…")
