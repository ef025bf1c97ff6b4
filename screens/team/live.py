"""The console's live link to the rest of the team: a thread that notices other connections' commits
(PRAGMA data_version), reads the change log and everyone's presence, and keeps this console's own
presence row beating."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from agentconsole.team import presence
from agentconsole.team.changes import ChangeFeed, prune

if TYPE_CHECKING:
    from screens.app import AgentConsoleApp

log = logging.getLogger(__name__)

POLL_SECONDS = 0.2  # a change shows on every other console within a fraction of a second
PRESENCE_LOOK_SECONDS = 1.0  # presence is re-read at least this often, so expired rows disappear
PRUNE_SECONDS = 60.0


def watch(app: AgentConsoleApp, cancelled) -> None:
    """Run until *cancelled()*; posts ChangesSeen and PresenceSeen to the inbox screen."""
    from screens.inbox.team import ChangesSeen, PresenceSeen

    feed = ChangeFeed(app.store.path)
    seen: dict | None = None
    next_beat = next_look = 0.0
    next_prune = time.monotonic() + PRUNE_SECONDS / 6  # not while the console paints its first frames
    try:
        while not cancelled():
            now = time.monotonic()
            target = app.presence_target
            if target != app.presence_sent or now >= next_beat:
                app.presence.beat(*target)
                app.presence_sent = target
                next_beat = now + presence.BEAT_SECONDS
            changes = feed.poll()
            inbox = app.inbox_screen()
            if changes is not None and inbox is not None and (changes.everything or changes.what - {"presence"}):
                inbox.post_message(ChangesSeen(changes))
            if (changes is not None and "presence" in changes.what) or now >= next_look:
                people = presence.others(app.store, app.agent_id)
                if people != seen and inbox is not None:
                    seen = people
                    inbox.post_message(PresenceSeen(people))
                next_look = now + PRESENCE_LOOK_SECONDS
            if now >= next_prune:
                next_prune = now + PRUNE_SECONDS
                with app.store.transaction() as conn:
                    prune(conn)
                presence.sweep(app.store)
            time.sleep(POLL_SECONDS)
    finally:
        feed.close()
        try:
            app.presence.leave()
        except Exception:  # the store may be closing with the app: the row expires on its own
            log.debug("could not remove this console's presence row", exc_info=True)
