"""The triage verbs the screens and the CLI call: correct a wait's level, read sentiment figures."""

from __future__ import annotations

from agentconsole.storage import triage as storage
from agentconsole.storage.store import Store
from agentconsole.triage.score import Level

# The rows the screens read, from here rather than from the storage package.
SentimentDay = storage.SentimentDay
AfterReply = storage.AfterReply


class Triage:
    def __init__(self, store: Store) -> None:
        self.store = store

    def level(self, conversation_id: int) -> Level:
        return storage.current_level(self.store.conn, conversation_id)

    def correct(self, conversation_id: int, agent_id: int | None, level: Level | None = None) -> Level | None:
        """Set the conversation's level (by default the next one: calm → upset → angry → calm) and keep
        the correction; None when nothing waits there."""
        with self.store.transaction() as conn:
            new = level if level is not None else storage.current_level(conn, conversation_id).next()
            done = storage.correct(conn, conversation_id, new, agent_id, self.store.clock.now())
        return new if done else None

    def corrections(self, limit: int = 1000) -> list[storage.Correction]:
        return storage.corrections(self.store.conn, limit)

    def sentiment_by_day(self, since: float, until: float) -> list[storage.SentimentDay]:
        from agentconsole.metrics.sentiment import by_day  # complete past days from the day cache

        return by_day(self.store, since, until)

    def after_reply(self, since: float, until: float) -> list[storage.AfterReply]:
        return storage.after_reply(self.store.conn, since, until)
