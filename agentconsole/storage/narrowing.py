"""Rows of the conversation list as the store reads them, and a view filter's SQL."""

from __future__ import annotations

from typing import Any

from agentconsole.domain.filters import UNASSIGNED, ViewFilter
from agentconsole.domain.rows import ConversationRow


def conversation(r: Any) -> ConversationRow:
    return ConversationRow(
        id=r["id"], account_id=r["account_id"], account_name=r["account_name"], channel=r["channel"],
        kind=r["kind"], subject=r["subject"], status=r["status"], needs_reply=bool(r["needs_reply"]),
        waiting_since=r["waiting_since"], last_message_at=r["last_message_at"],
        last_preview=r["last_preview"], last_direction=r["last_direction"],
        message_count=r["message_count"], contact_id=r["contact_id"], contact_name=r["contact_name"],
        handle=r["handle"], assignee_id=r["assignee_id"], assignee_name=r["assignee_name"],
        linked_id=r["linked_id"], escalated=bool(r["escalated"]),
        first_customer_at=r["first_customer_at"], first_response_at=r["first_response_at"],
        resolved_at=r["resolved_at"], is_demo=bool(r["is_demo"]), heat=r["heat"],
    )


def narrowing(narrow: ViewFilter, params: dict[str, object]) -> str:
    """The SQL of a view filter, with its values bound into *params*."""
    parts: list[str] = []
    if narrow.channels:
        names = sorted(narrow.channels)
        params.update({f"f_ch{i}": c for i, c in enumerate(names)})
        parts.append("channel IN (" + ",".join(f":f_ch{i}" for i in range(len(names))) + ")")
    if narrow.kinds:
        kinds = sorted(narrow.kinds)
        params.update({f"f_k{i}": k for i, k in enumerate(kinds)})
        parts.append("kind IN (" + ",".join(f":f_k{i}" for i in range(len(kinds))) + ")")
    if narrow.assignee == UNASSIGNED:
        parts.append("assignee_id IS NULL")
    elif narrow.assignee is not None:
        params["f_who"] = narrow.assignee
        parts.append("assignee_id = :f_who")
    for i, word in enumerate(narrow.words):
        # lower() on both sides: SQLite's LIKE ignores (ASCII) case and PostgreSQL's does not.
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params[f"f_w{i}"] = f"%{escaped}%"
        parts.append(
            f"(lower(last_preview) LIKE lower(:f_w{i}) ESCAPE '\\' OR lower(subject) LIKE lower(:f_w{i}) ESCAPE '\\'"
            f" OR contact_id IN (SELECT id FROM contacts WHERE lower(display_name) LIKE lower(:f_w{i}) ESCAPE '\\')"
            f" OR identity_id IN (SELECT id FROM identities WHERE lower(handle) LIKE lower(:f_w{i}) ESCAPE '\\'))")
    return " AND ".join(parts) if parts else "1 = 1"
