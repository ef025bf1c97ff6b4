"""The console's live link to the rest of the team: a loop that waits for other connections' commits
(SQLite's data_version, PostgreSQL's LISTEN/NOTIFY), reads the change log and everyone's presence,
keeps this console's own presence row beating, and says when the workspace's server is away."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agentconsole.storage.team_listen import is_link_error
from agentconsole.team import presence
from agentconsole.team.changes import ChangeFeed, Changes, prune
from agentconsole.team.console import console_id

if TYPE_CHECKING:
    from agentconsole.session.session import Session

log = logging.getLogger(__name__)

# The longest wait for news before the loop looks at its own beat and presence and whether it is
# cancelled; a new presence target nudges the wait to end at once (Session.set_presence).
POLL_SECONDS = 0.5
PRESENCE_LOOK_SECONDS = 1.0  # presence is re-read at least this often, so expired rows disappear
PRUNE_SECONDS = 60.0


def _nobody_watching(stopping: bool = False) -> None:
    """Session.nudge_team while no watcher runs."""


def watch(session: Session, feed: ChangeFeed | None, cancelled: Callable[[], bool],
          changed: Callable[[Changes], None], people: Callable[[dict[int, tuple[Any, ...]]], None]) -> None:
    """Run until *cancelled()* or session.stop_watching_team(); tells *changed* what other connections committed (presence aside) and
    *people* who else is where, each time that changes. While the server is away, session.workspace_link
    says so, the loop keeps trying, and once back it catches up from where it was.

    The loop keeps its own connections and closes them itself: the session's store may be closed while
    this thread is finishing its last poll, and a connection must never be closed under a query.
    """
    feed = feed or ChangeFeed(session.store)
    me = presence.Presence(feed.store, console_id(), session.agent_row.id)
    seen: dict[int, tuple[Any, ...]] | None = None
    sent: tuple[int | None, presence.Activity] | None = None
    next_beat = next_look = 0.0
    next_prune = time.monotonic() + PRUNE_SECONDS / 6  # not while the console paints its first frames
    stop = threading.Event()

    def nudge(stopping: bool = False) -> None:
        if stopping:
            stop.set()
        feed.signal.nudge()

    session.nudge_team = nudge
    try:
        while not cancelled() and not stop.is_set():
            was_up = feed.link.up
            changes = feed.wait(POLL_SECONDS)
            if feed.link != session.workspace_link:
                session.workspace_link = feed.link
            if not feed.link.up:
                continue
            if not was_up:  # back: the feed's store is a fresh one, and this console's row may have expired
                me = presence.Presence(feed.store, me.console, me.agent_id)
                sent = None
            store = feed.store
            try:
                now = time.monotonic()
                target = session.presence_target
                if target != sent or now >= next_beat:
                    me.beat(*target)
                    sent = target
                    next_beat = now + presence.BEAT_SECONDS
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
            except Exception as exc:
                if not is_link_error(exc):
                    raise
                feed.lost(exc)  # the feed reconnects with back-off; the banner says so meanwhile
                session.workspace_link = feed.link
    finally:
        session.nudge_team = _nobody_watching
        try:
            me.leave()
        except Exception:  # e.g. the database is busy or away: the row expires on its own
            log.debug("could not remove this console's presence row", exc_info=True)
        feed.close()
