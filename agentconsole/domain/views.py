"""The inbox views (All, Waiting, Mine ...): their filters and their order, as SQL over indexed columns."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class View:
    """One inbox view: its key, its label and the SQL that selects its conversations."""
    key: str
    label: str
    where: str  # SQL over `conversations`, may use :agent_id
    empty: str  # what the list says when the view holds nothing, and what to do about it
    waiting_first: bool = True


VIEWS: tuple[View, ...] = (
    View("all", "All", "1 = 1", "No conversations yet: they appear here as the accounts sync."),
    View("waiting", "Waiting", "status = 'open' AND needs_reply = 1",
         "Nobody is waiting: every customer has an answer."),
    View("mine", "Mine", "status = 'open' AND assignee_id = :agent_id",
         "Nothing is assigned to you: press a on a conversation to take it."),
    View("public", "Public", "status = 'open' AND kind = 'public'", "No open public conversations."),
    View("dms", "DMs", "status = 'open' AND kind = 'dm'", "No open DMs."),
    View("email", "Email", "status = 'open' AND kind = 'email'", "No open email."),
    View("escalated", "Escalated", "escalated = 1",
         "Nothing escalated: d on a public post moves it to a DM."),
    View("done", "Done", "status = 'done'",
         "Nothing is done yet: e marks the selected conversation done.", waiting_first=False),
    # Sends only a person can settle: may have been sent, refused, or cancelled behind a refused one.
    View("decide", "Decide", "id IN (SELECT conversation_id FROM outbox WHERE state IN"
                             " ('unsure', 'failed', 'cancelled'))",
         "Nothing to decide: every send went out or is on its way.", waiting_first=False),
)

VIEWS_BY_KEY = {view.key: view for view in VIEWS}
