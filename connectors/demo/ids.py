"""The simulation's cursors, DM thread keys and the names it greets people by."""

from __future__ import annotations

import logging

from agentconsole.domain.models import Person

log = logging.getLogger(__name__)

CURSOR_VERSION = "demo1"


def _dm_key(person: Person) -> str:
    """One DM thread per person, as the platforms keep it."""
    return f"dm-{person.external_id}"


def _first_name(name: str) -> str:
    """What to call someone in an email ("" when the display name is no name, e.g. "the plant lady")."""
    words = [w for w in name.split() if any(c.isalnum() for c in w)]
    if not words or words[0][0].islower() or "[" in words[0]:
        return ""
    return words[0]


def _cursor(anchor: float, seq: int, covered: float) -> str:
    return f"{CURSOR_VERSION}:{anchor!r}:{seq}:{covered!r}"


def _parse_cursor(cursor: str | None) -> tuple[float, int, float] | None:
    """(anchor, next sequence number, clock time covered); None starts over with a backfill."""
    if not cursor:
        return None
    try:
        version, anchor, seq, covered = cursor.split(":")
        if version != CURSOR_VERSION:
            raise ValueError(version)
        return float(anchor), int(seq), float(covered)
    except ValueError:
        log.warning("unreadable demo cursor %r: starting over (re-fetched messages are deduplicated)", cursor)
        return None
