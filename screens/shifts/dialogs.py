"""The start and end shift dialogs (the banner line is in shift_line, the history in shift_history)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, RadioSet, Static, TextArea

from agentconsole.domain.clock import Clock
from agentconsole.domain.models import Channel
from agentconsole.domain.rows import AgentRow
from agentconsole.domain.sanitize import clean, one_line
from agentconsole.shifts.times import hhmm, next_at, short_time
from agentconsole.shifts.service import (AccountSettings, EndForm, Handover, ShiftRow, StartForm, preview_post,
                                 shift_values)

from screens.common.toggles import MarkedCheckbox, MarkedRadioButton
from screens.shifts.history import ShiftHistoryScreen
from screens.shifts.line import ShiftBanner

__all__ = ["EndShiftModal", "EndShiftRequest", "ShiftBanner", "ShiftHistoryScreen", "StartShiftModal",
           "StartShiftRequest"]

class PostRow(Vertical):
    """One account's hello or goodbye: whether it goes, its template, and the live preview with length."""

    def __init__(self, settings: AccountSettings, template: str, checked: bool) -> None:
        super().__init__(classes="post-row")
        self.settings = settings
        self._template = template
        self._checked = checked and settings.can_post

    def compose(self) -> ComposeResult:
        account = self.settings.account
        label = f"{one_line(account.name, 40)} · {Channel(account.channel).label}"
        yield MarkedCheckbox(Content(label), self._checked, disabled=not self.settings.can_post,
                       classes="post-check")
        yield Input(self._template, disabled=not self.settings.can_post, classes="post-template",
                    tooltip="Template: {agent_first_name}, {shift_end}, {next_agent}, {next_start} …")
        yield Static(classes="post-preview")

    @property
    def chosen(self) -> bool:
        return self.settings.can_post and self.query_one(".post-check", Checkbox).value

    @property
    def template(self) -> str:
        return self.query_one(".post-template", Input).value

    def set_template(self, template: str) -> None:
        self.query_one(".post-template", Input).value = template

    def update_preview(self, values: dict[str, str | None]) -> str:
        """Redraw the preview; returns the problem that stops this post ("" when it can go)."""
        preview = preview_post(self.settings, self.template, values)
        out = Text(end="")
        if not self.settings.can_post:
            out.append(f"✗ {self.settings.why_not}", "italic")
            problem = ""
        elif not self.chosen:
            out.append("(not posting here)", "italic")
            problem = ""
        else:
            out.append(preview.text or "(empty)")
            out.append(f"  {preview.length.describe()}", "bold")
            session = getattr(self.app, "session", None)
            warning = session.send_warning(self.settings.account.id, preview.text) if session else ""
            if warning:  # it may go, but the agent should know before it does (X's price of a link)
                out.append(f"  ⚠ {warning}", "italic")
            if preview.problem:
                out.append(f"  ✗ {preview.problem}", "bold reverse")
            problem = preview.problem
        self.query_one(".post-preview", Static).update(out)
        return problem


@dataclass(frozen=True, slots=True)
class StartShiftRequest:
    planned_end: float | None
    hello: dict[int, str]  # account id -> template
    acknowledge: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class EndShiftRequest:
    goodbye: dict[int, str]
    next_agent: str | None
    next_start: float | None
    note: str
    assignments: Handover


def note_lines(note: str) -> ComposeResult:
    """A hand-off note line by line; a "- " item wraps under its own text (a hanging indent), so a
    wrapped line never reads as the next item."""
    for line in clean(note).splitlines() or [""]:
        bullet = line[:2] if line[:2] in ("- ", "* ", "• ") else ""
        if bullet:
            with Horizontal(classes="note-item"):
                yield Static("• ", classes="note-bullet")
                yield Static(Text(line[2:], end=""), classes="note-text")
        else:
            yield Static(Text(line, end=""), classes="note-line")


