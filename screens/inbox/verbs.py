"""The base every inbox verb group builds on: the session, per-conversation limits, and the host contract."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.screen import Screen

from agentconsole.domain.models import Capabilities
from agentconsole.domain.rows import ConversationRow

if TYPE_CHECKING:
    from agentconsole.session.session import Session

# What a verb group may call on the screen it is mixed into (InboxScreen or another of its groups provides
# each one; a test checks it): the open conversation, moving to one, the composer and the pane and its
# loader, the wait line, the finished-action toast, presence and the guarded send. The verb groups live in
# the feature folders (screens/canned, screens/composer, screens/escalation, ...).
HOST_NEEDS = ("_current", "go_to", "_pane_now", "composer", "_open_composer", "conversations", "pane",
              "refresh_pane", "view_index", "ActionFinished", "load_wait", "today_text", "compose_on_load",
              "show_pane_presence", "_send_reply", "load_pane")


def clean_name(row: ConversationRow) -> str:
    """A customer's name for a toast: one line, no escapes (toasts render plain strings as text)."""
    from agentconsole.domain.models import Channel
    from agentconsole.domain.sanitize import one_line

    return f"{one_line(row.contact_name or row.handle, 40)} ({Channel(row.channel).label})"


class InboxVerbs(Screen):
    """Shared by the verb groups; each group extends check_feature and feature_palette_commands in turn."""

    @property
    def session(self) -> Session:
        """The core's one door for this console (workers call it; the UI thread only for pure reads)."""
        return self.app.session

    def capabilities(self) -> dict[int, Capabilities]:
        return self.session.capabilities()

    def limit_for(self, conversation: ConversationRow) -> int | None:
        return self.session.limit_for(conversation)

    def customer_values(self, conversation: ConversationRow) -> dict:
        return self.session.customer_values(conversation)

    def check_feature(self, action: str) -> bool | None:
        """check_action for the verb groups' actions; True for any action no group claims."""
        return True

    def feature_palette_commands(self) -> list[tuple[str, str, object]]:
        """The verb groups' palette entries, each group adding its own."""
        return []
