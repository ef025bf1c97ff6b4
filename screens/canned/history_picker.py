"""The canned picker with answers from history beside it: our replies to the earlier questions most like
this customer's, ranked, with date and channel, inserted filled for this customer (tab to reach them)."""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Mapping
from datetime import UTC, datetime

from rich.text import Text
from typing import TYPE_CHECKING

from textual import on, work
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from agentconsole.domain.models import Channel
from agentconsole.domain.sanitize import one_line
from agentconsole.replies.canned import CannedLibrary

from screens.canned.picker import CannedReplyModal, Picked, filled_text

if TYPE_CHECKING:
    from agentconsole.knowledge.history import History, PastAnswer


def channel_label(channel: str) -> str:
    try:
        return Channel(channel).label
    except ValueError:
        return channel


def option_for(answer: PastAnswer, values: Mapping[str, str | None]) -> Option:
    when = datetime.fromtimestamp(answer.answered_at, UTC).strftime("%Y-%m-%d")
    prompt = Text(no_wrap=True, overflow="ellipsis")
    prompt.append(f"{when} {channel_label(answer.channel)}", style="dim")
    if answer.uses > 1:
        prompt.append(f" ×{answer.uses}", style="dim")
    prompt.append("  " + one_line(answer.filled(values).text, 200))
    return Option(prompt)


class HistoryPickerModal(CannedReplyModal):
    """CannedReplyModal plus the answers-from-history list under it."""

    CSS_PATH = ["canned.tcss", "history.tcss"]

    @dataclass
    class AnswersLoaded(Message):
        answers: list[PastAnswer]
        error: str = ''

    def __init__(self, library: CannedLibrary, values: Mapping[str, str | None], *, history: History,
                 conversation_id: int | None, **kwargs) -> None:
        super().__init__(library, values, **kwargs)
        self._history = history
        self._conversation_id = conversation_id
        self._answers: list[PastAnswer] = []

    def on_mount(self) -> None:
        super().on_mount()
        box = Vertical(Static(Text("We answered this before · looking…"), id="history-title"),
                       OptionList(id="history-list"), id="history-box")
        self.query_one("#canned-picker").mount(box, before="#picker-hint")
        self.query_one("#picker-hint", Static).update(
            Text("enter insert · ↑↓ choose · tab answers from history · esc close"))
        self._load_answers()

    @work(thread=True, exclusive=True, exit_on_error=False, group="history-answers",
          description="Looking up our earlier answers")
    def _load_answers(self) -> None:
        try:
            answers = self._history.answers(self._message, self._conversation_id)
        except Exception as exc:  # the canned replies still work without it; say why it is empty
            self.post_message(self.AnswersLoaded([], f"could not search earlier answers ({exc})"))
            raise
        self.post_message(self.AnswersLoaded(answers))

    def on_history_picker_modal_answers_loaded(self, message: AnswersLoaded) -> None:
        self._answers = message.answers
        title = self.query_one("#history-title", Static)
        if message.error:
            title.update(Text(f"We answered this before · {message.error}"))
        elif not message.answers:
            title.update(Text("We answered this before · nothing similar answered yet"))
        else:
            title.update(Text(f"We answered this before · {len(message.answers)} · tab to choose"))
        listing = self.query_one("#history-list", OptionList)
        listing.clear_options()
        listing.add_options([option_for(a, self._values) for a in message.answers])

    def _current_answer(self) -> PastAnswer | None:
        listing = self.query_one("#history-list", OptionList)
        index = listing.highlighted
        if not listing.has_focus or index is None or not 0 <= index < len(self._answers):
            return None
        return self._answers[index]

    @on(OptionList.OptionHighlighted, "#history-list")
    def _preview_answer(self) -> None:
        answer = self._current_answer()
        if answer is None:
            return
        text = filled_text(answer.filled(self._values))
        when = datetime.fromtimestamp(answer.answered_at, UTC).strftime("%Y-%m-%d")
        text.append(f"\n\nsent {when} on {channel_label(answer.channel)}"
                    + (f", {answer.uses} times" if answer.uses > 1 else "") + ", to: ", style="dim")
        text.append(one_line(answer.question, 160), style="dim italic")
        self.query_one("#picker-preview", Static).update(text)

    @on(OptionList.OptionSelected, "#history-list")
    def _answer_selected(self, event: OptionList.OptionSelected) -> None:
        event.option_list.highlighted = event.option_index
        self.action_pick()

    def on_descendant_focus(self) -> None:
        listing = self.query_one("#history-list", OptionList)
        if listing.has_focus and listing.highlighted is None and self._answers:
            listing.highlighted = 0
        if self._current_answer() is not None:
            self._preview_answer()
        else:
            self._preview()

    def action_pick(self) -> None:
        answer = self._current_answer()
        if answer is None:
            super().action_pick()
            return
        filled = answer.filled(self._values)
        self.dismiss(Picked(None, "", filled.text, filled.gaps))  # type: ignore[arg-type]  # not a canned reply
