"""Triage storage: inbound messages scored in the ingest transaction, each waiting conversation's heat,
the agents' corrections, and sentiment per channel and day."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

from agentconsole.triage.score import Level, level_of, score_values

REPEAT_HEAT = 0.15  # each further message while nobody has answered ("hello??"), up to two
MAX_REPEATS = 2


def score_new(conn: sqlite3.Connection, after_id: int) -> int:
    """Score the inbound messages stored with ids above *after_id* and update their conversations' heat;
    runs inside ingest's transaction, once per batch. Returns how many were scored."""
    # Only the batch's rows, by id: with "direction = 'in'" in SQL, SQLite walked the direction index
    # over every inbound message ever stored (45 ms a batch at 1M messages instead of 1).
    rows = [row[:4] for row in conn.execute(
        "SELECT id, conversation_id, text, sent_at, direction FROM messages WHERE id > ?", (after_id,))
        if row[4] == "in"]
    if not rows:
        return 0
    scored = []
    batch: dict[int, list[tuple[float, float]]] = {}  # conversation -> [(sent_at, heat)]
    for message_id, conversation_id, text, sent_at in rows:
        mood, heat, english = score_values(text)
        scored.append((message_id, conversation_id, mood, heat, 1 if english else 0, sent_at))
        found = batch.get(conversation_id)
        if found is None:
            batch[conversation_id] = [(sent_at, heat)]
        else:
            found.append((sent_at, heat))
    conn.executemany(
        "INSERT INTO message_scores(message_id, conversation_id, sentiment, heat, english, sent_at)"
        " VALUES (?,?,?,?,?,?) ON CONFLICT (message_id) DO UPDATE SET conversation_id = excluded.conversation_id,"
        " sentiment = excluded.sentiment, heat = excluded.heat, english = excluded.english,"
        " sent_at = excluded.sent_at", scored)
    ids = list(batch)
    updates = []
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for cid, since, peak, count, episode in conn.execute(
                "SELECT c.id, c.waiting_since, t.peak, t.episode_messages, t.episode_since FROM conversations c"
                " LEFT JOIN conversation_triage t ON t.conversation_id = c.id"
                f" WHERE c.id IN ({','.join('?' * len(chunk))})", chunk):
            if since is None:
                continue  # answered already (our reply came in the same batch): nothing waits
            waiting = [heat for at, heat in batch[cid] if at >= since]
            if episode != since:  # a new wait: the last one's heat is over
                peak, count = 0.0, 0
            peak = max([peak, *waiting])
            count += len(waiting)
            updates.append((cid, heat_of(peak, count), peak, count, since))
    conn.executemany(
        "INSERT INTO conversation_triage(conversation_id, heat, peak, episode_messages, episode_since)"
        " VALUES (?,?,?,?,?) ON CONFLICT(conversation_id) DO UPDATE SET heat = excluded.heat,"
        " peak = excluded.peak, episode_messages = excluded.episode_messages,"
        " episode_since = excluded.episode_since", updates)
    return len(scored)


def heat_of(peak: float, messages: int) -> float:
    """A wait's heat: its hottest message, warmer for each message the customer had to add."""
    return round(min(1.0, peak + REPEAT_HEAT * min(MAX_REPEATS, max(0, messages - 1))), 4)


def current_level(conn: sqlite3.Connection, conversation_id: int) -> Level:
    row = conn.execute(
        "SELECT t.heat FROM conversation_triage t JOIN conversations c ON c.id = t.conversation_id"
        " WHERE t.conversation_id = ? AND t.episode_since = c.waiting_since", (conversation_id,)).fetchone()
    return level_of(row[0]) if row else Level.CALM


def correct(conn: sqlite3.Connection, conversation_id: int, level: Level, agent_id: int | None,
            now: float) -> bool:
    """Set a waiting conversation's heat to the agent's *level*, keeping the correction and the score it
    replaced. False when nothing waits there (there is no wait to rank)."""
    row = conn.execute(
        "SELECT c.waiting_since, t.heat, t.episode_since,"
        " (SELECT max(id) FROM messages m INDEXED BY messages_conversation"
        " WHERE m.conversation_id = c.id AND m.direction = 'in')"
        " FROM conversations c LEFT JOIN conversation_triage t ON t.conversation_id = c.id"
        " WHERE c.id = ? AND c.status = 'open' AND c.needs_reply = 1", (conversation_id,)).fetchone()
    if row is None or row[0] is None:
        return False
    since, heat, episode, message_id = row
    scored = heat if heat is not None and episode == since else 0.0
    conn.execute("INSERT INTO triage_corrections(conversation_id, message_id, agent_id, scored, level, at)"
                 " VALUES (?,?,?,?,?,?)", (conversation_id, message_id, agent_id, scored, int(level), now))
    # The agent's level becomes the wait's peak: later messages of the same wait can still raise it.
    conn.execute(
        "INSERT INTO conversation_triage(conversation_id, heat, peak, episode_messages, episode_since,"
        " corrected_by, corrected_at) VALUES (?,?,?,1,?,?,?) ON CONFLICT(conversation_id) DO UPDATE SET"
        " heat = excluded.heat, peak = excluded.peak, episode_messages = 1,"
        " episode_since = excluded.episode_since, corrected_by = excluded.corrected_by,"
        " corrected_at = excluded.corrected_at",
        (conversation_id, level.heat, level.heat, since, agent_id, now))
    conn.execute("INSERT INTO changes(conversation_id, what) VALUES (?, 'order')", (conversation_id,))
    return True


