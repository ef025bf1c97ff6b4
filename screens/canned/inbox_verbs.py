"""The inbox's canned-reply verb: the picker, best match and our earlier answers first, into the composer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual import work
from textual.binding import Binding
from textual.message import Message

from agentconsole.domain.rows import ConversationRow

from screens.composer.composer import ComposerMode
from screens.inbox.verbs import InboxVerbs

if TYPE_CHECKING:
    from screens.canned.picker import Picked


class CannedVerbs(InboxVerbs):
    BINDINGS = [
        Binding("t", "canned", "Canned", id="inbox.canned", tooltip="Canned reply picker, best match first"),
        Binding("ctrl+t", "canned", "Canned", id="composer.canned", show=False,
                tooltip="Canned reply picker (inside the composer too)"),
    ]

    @dataclass
    class CannedReady(Message):
        """The canned-reply picker's data was read: the conversation and its values."""
        conversation: ConversationRow
        values: dict
        message: str

    def check_feature(self, action: str) -> bool | None:
        if action == "canned":
            return self._current() is not None or None
        return super().check_feature(action)

    def feature_palette_commands(self) -> list[tuple[str, str, object]]:
        from screens.canned.picker import CannedScreen

        return [("Canned replies: manage", "Create, edit, duplicate and delete canned replies",
                 lambda: self.app.push_screen(CannedScreen(self.session.canned))),
                *super().feature_palette_commands()]

    def action_canned(self) -> None:
        conversation = self._current()
        if conversation is not None:
            self._canned_context(conversation)

    @work(thread=True, exclusive=True, group="canned", exit_on_error=False, description="Ranking the canned replies")
    def _canned_context(self, conversation: ConversationRow) -> None:
        self.post_message(self.CannedReady(conversation, self.customer_values(conversation),
                                           self.session.last_inbound_text(conversation.id)))

    def on_canned_verbs_canned_ready(self, message: CannedReady) -> None:
        from screens.canned.history_picker import HistoryPickerModal

        conversation = message.conversation

        def picked(choice: Picked | None) -> None:
            if choice is None:
                return
            composer = self.composer
            if not (composer.display and composer.mode == ComposerMode.REPLY and composer.conversation is not None
                    and composer.conversation.id == conversation.id):
                self._open_composer(ComposerMode.REPLY)
            self.composer.insert_canned(choice.text, choice.template_id)

        self.app.push_screen(HistoryPickerModal(
            self.session.canned, message.values, message=message.message,
            channel=conversation.channel, kind=conversation.kind, limit=self.limit_for(conversation),
            history=self.session.history, conversation_id=conversation.id), picked)
