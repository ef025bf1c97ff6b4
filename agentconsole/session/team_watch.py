"""The console's live link to the rest of the team: a loop that notices other connections' commits
(PRAGMA data_version), reads the change log and everyone's presence, and keeps this console's own
presence row beating."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agentconsole.storage.store import Store
from agentconsole.team import presence
from agentconsole.team.changes import ChangeFeed, Changes, prune
from agentconsole.team.console import console_id

if TYPE_CHECKING:
    from agentconsole.session.session import Session

log = logging.getLogger(__name__)

POLL_SECONDS = 0.2  # a change shows on every other console within a fraction of a second
PRESENCE_LOOK_SECONDS = 1.0  # presence is re-read at least this often, so expired rows disappear
PRUNE_SECONDS = 60.0


def watch(session: Session, feed: ChangeFeed | None, cancelled: Callable[[], bool],
          changed: Callable[[Changes], None], people: Callable[[dict[int, tuple[Any, ...]]], None]) -> None:
    """Run until *cancelled()*; tells *changed* what other connections committed (presence aside) and
    *people* who else is where, each time that changes.

    The loop keeps its own connections and closes them itself: the session's store may be closed while
    this thread is finishing its last poll, and a connection must never be closed under a query.
    """
    store = Store(session.store.path, session.store.clock)
    me = presence.Presence(store, console_id(), session.agent_row.id)
    feed = feed or ChangeFeed(session.store.path)
    seen: dict[int, tuple[Any, ...]] | None = None
    sent: tuple[int | None, presence.Activity] | None = None
    next_beat = next_look = 0.0
    next_prune = time.monotonic() + PRUNE_SECONDS / 6  # not while the console paints its first frames
    try:
        while not cancelled():
            now = time.monotonic()
            target = session.presence_target
            if target != sent or now >= next_beat:
                me.beat(*target)
                sent = target
                next_beat = now + presence.BEAT_SECONDS
            changes = feed.poll()
            if changes is not None and (changes.everything or changes.what - {"presence"}):
                if changes.everything:  # what the session keeps by difference is read again
                    session.changed_everything()
                else:
                    session.note_changed(changes.conversation_ids)
                changed(changes)
            if (changes is not None and "presence" in changes.what) or now >= next_look:
                others = presence.others(store, session.agent_row.id)
                if others != seen:
                    seen = others
                    people(others)
                next_look = now + PRESENCE_LOOK_SECONDS
            if now >= next_prune:
                next_prune = now + PRUNE_SECONDS
                with store.transaction() as conn:
                    prune(conn)
                presence.sweep(store)
            time.sleep(POLL_SECONDS)
    finally:
        feed.close()
        try:
            me.leave()
        except Exception:  # e.g. the database is busy: the row expires on its own
            log.debug("could not remove this console's presence row", exc_info=True)
        store.close()
