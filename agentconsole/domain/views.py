"""The inbox views (All, Waiting, Mine ...): their filters and their order, as SQL over indexed columns."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class View:
    key: str
    label: str
    where: str  # SQL over `conversations`, may use :agent_id
    waiting_first: bool = True


VIEWS: tuple[View, ...] = (
    View("all", "All", "1"),
    View("waiting", "Waiting", "status = 'open' AND needs_reply = 1"),
    View("mine", "Mine", "status = 'open' AND assignee_id = :agent_id"),
    View("public", "Public", "status = 'open' AND kind = 'public'"),
    View("dms", "DMs", "status = 'open' AND kind = 'dm'"),
    View("email", "Email", "status = 'open' AND kind = 'email'"),
    View("escalated", "Escalated", "escalated = 1"),
    View("done", "Done", "status = 'done'", waiting_first=False),
    # Sends only a person can settle: may have been sent, refused, or cancelled behind a refused one.
    View("decide", "Decide", "id IN (SELECT conversation_id FROM outbox WHERE state IN"
                             " ('unsure', 'failed', 'cancelled'))", waiting_first=False),
)

VIEWS_BY_KEY = {view.key: view for view in VIEWS}
