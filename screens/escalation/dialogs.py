"""The DM-escalation dialog (one public post) and the crisis-mode dialog (many marked posts)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Label, Static, TextArea

from agentconsole.replies import escalation

from agentconsole.replies import guard

from agentconsole.replies import templates
from agentconsole.replies.escalation_texts import (ASK_TO_DM, CRISIS_DM_DEFAULT, DM_DEFAULT, PUBLIC_DEFAULT,  # noqa: F401
                                                   STATUS_DEFAULT, EscalationTexts)
from agentconsole.replies.lengths import measure
from agentconsole.domain.models import Channel, Kind
from agentconsole.domain.records import DECIDABLE, OutboxState
from agentconsole.domain.rows import AgentRow, ConversationRow

from screens.common.safe import safe_text

if TYPE_CHECKING:
    from agentconsole.session.session import Session

# The crisis sends ctrl+r tries again (Session.retry_crisis resends these).
RETRIED = (OutboxState.FAILED, OutboxState.UNSURE)


class _TextsDialog(ModalScreen):
    """Editable texts, each with its channel's live length and the send guard's verdict."""

    DEFAULT_CSS = """
    _TextsDialog { align: center middle; }
    _TextsDialog > Vertical { width: 90%; max-width: 100; height: auto; max-height: 95%;
        border: round $accent; background: $panel; padding: 0 1; }
    _TextsDialog TextArea { height: 5; }
    _TextsDialog .status { color: $text-muted; }
    _TextsDialog .status.-error { color: $error; text-style: bold; }
    _TextsDialog #crisis-recipients { height: auto; max-height: 8; }
    """
    BINDINGS = [
        Binding("ctrl+s", "confirm", "Send", id="dialog.send", tooltip="Queue it all for sending"),
        Binding("escape", "cancel", "Cancel", id="dialog.cancel", tooltip="Close; nothing is sent"),
    ]

    def __init__(self, channel: str, limit: int | None) -> None:
        super().__init__()
        self.channel = channel
        self.limit = limit
        self._kinds: dict[str, Kind] = {}

    def text_area(self, area_id: str, text: str, kind: Kind) -> ComposeResult:
        self._kinds[area_id] = kind
        yield TextArea(text, id=area_id, soft_wrap=True)
        yield Static("", id=f"{area_id}-status", classes="status")

    def on_mount(self) -> None:
        for area_id in self._kinds:
            self._update(area_id)
        self.query(TextArea).first().focus()

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        if event.text_area.id in self._kinds:
            self._update(event.text_area.id)

    def _verdict(self, area_id: str) -> guard.Verdict:
        text = self.query_one(f"#{area_id}", TextArea).text
        limit = self.limit if self._kinds[area_id] == Kind.PUBLIC else None
        return guard.check(text, self.channel, self._kinds[area_id], limit=limit)

    def _judge(self, area_id: str) -> tuple[str, tuple[str, ...]]:
        """(the length line, what blocks sending) for one text area."""
        verdict = self._verdict(area_id)
        return verdict.length.describe(), verdict.blocks

    def _update(self, area_id: str) -> bool:
        length, blocks = self._judge(area_id)
        status = self.query_one(f"#{area_id}-status", Static)
        line = Text(length)
        if blocks:
            line.append(" · " + " · ".join(blocks))
        status.set_class(bool(blocks), "-error")
        status.update(line)
        return not blocks

    def texts_ok(self) -> bool:
        return all([self._update(area_id) for area_id in self._kinds])

    def action_cancel(self) -> None:
        self.dismiss(None)


class EscalateModal(_TextsDialog):
    """Move one public post to DM: returns (dm text, public text) or None."""

    def __init__(self, conversation: ConversationRow, texts: EscalationTexts, limit: int | None, *,
                 private_reply: bool = False) -> None:
        super().__init__(conversation.channel, limit)
        self.conversation = conversation
        self.texts = texts
        self.private_reply = private_reply  # Meta: the DM is the comment's one private reply

    def compose(self) -> ComposeResult:
        channel = Channel(self.conversation.channel).label
        with Vertical():
            title = Text(f"Move to DM on {channel} with ", style="bold")
            title.append_text(safe_text(self.conversation.contact_name or self.conversation.handle,
                                        single_line=True, limit=60))
            yield Label(title)
            first, second = (("1. The private reply to this comment, sent first (one per comment; the thread "
                              "continues once the customer answers)",
                              "2. The public note, posted only once the private reply was accepted")
                             if self.private_reply else
                             ("1. The DM, sent first", "2. The public reply, posted only once the DM was accepted"))
            yield Label(Text(first))
            yield from self.text_area("dm-text", self.texts.dm, Kind.DM)
            yield Label(Text(second))
            yield from self.text_area("public-text", self.texts.public, Kind.PUBLIC)
            yield Static(Text("ctrl+s send · esc cancel · if the DM is refused nothing public is posted"),
                         classes="status")

    def action_confirm(self) -> None:
        if self.texts_ok():
            self.dismiss((self.query_one("#dm-text", TextArea).text, self.query_one("#public-text", TextArea).text))


class CrisisModal(_TextsDialog):
    """One public status and a DM to each marked person, with progress, failures and retry."""

    BINDINGS = [
        Binding("ctrl+r", "retry", "Retry failed", id="dialog.retry", tooltip="Send the failed DMs again"),
    ]

    class Planned(Message):
        def __init__(self, plan: escalation.CrisisPlan | None, error: str = "") -> None:
            super().__init__()
            self.plan, self.error = plan, error

    class Progress(Message):
        def __init__(self, rows: list, statuses: list[tuple[str, str, str]]) -> None:
            super().__init__()
            self.rows = rows
            self.statuses = statuses

    def __init__(self, session: Session, conversation_ids: list[int], agent: AgentRow,
                 kick: Callable[[], None]) -> None:
        rows = session.conversations_by_ids(conversation_ids)
        self.rows = [rows[i] for i in conversation_ids if i in rows]
        super().__init__(self.rows[0].channel if self.rows else Channel.X, None)
        self.session, self.agent, self.kick = session, agent, kick
        self.plan: escalation.CrisisPlan | None = None
        self.opened_at = session.clock.now()  # posts someone else answers from now on are skipped

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(f"Crisis mode · {len(self.rows)} marked post(s)", style="bold"))
            yield Label(Text("Public status (once per account)"))
            yield from self.text_area("status-text", STATUS_DEFAULT, Kind.PUBLIC)
            yield Label(Text("DM to each person ({first_name} and the like are filled per person)"))
            yield from self.text_area("crisis-dm", CRISIS_DM_DEFAULT, Kind.DM)
            for skipped in self.session.crisis_status_skips([r.id for r in self.rows]):
                yield Static(Text(f"No status: {skipped}", "italic"), classes="status")
            with VerticalScroll(id="crisis-recipients"):
                yield Static(self._recipients(), id="recipients")
            yield Static(Text("ctrl+s send · ctrl+r retry failed · esc close"), classes="status")

    def _dm_texts(self, template: str) -> dict[int, str]:
        return {row.id: templates.fill(template, templates.values_for(row, self.agent)).text for row in self.rows}

    def _judge(self, area_id: str) -> tuple[str, tuple[str, ...]]:
        """The status is measured on every account it goes to (strictest first); the DM is a template,
        checked as written and then as filled for each person, since that is what each one reads."""
        ids = [row.id for row in self.rows]
        text = self.query_one(f"#{area_id}", TextArea).text
        if area_id == "status-text":
            fits = self.session.crisis_status_fits(ids, text)
            line = " · ".join(f"{fit.length.describe()} {fit.label}" for fit in fits) or "nobody to post to"
            warnings = [w for w in (self.session.send_warning(fit.account_id, text) for fit in fits) if w]
            if warnings:  # it may go, but the agent should know first (X bills a post with a link more)
                line += " · ⚠ " + "; ".join(dict.fromkeys(warnings))
            blocks = tuple(f"too long for {fit.label}" for fit in fits if fit.length.over)
            return line, blocks + (("the status is empty",) if not text.strip() else ())
        error = templates.check(text)
        if error is not None:
            return "", (f"the DM template: {error}",)
        problems = self.session.crisis_problems(ids, status_text="-", dm_texts=self._dm_texts(text))
        dms = self._dm_texts(text)
        lengths = [measure(dms[row.id], row.channel, Kind.DM) for row in self.rows]
        longest = max(lengths, key=lambda n: n.used, default=None)
        return longest.describe() if longest else "", tuple(p for p in problems if p.startswith("DM to"))

    def _recipients(self) -> Text:
        text = Text()
        seen: set[int | None] = set()
        for row in self.rows:
            reason = self.session.why_not_escalate(row.id)
            if reason is None and row.contact_id in seen:
                reason = "same person as another marked post: one DM covers both"
            seen.add(row.contact_id)
            text.append("✗ " if reason else "✓ ", "bold")
            text.append_text(safe_text(row.contact_name or row.handle, single_line=True, limit=40))
            text.append(f" · {Channel(row.channel).label}")
            if reason:
                text.append(f" · no DM: {reason}", "italic")
            text.append("\n")
        return text

    def action_confirm(self) -> None:
        if self.plan is not None or not self.texts_ok():
            return
        self.query_one("#recipients", Static).update(Text("Queuing…"))
        self._run(self.query_one("#status-text", TextArea).text, self.query_one("#crisis-dm", TextArea).text)

    @work(thread=True, exclusive=True, group="crisis", exit_on_error=False, description="Starting crisis mode")
    def _run(self, status: str, dm_template: str) -> None:
        dms = self._dm_texts(dm_template)
        try:
            plan = self.session.crisis([r.id for r in self.rows], status_text=status, dm_texts=dms,
                                       opened_at=self.opened_at)
        except Exception as exc:  # shown in the dialog, which stays open
            self.post_message(self.Planned(None, f"{type(exc).__name__}: {exc}"))
            return
        self.app.call_from_thread(self.kick)
        self.post_message(self.Planned(plan))

    def on_crisis_modal_planned(self, message: Planned) -> None:
        if message.plan is None:
            self.query_one("#recipients", Static).update(Text(f"Nothing was queued: {message.error}", "bold"))
            return
        self.plan = message.plan
        self.set_interval(1.0, self._poll)
        self._poll()

    def _poll(self) -> None:
        if self.plan is not None:
            self._progress(self.plan.batch)

    @work(thread=True, exclusive=True, group="crisis-progress", exit_on_error=False, description="Following crisis mode")
    def _progress(self, batch: str) -> None:
        assert self.plan is not None
        self.post_message(self.Progress(*self.session.crisis_progress(self.plan)))

    def on_crisis_modal_progress(self, message: Progress) -> None:
        assert self.plan is not None
        text = Text()
        for label, state, error in message.statuses:  # every account's public status, each on its own
            text.append(f"Status on {label}: ", "bold")
            text.append(state, "bold" if state in DECIDABLE else "")
            if error and state != OutboxState.SENT:
                text.append(" · ")
                text.append_text(safe_text(error, single_line=True, limit=80))
            text.append("\n")
        sent = sum(1 for row in message.rows if row[2] == OutboxState.SENT)
        failed = [row for row in message.rows if row[2] in RETRIED]
        failed += [status for status in message.statuses if status[1] in RETRIED]
        text.append(f"DMs sent {sent}/{len(message.rows)}", "bold")
        if failed:
            text.append(f" · {len(failed)} failed (ctrl+r to retry)", "bold")
        text.append("\n")
        for _conversation_id, name, state, error in message.rows:
            text.append(f"{state:>9} ")
            text.append_text(safe_text(name, single_line=True, limit=40))
            if error and state != OutboxState.SENT:
                text.append(" · ")
                text.append_text(safe_text(error, single_line=True, limit=80))
            text.append("\n")
        for conversation_id, reason in self.plan.skipped:
            text.append(f"  skipped #{conversation_id}: {reason}\n", "italic")
        self.query_one("#recipients", Static).update(text)

    def action_retry(self) -> None:
        if self.plan is not None:
            self._retry(self.plan)

    @work(thread=True, group="crisis-retry", exit_on_error=False, description="Retrying crisis mode")
    def _retry(self, plan: escalation.CrisisPlan) -> None:
        self.session.retry_crisis(plan)
        self.app.call_from_thread(self.kick)

    def action_cancel(self) -> None:
        self.dismiss(self.plan is not None)