class _ShiftDialog(ModalScreen):
    """What the start and end dialogs share: post rows with previews, post nothing, confirm/cancel.

    Each dialog supplies `_values()` (the placeholder values its fields give) and `action_confirm()`.
    """

    CSS_PATH = "shift.tcss"
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="shift.cancel", tooltip="Close without changing the shift"),
        Binding("ctrl+s", "confirm", "Confirm", id="shift.confirm", tooltip="Confirm and queue the posts"),
    ]

    def __init__(self, agent: AgentRow, accounts: list[AccountSettings], clock: Clock) -> None:
        super().__init__()
        self.agent = agent
        self.accounts = accounts
        self.clock = clock

    def _rows(self) -> list[PostRow]:
        return list(self.query(PostRow))

    def _refresh_previews(self) -> dict[int, str]:
        values = self._values()
        return {row.settings.account.id: row.update_preview(values) for row in self._rows()}

    def _status(self, message: str) -> None:
        self.query_one("#shift-status", Static).update(Text(message, end=""))

    def _time(self, selector: str) -> float | None:
        """The HH:MM typed in *selector* as the next such moment, None when empty; ValueError when wrong."""
        raw = self.query_one(selector, Input).value.strip()
        return next_at(raw, self.agent.timezone, self.clock.now()) if raw else None

    def _posts(self) -> dict[int, str] | None:
        """The chosen posts, or None (with the reason shown) while one of them cannot go."""
        if self.query_one("#post-nothing", Checkbox).value:
            return {}
        problems = self._refresh_previews()
        for row in self._rows():
            if row.chosen and problems[row.settings.account.id]:
                self._status(f"{row.settings.account.name}: {problems[row.settings.account.id]}"
                             " — fix the text or untick the account")
                return None
        return {row.settings.account.id: row.template for row in self._rows() if row.chosen}

    @on(Input.Changed)
    @on(Checkbox.Changed)
    def _changed(self) -> None:
        self._refresh_previews()
        problem = ""
        for field in self.query(".time-field").results(Input):
            try:
                self._time(f"#{field.id}")
            except ValueError as exc:  # a wrong or half-typed time: say so while the previews go on
                problem = str(exc)
        self._status(problem)

    @on(Checkbox.Changed, "#post-nothing")
    def _post_nothing(self, event: Checkbox.Changed) -> None:
        for row in self._rows():
            row.disabled = event.value

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#confirm")
    def _confirm_pressed(self) -> None:
        self.action_confirm()

    def _buttons(self, confirm: str) -> ComposeResult:
        """The status line and the buttons, outside the scrolling form so that they stay on screen."""
        with Vertical(id="shift-actions"):
            yield Static(id="shift-status")
            with Horizontal(classes="shift-buttons"):
                yield Button(f"{confirm} (ctrl+s)", id="confirm", variant="primary")
                yield Button("Cancel (esc)", id="cancel")


class StartShiftModal(_ShiftDialog):
    """Acknowledge the previous hand-off note first, then the planned end and the hello per account."""

    def __init__(self, agent: AgentRow, accounts: list[AccountSettings], handoffs: list[ShiftRow],
                 clock: Clock) -> None:
        super().__init__(agent, accounts, clock)
        self.handoffs = handoffs
        self.acknowledged = not handoffs

    @classmethod
    def from_form(cls, form: StartForm, clock: Clock) -> StartShiftModal:
        return cls(form.agent, form.accounts, form.handoffs, clock)

    def compose(self) -> ComposeResult:
        now = self.clock.now()
        with Vertical(id="shift-dialog"):
            yield Static(Text(f"Start shift — {one_line(self.agent.name, 40)}", end=""), classes="shift-title")
            if self.handoffs:
                with Vertical(id="handoff"):
                    with VerticalScroll(id="handoff-notes"):
                        for shift in self.handoffs:
                            yield Static(Text(f"Hand-off from {one_line(shift.agent_name, 40)} · ended "
                                              f"{short_time(shift.ended_at, self.agent.timezone, now)}",
                                              style="bold", end=""))
                            with Vertical(classes="handoff-note"):
                                yield from note_lines(shift.handoff_note)
                    yield Button("I have read it (enter)", id="acknowledge", variant="primary")
            with VerticalScroll(id="shift-form"):
                yield Static(f"Planned end (HH:MM, {self.agent.timezone})", classes="field-label")
                yield Input(placeholder="17:00 — empty for none", id="planned-end", classes="time-field")
                yield MarkedCheckbox("Post nothing", id="post-nothing")
                for settings in self.accounts:
                    yield PostRow(settings, settings.hello_template, settings.hello)
            yield from self._buttons("Start shift")

    def on_mount(self) -> None:
        self.query_one("#shift-form").display = self.acknowledged
        self.query_one("#shift-actions").display = self.acknowledged
        if not self.acknowledged:
            self.query_one("#acknowledge", Button).focus()
        else:
            self.query_one("#planned-end", Input).focus()
        self._refresh_previews()

    @on(Button.Pressed, "#acknowledge")
    def acknowledge(self) -> None:
        self.acknowledged = True
        self.query_one("#handoff").display = False
        self.query_one("#shift-form").display = True
        self.query_one("#shift-actions").display = True
        self.query_one("#planned-end", Input).focus()

    def _values(self) -> dict[str, str | None]:
        try:
            planned_end = self._time("#planned-end")
        except ValueError:
            planned_end = None
        return shift_values(self.agent, self.clock.now(), planned_end=planned_end)

    def action_confirm(self) -> None:
        if not self.acknowledged:
            self.acknowledge()
            return
        try:
            planned_end = self._time("#planned-end")
        except ValueError as exc:
            self._status(str(exc))
            return
        hello = self._posts()
        if hello is not None:
            self.dismiss(StartShiftRequest(planned_end, hello, tuple(s.id for s in self.handoffs)))


