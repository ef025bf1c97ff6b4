"""Read-side rows the store hands to the screens: immutable named tuples, already sanitised."""

from __future__ import annotations

from typing import Any, NamedTuple

# Named tuples, not frozen dataclasses: the same immutable fields, for a fraction of the cost of defining
# the class at import (these load before the first frame).


class ConversationRow(NamedTuple):
    id: int
    account_id: int
    account_name: str
    channel: str
    kind: str
    subject: str
    status: str
    needs_reply: bool
    waiting_since: float | None
    last_message_at: float
    last_preview: str
    last_direction: str
    message_count: int
    contact_id: int | None
    contact_name: str
    handle: str
    assignee_id: int | None
    assignee_name: str
    linked_id: int | None
    escalated: bool
    first_customer_at: float | None
    first_response_at: float | None
    resolved_at: float | None
    is_demo: bool
    heat: float = 0.0  # how upset or urgent the wait reads, 0..1 (agentconsole.triage); 0 when nothing waits


class MessageRow(NamedTuple):
    id: int
    conversation_id: int
    external_id: str
    direction: str
    visibility: str
    author_name: str
    author_handle: str
    subject: str
    text: str
    parse_note: str
    sent_at: float
    agent_id: int | None
    source: str | None
    edited_at: float | None = None  # when the platform says the author last edited it


class NoteRow(NamedTuple):
    id: int
    conversation_id: int
    agent_name: str
    text: str
    created_at: float


class ContactCard(NamedTuple):
    id: int
    display_name: str
    bio: str
    location: str
    identities: tuple[tuple[str, str], ...]  # (channel, handle)
    conversations: tuple[ConversationRow, ...]


class SearchHit(NamedTuple):
    message_id: int
    conversation_id: int
    channel: str
    author_name: str
    snippet: str
    sent_at: float


class AccountRow(NamedTuple):
    id: int
    name: str
    channel: str
    connector: str
    handle: str
    display_name: str
    settings: dict[str, Any]
    is_demo: bool


class AgentRow(NamedTuple):
    id: int
    name: str
    initials: str
    timezone: str


class DraftRow(NamedTuple):
    """An agent's unsent reply or note on one conversation, as kept in the store."""

    conversation_id: int
    mode: str  # what the composer writes: "reply" or "note"
    text: str
    template_text: str | None  # the canned reply it was built from, as filled in, if any
    template_id: int | None


def initials_of(name: str) -> str:
    """An agent's initials when none are set (here, not in replies.templates, so the list can show them
    without importing the templates before the first frame)."""
    return "".join(part[0] for part in name.split()[:3]).upper()
