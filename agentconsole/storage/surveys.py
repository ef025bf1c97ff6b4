"""Survey storage: each account's survey settings, the questions asked, the answers read from the
customers' replies inside the ingest transaction, and CSAT per channel, agent and week."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

from agentconsole.satisfaction.parse import parse_answer

ANSWER_WINDOW = 7 * 86400  # a reply later than this after the question is not taken as its answer


@dataclass(frozen=True, slots=True)
class SurveySettings:
    enabled: bool = False
    public: bool = False  # also ask under public posts (off by default: DMs and email only)
    every_days: int = 30  # at most one question per customer in this many days
    question: str = ""  # empty: DEFAULT_QUESTION


def settings(conn: sqlite3.Connection, account_id: int) -> SurveySettings:
    row = conn.execute("SELECT enabled, public, every_days, question FROM survey_settings WHERE account_id = ?",
                       (account_id,)).fetchone()
    return SurveySettings(bool(row[0]), bool(row[1]), row[2], row[3]) if row else SurveySettings()


def save_settings(conn: sqlite3.Connection, account_id: int, s: SurveySettings) -> None:
    conn.execute("INSERT INTO survey_settings(account_id, enabled, public, every_days, question) VALUES (?,?,?,?,?)"
                 " ON CONFLICT(account_id) DO UPDATE SET enabled = excluded.enabled, public = excluded.public,"
                 " every_days = excluded.every_days, question = excluded.question",
                 (account_id, int(s.enabled), int(s.public), s.every_days, s.question))


def last_asked(conn: sqlite3.Connection, contact_id: int) -> float | None:
    asked: float | None = conn.execute("SELECT max(asked_at) FROM surveys WHERE contact_id = ?",
                                       (contact_id,)).fetchone()[0]
    return asked


def asked_since(conn: sqlite3.Connection, conversation_id: int, since: float) -> bool:
    """Whether the conversation's customer was asked at or after *since*."""
    return conn.execute("SELECT 1 FROM surveys WHERE conversation_id = ? AND asked_at >= ?",
                        (conversation_id, since)).fetchone() is not None


def crisis_since(conn: sqlite3.Connection, account_id: int, since: float) -> bool:
    """Whether crisis mode posted a public status on the account since *since*."""
    return conn.execute("SELECT 1 FROM outbox WHERE account_id = ? AND source = 'crisis' AND created_at >= ?"
                        " LIMIT 1", (account_id, since)).fetchone() is not None


def record_asked(conn: sqlite3.Connection, conversation_id: int, account_id: int, contact_id: int | None,
                 agent_id: int | None, channel: str, at: float, outbox_id: int) -> int:
    return int(conn.execute("INSERT INTO surveys(conversation_id, account_id, contact_id, agent_id, channel,"
                            " asked_at, outbox_id) VALUES (?,?,?,?,?,?,?) RETURNING id",
                            (conversation_id, account_id, contact_id, agent_id, channel, at, outbox_id)
                            ).fetchone()[0])


def take_answers(conn: sqlite3.Connection, after_id: int) -> int:
    """Read survey answers from the customer messages stored above *after_id*: an answer is kept with its
    words and its conversation stays done; any other reply reopens it as usual. Runs inside ingest."""
    # The direction is checked below, not in the query: there SQLite would walk the messages_metrics
    # index over every inbound message of the workspace instead of the batch's new ids.
    rows = conn.execute(
        "SELECT s.id, m.id, m.conversation_id, m.text, m.sent_at, m.direction FROM surveys s INDEXED BY surveys_open"
        " JOIN messages m ON m.conversation_id = s.conversation_id"
        " WHERE s.answered_at IS NULL AND m.id > ? AND m.sent_at >= s.asked_at"
        " AND m.sent_at <= s.asked_at + ? ORDER BY m.id", (after_id, ANSWER_WINDOW)).fetchall()
    taken = 0
    for survey_id, message_id, conversation_id, text, sent_at, direction in rows:
        if direction != "in":
            continue
        answer = parse_answer(text)
        if answer is None:
            continue
        done = conn.execute("UPDATE surveys SET answered_at = ?, score = ?, how = ?, words = ?,"
                            " answer_message_id = ? WHERE id = ? AND answered_at IS NULL",
                            (sent_at, answer.score, answer.how, text[:1000], message_id, survey_id)).rowcount
        if not done:
            continue  # a second message after the answer: a new request, it reopens as usual
        taken += 1
        # The answer reopened the conversation like any customer message; it was only an answer.
        later = conn.execute("SELECT 1 FROM messages INDEXED BY messages_conversation"
                             " WHERE conversation_id = ? AND direction = 'in' AND id > ?"
                             " AND id > ? LIMIT 1", (conversation_id, message_id, after_id)).fetchone()
        if later is None:
            conn.execute("UPDATE conversations SET status = 'done', needs_reply = 0, waiting_since = NULL"
                         " WHERE id = ? AND status = 'open'", (conversation_id,))
            conn.execute("DELETE FROM conversation_events WHERE conversation_id = ? AND event = 'reopened'"
                         " AND at = ?", (conversation_id, sent_at))
    return taken


@dataclass(frozen=True, slots=True)
class CsatRow:
    group: str  # channel, agent or week
    key: str
    answers: int
    satisfied: int  # scores of 4 or 5
    mean: float
    first_response_median_s: float | None  # of the surveyed conversations, wall clock

    @property
    def csat(self) -> float:
        return self.satisfied / self.answers if self.answers else 0.0


_KEYS = {"all": "'all'", "channel": "s.channel", "agent": "COALESCE(ag.name, '(nobody)')",
         "week": "s.answered_at"}  # made the week's name below: SQL has no portable date formatting


def csat(conn: sqlite3.Connection, since: float, until: float, by: str = "all") -> list[CsatRow]:
    key = _KEYS[by]
    rows = conn.execute(
        f"SELECT {key}, s.score, c.first_response_at - c.first_customer_at FROM surveys s"
        " JOIN conversations c ON c.id = s.conversation_id LEFT JOIN agents ag ON ag.id = s.agent_id"
        " WHERE s.answered_at >= ? AND s.answered_at < ? AND s.score IS NOT NULL ORDER BY 1",
        (since, until)).fetchall()
    groups: dict[str, tuple[list[int], list[float]]] = {}
    for k, score, response in rows:
        if by == "week":
            k = time.strftime("%Y-W%W", time.gmtime(k))
        scores, responses = groups.setdefault(k, ([], []))
        scores.append(score)
        if response is not None and response >= 0:
            responses.append(response)
    out = []
    for k, (scores, responses) in groups.items():
        responses.sort()
        median = None
        if responses:
            mid = len(responses) // 2
            median = responses[mid] if len(responses) % 2 else (responses[mid - 1] + responses[mid]) / 2
        out.append(CsatRow(by, k, len(scores), sum(1 for s in scores if s >= 4),
                           round(sum(scores) / len(scores), 2), median))
    return out


def words_of(conn: sqlite3.Connection, since: float, until: float, limit: int = 20) -> list[tuple[int, str, str]]:
    """The newest answers in the customers' own words: (score, channel, words)."""
    return [(r[0], r[1], r[2]) for r in conn.execute(
        "SELECT score, channel, words FROM surveys WHERE answered_at >= ? AND answered_at < ? AND score IS NOT NULL"
        " ORDER BY answered_at DESC LIMIT ?", (since, until, limit))]
