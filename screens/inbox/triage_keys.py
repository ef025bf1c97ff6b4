"""The inbox's triage verb: `!` corrects how upset or urgent the selected wait reads (calm → upset →
angry → calm); the correction is stored and the list re-ranks. InboxScreen inherits it."""

from __future__ import annotations

from dataclasses import dataclass

from textual import work
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen

from agentconsole.triage.score import Level

_LABELS = {Level.CALM: "calm", Level.UPSET: "upset (!)", Level.ANGRY: "angry or urgent (!!)"}


class TriageScreen(Screen):
    """The inbox screen supplies conversations and session."""

    BINDINGS = [
        Binding("exclamation_mark", "correct_heat", "Heat", id="inbox.correct_heat", show=False,
                tooltip="Correct how upset or urgent this customer reads: calm, upset (!), angry (!!)"),
    ]

    @dataclass
    class HeatCorrected(Message):
        """The agent corrected a conversation's heat level."""
        conversation_id: int
        level: Level | None

    def action_correct_heat(self) -> None:
        conversation_id = self.conversations.selected_id
        if conversation_id is None:
            self.notify("No conversation selected.", timeout=3)
            return
        self._correct_heat(conversation_id)

    @work(thread=True, exclusive=True, group="heat", exit_on_error=False, description="Correcting the heat")
    def _correct_heat(self, conversation_id: int) -> None:
        level = self.session.correct_heat(conversation_id)
        self.post_message(self.HeatCorrected(conversation_id, level))

    def on_triage_screen_heat_corrected(self, message: HeatCorrected) -> None:
        if message.level is None:
            self.notify("Nothing waits there: only a waiting customer is ranked.", timeout=4)
            return
        self.notify(f"Marked {_LABELS[message.level]} (! again to change); the list re-ranks.", timeout=3)
        # The session's change event re-ranks that row (DataChanged).
