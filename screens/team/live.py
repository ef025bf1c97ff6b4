"""The console's live link to the rest of the team: a thread that notices other connections' commits
(PRAGMA data_version), reads the change log and everyone's presence, and keeps this console's own
presence row beating."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from agentconsole.storage.store import Store
from agentconsole.team import presence
from agentconsole.team.changes import ChangeFeed, prune

if TYPE_CHECKING:
    from screens.app import AgentConsoleApp

log = logging.getLogger(__name__)

POLL_SECONDS = 0.2  # a change shows on every other console within a fraction of a second
PRESENCE_LOOK_SECONDS = 1.0  # presence is re-read at least this often, so expired rows disappear
PRUNE_SECONDS = 60.0


def watch(app: AgentConsoleApp, cancelled) -> None:
    """Run until *cancelled()*; posts ChangesSeen and PresenceSeen to the inbox screen.

    The thread keeps its own connections and closes them itself: the app's store may be closed while
    this thread is finishing its last poll, and a connection must never be closed under a query.
    """
    from screens.inbox.team import ChangesSeen, PresenceSeen

    store = Store(app.store.path, app.store.clock)
    me = presence.Presence(store, app.console_id, app.agent_id)
    feed = app.change_feed or ChangeFeed(app.store.path)
    seen: dict | None = None
    next_beat = next_look = 0.0
    next_prune = time.monotonic() + PRUNE_SECONDS / 6  # not while the console paints its first frames
    try:
        while not cancelled():
            now = time.monotonic()
            target = app.presence_target
            if target != app.presence_sent or now >= next_beat:
                me.beat(*target)
                app.presence_sent = target
                next_beat = now + presence.BEAT_SECONDS
            changes = feed.poll()
            inbox = app.inbox_screen()
            if changes is not None and inbox is not None and (changes.everything or changes.what - {"presence"}):
                inbox.post_message(ChangesSeen(changes))
            if (changes is not None and "presence" in changes.what) or now >= next_look:
                people = presence.others(store, app.agent_id)
                if people != seen and inbox is not None:
                    seen = people
                    inbox.post_message(PresenceSeen(people))
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
