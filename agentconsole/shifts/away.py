"""Away replies: while nobody is on shift, at most one automatic reply per customer per off period."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from agentconsole.replies.lengths import measure
from agentconsole.shifts.times import short_time
from agentconsole.shifts.service import AccountSettings, Shifts
from agentconsole.domain.models import ReplySource
from agentconsole.domain.records import ShiftRow
from agentconsole.replies.templates import fill, values_for

log = logging.getLogger(__name__)


class AwayReplies:
    """Queues away replies (off by default, per account) through the outbox as ordinary replies.

    An off period begins when the last shift ended and lasts until someone starts one; before the first
    shift ever ends there is no off period, so turning this on never answers an old backlog. Each
    customer (a contact, across their conversations) gets at most one reply per off period: a unique
    key in the database guarantees it even with several consoles on one database.
    """

    def __init__(self, shifts: Shifts) -> None:
        self.shifts = shifts
        self.store = shifts.store
        self.storage = shifts.storage

    def off_since(self) -> float | None:
        """When the current off period began, or None while someone is on shift (or none ever ended)."""
        if self.shifts.on_shift():
            return None
        last = self.shifts.last_ended()
        return last.ended_at if last else None

    def send_due(self, limit: int = 100) -> list[int]:
        """Queue the away replies now due; returns their outbox ids. Call it after each sync."""
        since = self.off_since()
        if since is None:
            return []
        enabled = {s.account.id: s for s in self.shifts.accounts() if s.away}
        if not enabled:
            return []
        last = self.shifts.last_ended()
        now = self.shifts.clock.now()
        next_start = last.next_start if last and last.next_start and last.next_start > now else None
        candidates = self.storage.away_candidates(since, list(enabled), limit)
        queued: list[int] = []
        for conversation_id, contact_id in candidates:
            person = f"contact:{contact_id}" if contact_id is not None else f"conversation:{conversation_id}"
            outbox_id = self._reply(since, person, conversation_id, enabled, last, next_start, now)
            if outbox_id is not None:
                queued.append(outbox_id)
        return queued

    def _reply(self, since: float, person: str, conversation_id: int, enabled: Mapping[int, AccountSettings],
               last: ShiftRow | None, next_start: float | None, now: float) -> int | None:
        conversation = self.store.conversation(conversation_id)
        if conversation is None or last is None:  # gone meanwhile; no off period without a last shift
            return None
        settings = enabled[conversation.account_id]
        values = values_for(conversation, None, next_agent=last.next_agent or None,
                            next_start=short_time(next_start, last.timezone, now, with_zone=True) or None)
        filled = fill(settings.away_template, values)
        length = measure(filled.text, conversation.channel, conversation.kind)
        with self.storage.transaction():
            if not self.storage.claim_away(since, person, conversation_id, now):
                return None  # this person already had their away reply in this off period
            if filled.gaps or length.over or not filled.text.strip():
                # Recorded without an item, so a broken template is reported once, not retried per sync.
                log.warning("away reply for conversation %s not sent: %s", conversation_id,
                            "unfilled placeholders" if filled.gaps else "too long or empty")
                return None
            outbox_id = self.shifts.outbox.enqueue_reply(conversation_id, filled.text, agent_id=None,
                                                         source=ReplySource.AWAY)
            self.storage.set_away_outbox(since, person, outbox_id)
        return outbox_id
