"""The survey policy and verbs: whether to ask "how did we do?" after a conversation is done (opted-in
account, DMs and email unless public is enabled, once per customer per N days, never in crisis mode),
queueing the question through the outbox, and the CSAT figures."""

from __future__ import annotations

from dataclasses import dataclass, replace

from agentconsole.domain.models import Kind, ReplySource, Status
from agentconsole.replies.outbox import Outbox
from agentconsole.storage import surveys as storage
from agentconsole.storage.store import Store

DEFAULT_QUESTION = ("How did we do? Reply with a number from 1 (poor) to 5 (great), a 👍 or 👎, or a few "
                    "words. Thank you!")
CRISIS_HOLD = 24 * 3600  # no surveys on an account for a day after crisis mode posted a status there
SOURCE = ReplySource.SURVEY
CsatRow = storage.CsatRow  # the screens read the rows from here, not from the storage package


@dataclass(frozen=True, slots=True)
class Decision:
    ask: bool
    reason: str  # why not, in words for the agent; empty when asking
    outbox_id: int | None = None


class Surveys:
    def __init__(self, store: Store) -> None:
        self.store = store

    def settings(self, account_id: int) -> storage.SurveySettings:
        return storage.settings(self.store.conn, account_id)

    def configure(self, account_id: int, **changes: object) -> storage.SurveySettings:
        with self.store.transaction() as conn:
            new = replace(storage.settings(conn, account_id), **changes)  # type: ignore[arg-type]  # the CLI's option names are the fields; replace() refuses others
            if new.every_days < 1:
                raise ValueError("every_days must be at least 1")
            storage.save_settings(conn, account_id, new)
        return new

    def decide(self, conversation_id: int) -> Decision:
        conversation = self.store.conversation(conversation_id)
        if conversation is None:
            return Decision(False, "no such conversation")
        conn, now = self.store.conn, self.store.clock.now()
        s = storage.settings(conn, conversation.account_id)
        if not s.enabled:
            return Decision(False, "surveys are off for this account")
        if conversation.status != Status.DONE:
            return Decision(False, "the conversation is not done")
        if conversation.kind == Kind.PUBLIC and not s.public:
            return Decision(False, "a public conversation: surveys go to DMs and email only")
        if conversation.contact_id is None:
            return Decision(False, "the customer is not known")
        if self.asked_after_last_message(conversation_id):
            return Decision(False, "already asked after this conversation's last message")
        last = storage.last_asked(conn, conversation.contact_id)
        if last is not None and now - last < s.every_days * 86400:
            return Decision(False, f"this customer was asked {int((now - last) // 86400)} days ago"
                                   f" (at most once in {s.every_days} days)")
        if storage.crisis_since(conn, conversation.account_id, now - CRISIS_HOLD):
            return Decision(False, "crisis mode on this account in the last 24 hours")
        return Decision(True, "")

    def asked_after_last_message(self, conversation_id: int) -> bool:
        conversation = self.store.conversation(conversation_id)
        return conversation is not None and storage.asked_since(self.store.conn, conversation_id,
                                                                conversation.last_message_at)

    def after_done(self, conversation_id: int, agent_id: int | None) -> Decision:
        """Queue the question when the policy allows, on the conversation's own channel and thread."""
        decision = self.decide(conversation_id)
        if not decision.ask:
            return decision
        conversation = self.store.conversation(conversation_id)
        assert conversation is not None
        question = storage.settings(self.store.conn, conversation.account_id).question or DEFAULT_QUESTION
        item = Outbox(self.store).enqueue_reply(conversation_id, question, agent_id=agent_id, source=SOURCE)
        with self.store.transaction() as conn:
            storage.record_asked(conn, conversation_id, conversation.account_id, conversation.contact_id,
                                 agent_id, conversation.channel, self.store.clock.now(), item)
        return Decision(True, "", item)

    def csat(self, since: float, until: float, by: str = "all") -> list[storage.CsatRow]:
        return storage.csat(self.store.conn, since, until, by)

    def words(self, since: float, until: float, limit: int = 20) -> list[tuple[int, str, str]]:
        return storage.words_of(self.store.conn, since, until, limit)
