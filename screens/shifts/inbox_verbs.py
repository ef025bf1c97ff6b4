"""The inbox's shift verbs: start or end a shift from its form, and the shift banner kept current."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual import work
from textual.binding import Binding
from textual.message import Message

from screens.inbox.verbs import InboxVerbs
from screens.shifts.line import ShiftBanner

if TYPE_CHECKING:
    from agentconsole.shifts.banner import Banner

    from screens.shifts.dialogs import EndShiftRequest, StartShiftRequest

BANNER_REFRESH_SECONDS = 30.0


class ShiftVerbs(InboxVerbs):
    BINDINGS = [
        Binding("S", "shift", "Shift", id="inbox.shift", show=False, tooltip="Start or end your shift"),
    ]

    @dataclass
    class BannerLoaded(Message):
        """The shift banner's state was read."""
        banner: Banner

    @dataclass
    class ShiftFormReady(Message):
        """The start or end shift form's data was read."""
        form: Any  # a StartForm or an EndForm
        ending: bool

    def feature_palette_commands(self) -> list[tuple[str, str, object]]:
        from screens.shifts.history import ShiftHistoryScreen

        return [("Shift history", "Who was on, from when to when, what they answered",
                 lambda: self.app.push_screen(ShiftHistoryScreen(self.session.shift_history,
                                                                 self.app.agent_row.timezone, self.app.clock))),
                *super().feature_palette_commands()]

    def keep_banner_current(self) -> None:
        """Called once the first rows are up (the shift service and its imports are not part of the first
        frame): the banner now, then within this interval of a shift others start or end (the team
        watcher's events come sooner)."""
        self.load_banner()
        self.set_interval(BANNER_REFRESH_SECONDS, self.load_banner, name="banner")

    @work(thread=True, exclusive=True, group="banner", exit_on_error=False, description="Loading the shift banner")
    def load_banner(self) -> None:
        self.post_message(self.BannerLoaded(self.session.banner()))

    def on_shift_verbs_banner_loaded(self, message: BannerLoaded) -> None:
        self.query_one(ShiftBanner).show(message.banner)

    def action_shift(self) -> None:
        self._shift_form()

    @work(thread=True, exclusive=True, group="shift", exit_on_error=False, description="Preparing the shift form")
    def _shift_form(self) -> None:
        from agentconsole.shifts.service import EndForm  # not needed for the first frame

        form = self.session.shift_form()
        self.post_message(self.ShiftFormReady(form, isinstance(form, EndForm)))

    def on_shift_verbs_shift_form_ready(self, message: ShiftFormReady) -> None:
        from screens.shifts.dialogs import EndShiftModal, StartShiftModal

        modal_class = EndShiftModal if message.ending else StartShiftModal
        self.app.push_screen(modal_class.from_form(message.form, self.app.clock), self._shift_chosen)

    def _shift_chosen(self, request: StartShiftRequest | EndShiftRequest | None) -> None:
        if request is not None:
            self._apply_shift(request)

    @work(thread=True, group="actions", exit_on_error=False, description="Changing the shift")
    def _apply_shift(self, request: StartShiftRequest | EndShiftRequest) -> None:
        from agentconsole.shifts.service import ShiftError
        from screens.shifts.dialogs import StartShiftRequest

        app, session = self.app, self.session
        try:
            if isinstance(request, StartShiftRequest):
                session.start_shift(planned_end=request.planned_end, hello=request.hello,
                                    acknowledge=request.acknowledge)
                note = "Shift started" + (": hello posts queued" if request.hello else "")
            else:
                session.end_shift(goodbye=request.goodbye, next_agent=request.next_agent,
                                  next_start=request.next_start, note=request.note, assignments=request.assignments)
                note = "Shift ended: hand-off note saved" + (", goodbye posts queued" if request.goodbye else "")
        except ShiftError as exc:
            self.post_message(self.ActionFinished("", f"Shift not changed: {exc}"))
            return
        app.call_from_thread(app.kick_engine)
        self.post_message(self.ActionFinished(note))
        self.load_banner()
