"""Each agent's unsent replies and notes, one per conversation and mode, kept as they are typed."""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from agentconsole.domain.rows import DraftRow

if TYPE_CHECKING:
    from agentconsole.domain.clock import Clock


class Drafts:
    """The drafts table, through the Store's connections (one transaction a write)."""

    if TYPE_CHECKING:
        clock: Clock

        @property
        def conn(self) -> sqlite3.Connection: ...

        def transaction(self) -> AbstractContextManager[sqlite3.Connection]: ...

    def keep_draft(self, agent_id: int, draft: DraftRow) -> None:
        """Store *draft* in place of the agent's earlier one of the same conversation and mode; an empty
        text drops it."""
        with self.transaction() as conn:
            if not draft.text.strip():
                conn.execute("DELETE FROM drafts WHERE agent_id = ? AND conversation_id = ? AND mode = ?",
                             (agent_id, draft.conversation_id, draft.mode))
                return
            conn.execute(
                "INSERT INTO drafts(agent_id, conversation_id, mode, text, template_text, template_id, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (agent_id, conversation_id, mode) DO UPDATE SET"
                " text = excluded.text, template_text = excluded.template_text,"
                " template_id = excluded.template_id, updated_at = excluded.updated_at",
                (agent_id, draft.conversation_id, draft.mode, draft.text, draft.template_text, draft.template_id,
                 self.clock.now()))

    def drop_draft(self, agent_id: int, conversation_id: int, mode: str) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM drafts WHERE agent_id = ? AND conversation_id = ? AND mode = ?",
                         (agent_id, conversation_id, mode))

    def drafts_of(self, agent_id: int) -> list[DraftRow]:
        """The agent's drafts, oldest first."""
        rows = self.conn.execute(
            "SELECT conversation_id, mode, text, template_text, template_id FROM drafts WHERE agent_id = ?"
            " ORDER BY updated_at, conversation_id", (agent_id,)).fetchall()
        return [DraftRow(int(r[0]), str(r[1]), str(r[2]), r[3], None if r[4] is None else int(r[4])) for r in rows]
