"""The inbox's verbs on the conversation under the cursor that need no feature of their own: done (again to
reopen) and the jump to the most urgent wait."""

from __future__ import annotations

from dataclasses import dataclass

from textual import work
from textual.message import Message

from agentconsole.domain.models import Status

from screens.inbox.verbs import InboxVerbs


class ListVerbs(InboxVerbs):
    @dataclass
    class LongestFound(Message):
        """The most urgent waiting conversation was found (None when nothing waits)."""
        conversation_id: int | None

    def check_feature(self, action: str) -> bool | None:
        if action == "done":
            return self._current() is not None or None
        return super().check_feature(action)

    def action_done(self) -> None:
        conversation = self._current()
        if conversation is not None:
            self._toggle_done(conversation.id, conversation.status)

    @work(thread=True, group="actions", exit_on_error=False, description="Marking done")
    def _toggle_done(self, conversation_id: int, status: str) -> None:
        new = self.session.toggle_done(conversation_id, status)
        note = "Marked done" if new == Status.DONE else "Reopened"
        if new == Status.DONE and self.session.survey_queued(conversation_id):  # issue 23's survey
            note += " · satisfaction question queued"
        self.post_message(self.ActionFinished(note))

    def action_longest(self) -> None:
        self._find_longest()

    @work(thread=True, exclusive=True, group="longest", exit_on_error=False, description="Finding the longest wait")
    def _find_longest(self) -> None:
        self.post_message(self.LongestFound(self.session.most_urgent()))

    def on_list_verbs_longest_found(self, message: LongestFound) -> None:
        if message.conversation_id is None:
            self.notify("Nobody is waiting.", timeout=3)
        else:
            self.go_to(message.conversation_id)