@dataclass(frozen=True, slots=True)
class Correction:
    conversation_id: int
    message_id: int | None
    agent_id: int | None
    scored: float
    level: Level
    at: float


def corrections(conn: sqlite3.Connection, limit: int = 1000) -> list[Correction]:
    return [Correction(r[0], r[1], r[2], r[3], Level(r[4]), r[5]) for r in conn.execute(
        "SELECT conversation_id, message_id, agent_id, scored, level, at FROM triage_corrections"
        " ORDER BY id DESC LIMIT ?", (limit,))]


@dataclass(frozen=True, slots=True)
class SentimentDay:
    channel: str
    day: str  # YYYY-MM-DD, UTC
    messages: int  # English messages scored
    mean: float  # mean sentiment, -1..1
    negative: int  # messages below -0.05, VADER's threshold


def sentiment_by_day(conn: sqlite3.Connection, since: float, until: float) -> list[SentimentDay]:
    """Mean sentiment of English customer messages per channel and UTC day (other languages have none)."""
    # The UTC day is computed here: SQL has no portable way to turn epoch seconds into a date. Rows are
    # grouped by their day number (what gmtime would name) and each day is named once.
    days: dict[tuple[str, int], list[float]] = {}
    for channel, sent_at, sentiment in conn.execute(
            # The period's inbound messages by the time index, then each one's score: message_scores
            # has no time index, and reading it whole cost 80 ms for one day at 1M messages (now 10).
            "SELECT c.channel, s.sent_at, s.sentiment FROM messages m INDEXED BY messages_metrics"
            " CROSS JOIN message_scores s CROSS JOIN conversations c WHERE m.direction = 'in'"
            " AND m.sent_at >= ? AND m.sent_at < ? AND s.message_id = m.id AND c.id = s.conversation_id"
            " AND s.english = 1",
            (since, until)):
        key = (channel, int(sent_at // 86400))
        found = days.get(key)
        if found is None:
            days[key] = [sentiment]
        else:
            found.append(sentiment)
    names = {n: time.strftime("%Y-%m-%d", time.gmtime(n * 86400)) for n in {n for _, n in days}}
    return [SentimentDay(channel, names[n], len(values), round(sum(values) / len(values), 4),
                         sum(1 for v in values if v < -0.05))
            for (channel, n), values in sorted(days.items())]


@dataclass(frozen=True, slots=True)
class AfterReply:
    channel: str
    conversations: int  # with an English customer message both before and after our first reply
    before: float  # mean sentiment of the customer's messages before our first reply
    after: float  # and after it
    improved: int  # conversations whose mean rose


def after_reply(conn: sqlite3.Connection, since: float, until: float) -> list[AfterReply]:
    """Whether customers sounded better after our first reply than before it, per channel."""
    rows = conn.execute(
        "WITH p AS (SELECT c.channel, c.id,"
        " avg(CASE WHEN s.sent_at < c.first_response_at THEN s.sentiment END) AS before,"
        " avg(CASE WHEN s.sent_at > c.first_response_at THEN s.sentiment END) AS after"
        # The conversations first answered in the period, then their messages and scores (CROSS JOIN
        # keeps that order: SQLite read every score first, 340-500 ms for one day at 1M messages).
        " FROM conversations c INDEXED BY conv_first_response CROSS JOIN messages m INDEXED BY messages_conversation"
        " CROSS JOIN message_scores s WHERE m.conversation_id = c.id AND s.message_id = m.id"
        " AND c.first_response_at >= ? AND c.first_response_at < ? AND s.english = 1 GROUP BY c.id)"
        " SELECT channel, count(*), round(CAST(avg(before) AS NUMERIC), 4), round(CAST(avg(after) AS NUMERIC), 4),"
        " sum(CASE WHEN after > before THEN 1 ELSE 0 END)"
        " FROM p WHERE before IS NOT NULL AND after IS NOT NULL GROUP BY channel ORDER BY channel",
        (since, until)).fetchall()
    return [AfterReply(*r) for r in rows]
