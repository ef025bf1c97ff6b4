"""The agent's actions on a conversation that the store carries out: done / reopen and assignment."""

from __future__ import annotations

import json
import sqlite3
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from agentconsole.domain.models import Status

if TYPE_CHECKING:
    from agentconsole.domain.clock import Clock

ANY_ASSIGNEE = object()  # set_assignee's "whoever it is assigned to now"


class ConversationActions:
    """Status and assignment changes, each one transaction with its event and audit rows (the Store's)."""

    if TYPE_CHECKING:
        clock: Clock

        def transaction(self) -> AbstractContextManager[sqlite3.Connection]: ...

    def set_status(self, conversation_id: int, status: Status, agent_id: int | None) -> None:
        now = self.clock.now()
        with self.transaction() as conn:
            current = conn.execute("SELECT status FROM conversations WHERE id = ?",
                                   (conversation_id,)).fetchone()
            if current is None or current[0] == status:
                return
            if status == Status.DONE:
                conn.execute("UPDATE conversations SET status = 'done', resolved_at = ? WHERE id = ?",
                             (now, conversation_id))
                event = "resolved"
                # A public post escalated to this DM is done when the DM is.
                linked = conn.execute(
                    "SELECT p.id FROM conversations d JOIN conversations p ON p.id = d.linked_id"
                    " WHERE d.id = ? AND d.kind = 'dm' AND p.escalated = 1 AND p.status = 'open'",
                    (conversation_id,)).fetchone()
                if linked:
                    self.set_status(linked[0], Status.DONE, agent_id)
            else:
                conn.execute("UPDATE conversations SET status = 'open' WHERE id = ?", (conversation_id,))
                event = "reopened"
            conn.execute("INSERT INTO conversation_events(conversation_id, event, at, agent_id)"
                         " VALUES (?,?,?,?)", (conversation_id, event, now, agent_id))
            conn.execute("INSERT INTO audit(agent_id, action, conversation_id, detail, at)"
                         " VALUES (?,?,?,?,?)", (agent_id, event, conversation_id, "{}", now))

    def assign(self, conversation_id: int, agent_id: int | None, by_agent_id: int | None) -> None:
        """Assign whatever the current assignee (the CLI and hand-offs that already decided)."""
        self.set_assignee(conversation_id, agent_id, by_agent_id, expected=ANY_ASSIGNEE)

    def set_assignee(self, conversation_id: int, agent_id: int | None, by_agent_id: int | None, *,
                     expected: int | None | object) -> tuple[bool, int | None]:
        """Compare-and-set: assign only if the assignee is still *expected* (what the agent saw).

        Returns (done, assignee now). Taking a conversation from another agent is audited as a take-over.
        """
        now = self.clock.now()
        with self.transaction() as conn:
            row = conn.execute("SELECT assignee_id FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
            if row is None:
                return False, None
            current = row[0]
            if expected is not ANY_ASSIGNEE and current != expected:
                return False, current
            if current == agent_id:
                return True, current
            conn.execute("UPDATE conversations SET assignee_id = ? WHERE id = ?", (agent_id, conversation_id))
            action = ("unassigned" if agent_id is None else
                      "took_over" if current is not None and agent_id == by_agent_id else "assigned")
            conn.execute("INSERT INTO audit(agent_id, action, conversation_id, detail, at) VALUES (?,?,?,?,?)",
                         (by_agent_id, action, conversation_id, json.dumps({"to": agent_id, "from": current}),
                          now))
            return True, agent_id
