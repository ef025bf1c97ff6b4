"""The console's live link to the rest of the team: the session's team watcher, whose news is posted to
the inbox screen as messages."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from screens.app import AgentConsoleApp


def watch(app: AgentConsoleApp, cancelled: Callable[[], bool]) -> None:
    """Run until *cancelled()* (in a worker thread); posts ChangesSeen and PresenceSeen to the inbox."""
    from screens.inbox.team import ChangesSeen, PresenceSeen

    def changed(changes) -> None:
        inbox = app.inbox_screen()
        if inbox is not None:
            inbox.post_message(ChangesSeen(changes))

    def people(present) -> None:
        inbox = app.inbox_screen()
        if inbox is not None:
            inbox.post_message(PresenceSeen(present))

    app.session.watch_team(cancelled, changed, people)