class EndShiftModal(_ShiftDialog):
    """The goodbye per account, who comes next and when, the hand-off note, and what happens to assignments."""

    def __init__(self, agent: AgentRow, shift: ShiftRow, accounts: list[AccountSettings],
                 hello_accounts: set[int], draft_note: str, clock: Clock) -> None:
        super().__init__(agent, accounts, clock)
        self.shift = shift
        self.hello_accounts = hello_accounts
        self.draft_note = draft_note
        self._had_next = bool(shift.next_agent)

    @classmethod
    def from_form(cls, form: EndForm, clock: Clock) -> EndShiftModal:
        return cls(form.agent, form.shift, form.accounts, set(form.hello_accounts), form.draft_note, clock)

    def compose(self) -> ComposeResult:
        with Vertical(id="shift-dialog"):
            yield Static(Text(f"End shift — {one_line(self.agent.name, 40)}", end=""), classes="shift-title")
            with VerticalScroll(id="shift-form"):
                with Horizontal(classes="next-fields"):
                    yield Input(self.shift.next_agent, placeholder="next agent (optional)", id="next-agent")
                    yield Input(hhmm(self.shift.next_start, self.agent.timezone),
                                placeholder=f"next start HH:MM ({self.agent.timezone})", id="next-start",
                                classes="time-field")
                yield MarkedCheckbox("Post nothing", id="post-nothing")
                for settings in self.accounts:
                    yield PostRow(settings, settings.goodbye_for(self._had_next),
                                  settings.account.id in self.hello_accounts)
                yield Static("My open assignments", classes="field-label")
                with RadioSet(id="assignments"):
                    yield MarkedRadioButton("Keep them", value=True, id="assign-keep")
                    yield MarkedRadioButton("Hand them to the next agent", id="assign-next")
                    yield MarkedRadioButton("Leave them unassigned", id="assign-unassign")
                yield Static("Hand-off note (shown to whoever starts next)", classes="field-label")
                yield TextArea(self.draft_note, id="handoff-note", soft_wrap=True)
            yield from self._buttons("End shift")

    def on_mount(self) -> None:
        self.query_one("#next-agent", Input).focus()
        self._refresh_previews()

    def _values(self) -> dict[str, str | None]:
        try:
            next_start = self._time("#next-start")
        except ValueError:
            next_start = None
        next_agent = self.query_one("#next-agent", Input).value.strip() or None
        return shift_values(self.agent, self.clock.now(), planned_end=self.shift.planned_end,
                            next_agent=next_agent, next_start=next_start)

    @on(Input.Changed, "#next-agent")
    def _next_changed(self, event: Input.Changed) -> None:
        has_next = bool(event.value.strip())
        if has_next == self._had_next:
            return
        # Rows still on the default text follow it; a template the agent edited is left alone.
        for row in self._rows():
            if row.template == row.settings.goodbye_for(self._had_next):
                row.set_template(row.settings.goodbye_for(has_next))
        self._had_next = has_next

    def action_confirm(self) -> None:
        try:
            next_start = self._time("#next-start")
        except ValueError as exc:
            self._status(str(exc))
            return
        next_agent = self.query_one("#next-agent", Input).value.strip() or None
        pressed = self.query_one("#assignments", RadioSet).pressed_button
        assignments = Handover((pressed.id or "assign-keep").removeprefix("assign-") if pressed else "keep")
        if assignments == Handover.NEXT and not next_agent:
            self._status("Name the next agent to hand your assignments to")
            return
        goodbye = self._posts()
        if goodbye is not None:
            self.dismiss(EndShiftRequest(goodbye, next_agent, next_start,
                                         self.query_one("#handoff-note", TextArea).text, assignments))
