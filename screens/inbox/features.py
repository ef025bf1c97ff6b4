"""The inbox's feature verbs: canned replies, DM escalation and crisis mode, marks, linked
conversations, shifts, metrics and account set-up. InboxScreen inherits them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen

from agentconsole.domain.models import Capabilities, Channel
from agentconsole.domain.rows import ConversationRow
from agentconsole.response.sla import format_wait

from screens.shifts.line import ShiftBanner

if TYPE_CHECKING:
    from agentconsole.session.session import Session

    from screens.canned.picker import Picked
    from screens.shifts.dialogs import EndShiftRequest, StartShiftRequest

# Dialogs and screens that are not on the first frame (canned replies, escalation, metrics, shifts)
# are imported where they open, so start-up does not pay for rapidfuzz, regex and friends.

TODAY_REFRESH_SECONDS = 30.0


def clean_name(row: ConversationRow) -> str:
    """A customer's name for a toast: one line, no escapes (toasts render plain strings as text)."""
    from agentconsole.domain.sanitize import one_line

    from agentconsole.domain.models import Channel

    return f"{one_line(row.contact_name or row.handle, 40)} ({Channel(row.channel).label})"

BANNER_REFRESH_SECONDS = 30.0


class FeatureScreen(Screen):
    """Verbs beyond reading and replying; the inbox screen supplies _current(), go_to() and reload()."""

    BINDINGS = [
        Binding("t", "canned", "Canned", id="inbox.canned", tooltip="Canned reply picker, best match first"),
        Binding("ctrl+t", "canned", "Canned", id="composer.canned", show=False,
                tooltip="Canned reply picker (inside the composer too)"),
        Binding("d", "escalate", "DM", id="inbox.escalate",
                tooltip="Move to DM: a DM first, then a public 'we've sent you a DM'"),
        Binding("space", "mark", "Mark", id="inbox.mark", show=False, tooltip="Mark for a bulk action"),
        Binding("D", "crisis", "Crisis", id="inbox.crisis", show=False,
                tooltip="Crisis mode: one public status and a DM to each marked person"),
        Binding("L", "linked", "Linked", id="inbox.linked", show=False,
                tooltip="Jump to the linked conversation (public ↔ DM)"),
        Binding("S", "shift", "Shift", id="inbox.shift", show=False, tooltip="Start or end your shift"),
        Binding("m", "metrics", "Metrics", id="inbox.metrics", show=False,
                tooltip="Response times and volumes, per channel and agent"),
        Binding("H", "heard", "Heard", id="inbox.heard", show=False,
                tooltip="Heard: brand talk that did not @mention you (keywords and hashtags)"),
    ]

    class CannedReady(Message):
        def __init__(self, conversation: ConversationRow, values: dict, message: str) -> None:
            super().__init__()
            self.conversation, self.values, self.message = conversation, values, message

    class EscalationReady(Message):
        def __init__(self, conversation: ConversationRow, texts) -> None:
            super().__init__()
            self.conversation, self.texts = conversation, texts

    class ShiftFormReady(Message):
        def __init__(self, form, ending: bool) -> None:
            super().__init__()
            self.form, self.ending = form, ending

    class BannerLoaded(Message):
        def __init__(self, banner) -> None:
            super().__init__()
            self.banner = banner

    class TodayLoaded(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Escalated(Message):
        def __init__(self, dm_conversation_id: int) -> None:
            super().__init__()
            self.dm_conversation_id = dm_conversation_id

    # ------------------------------------------------------------------ shared helpers

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
        """check_action for the verbs of this class; True for actions that are not ours."""
        current = self._current()
        if action == "canned":
            return current is not None or None
        # escalate and linked stay available on every conversation and say why when they don't apply:
        # dimming them per row would rebuild the footer on every cursor move (~10 ms a key).
        if action == "escalate" and current is not None and current.channel == Channel.EMAIL:
            return False  # email is private already: the verb never applies there, so it is not offered
        if action in ("escalate", "linked"):
            return current is not None or None
        return True

    def start_features(self) -> None:
        """Called once the first rows are up: the shift banner and today's figures, both kept fresh but
        not per second (the banner's shift service and its imports are not part of the first frame)."""
        self.load_banner()
        self.load_today()
        self.set_interval(BANNER_REFRESH_SECONDS, self.load_banner, name="banner")
        self.set_interval(TODAY_REFRESH_SECONDS, self.load_today, name="today")

    # ------------------------------------------------------------------ banner and today's figures

    @work(thread=True, exclusive=True, group="banner", exit_on_error=False, description="Loading the shift banner")
    def load_banner(self) -> None:
        self.post_message(self.BannerLoaded(self.session.banner()))

    def on_feature_screen_banner_loaded(self, message: BannerLoaded) -> None:
        self.query_one(ShiftBanner).show(message.banner)

    @work(thread=True, exclusive=True, group="today", exit_on_error=False, description="Loading today's figures")
    def load_today(self) -> None:
        figures = self.session.today_figures()
        if figures.first_response_median is None:
            text = "no first response yet today"
        else:
            text = (f"first response today: median {format_wait(figures.first_response_median)}, "
                    f"p90 {format_wait(figures.first_response_p90)}")
        if figures.response_rate is not None:
            text += f" · {figures.response_rate:.0%} answered"
        self.post_message(self.TodayLoaded(text))

    def on_feature_screen_today_loaded(self, message: TodayLoaded) -> None:
        self.today_text = message.text
        self.load_wait()

    # ------------------------------------------------------------------ crossing into "over"

    class CrossedOver(Message):
        def __init__(self, rows: list[ConversationRow]) -> None:
            super().__init__()
            self.rows = rows

    @work(thread=True, exclusive=True, group="crossings", exit_on_error=False, description="Checking the targets")
    def check_crossings(self) -> None:
        """Tell the agent once when a conversation goes over its target (not those over at launch)."""
        app = self.app
        now = app.clock.now()
        since = getattr(self, "_crossings_checked", None)
        self._crossings_checked = now
        if since is None or now <= since:
            return
        rows = self.session.crossed_over(since, now)
        if rows:
            self.post_message(self.CrossedOver(rows))

    def on_feature_screen_crossed_over(self, message: CrossedOver) -> None:
        config = self.app.config
        told = self.__dict__.setdefault("_told_over", set())
        fresh = [row for row in message.rows if row.id not in told]
        told.update(row.id for row in fresh)
        if not fresh:
            return
        self.app.notifications.over_target(fresh)  # [notify]: outside the console too
        if config.notify_on_over:
            names = ", ".join(clean_name(row) for row in fresh[:3]) + (" …" if len(fresh) > 3 else "")
            self.notify(f"Over target now: {names}", severity="warning", timeout=8)
        if config.bell_on_over:
            self.app.bell()

    # ------------------------------------------------------------------ canned replies

    def action_canned(self) -> None:
        conversation = self._current()
        if conversation is not None:
            self._canned_context(conversation)

    @work(thread=True, exclusive=True, group="canned", exit_on_error=False, description="Ranking the canned replies")
    def _canned_context(self, conversation: ConversationRow) -> None:
        self.post_message(self.CannedReady(conversation, self.customer_values(conversation),
                                           self.session.last_inbound_text(conversation.id)))

    def on_feature_screen_canned_ready(self, message: CannedReady) -> None:
        from screens.canned.history_picker import HistoryPickerModal

        conversation = message.conversation

        def picked(choice: Picked | None) -> None:
            if choice is None:
                return
            composer = self.composer
            if not (composer.display and composer.mode == "reply" and composer.conversation is not None
                    and composer.conversation.id == conversation.id):
                self._open_composer("reply")
            self.composer.insert_canned(choice.text, choice.template_id)

        self.app.push_screen(HistoryPickerModal(
            self.session.canned, message.values, message=message.message,
            channel=conversation.channel, kind=conversation.kind, limit=self.limit_for(conversation),
            history=self.session.history, conversation_id=conversation.id), picked)

    # ------------------------------------------------------------------ DM escalation

    def action_escalate(self) -> None:
        conversation = self._current()
        if conversation is None:
            return
        self._check_reach(conversation)

    @work(exclusive=True, group="escalate-check", exit_on_error=False, description="Asking whether a DM is possible")
    async def _check_reach(self, conversation: ConversationRow) -> None:
        """The core's reach rule, with the platform's live answer where the connector gives one."""
        reason = await self.session.why_not_escalate_now(conversation.id)
        if reason:
            self.notify(f"Can't move this to DM: {reason}.", severity="warning", timeout=6)
            return
        self._escalation_texts(conversation)

    @work(thread=True, exclusive=True, group="escalate", exit_on_error=False, description="Preparing the escalation")
    def _escalation_texts(self, conversation: ConversationRow) -> None:
        texts = self.session.escalation_texts(conversation)
        self.post_message(self.EscalationReady(conversation, texts))

    def on_feature_screen_escalation_ready(self, message: EscalationReady) -> None:
        from screens.escalation.dialogs import EscalateModal

        conversation = message.conversation
        opened_at = self.app.clock.now()  # the collision guard looks for answers from here on

        def chosen(result: tuple[str, str] | None) -> None:
            if result is not None:
                self._escalate(conversation.id, *result, opened_at)

        from agentconsole.domain.models import Channel
        from agentconsole.replies.reach import WINDOWED

        self.app.push_screen(EscalateModal(conversation, message.texts, self.limit_for(conversation),
                                           private_reply=Channel(conversation.channel) in WINDOWED), chosen)

    @work(thread=True, group="actions", exit_on_error=False, description="Escalating to a DM")
    def _escalate(self, conversation_id: int, dm_text: str, public_text: str, opened_at: float | None = None,
                  send_anyway: bool = False) -> None:
        from agentconsole.replies import escalation
        from agentconsole.team.collision import Collided

        app = self.app
        try:
            done = self.session.escalate(conversation_id, dm_text, public_text, opened_at=opened_at,
                                         send_anyway=send_anyway)
        except escalation.EscalationRefused as exc:
            self.post_message(self.ActionFinished("", f"Can't move this to DM: {exc}."))
            return
        except Collided as exc:
            self.post_message(self.EscalationCollided(conversation_id, dm_text, public_text, opened_at, exc))
            return
        app.call_from_thread(app.kick_engine)
        self.post_message(self.Escalated(done.dm_conversation_id))

    class EscalationCollided(Message):
        def __init__(self, conversation_id: int, dm_text: str, public_text: str, opened_at: float | None,
                     collided) -> None:
            super().__init__()
            self.args = (conversation_id, dm_text, public_text, opened_at)
            self.collided = collided

    def on_feature_screen_escalation_collided(self, message: EscalationCollided) -> None:
        from agentconsole.team.collision import Choice

        from screens.team.modals import CollisionModal

        def chosen(choice: Choice | None) -> None:
            if choice == Choice.SEND_ANYWAY:
                self._escalate(*message.args, True)
            else:
                self.notify("Nothing was sent to this customer.", timeout=4)
            self.refresh_pane()

        self.app.push_screen(CollisionModal(message.collided.collisions, message.collided.now, "DM"), chosen)

    def on_feature_screen_escalated(self, message: Escalated) -> None:
        self.notify("DM queued; the public reply follows once the DM is accepted.", timeout=5)
        self.compose_on_load = message.dm_conversation_id  # ready to type once the DM pane is there
        self.go_to(message.dm_conversation_id)

    def feature_palette_commands(self) -> list[tuple[str, str, object]]:
        """Palette entries for the open conversation's refused escalations, and the feature screens."""
        from screens.canned.picker import CannedScreen
        from screens.shifts.history import ShiftHistoryScreen

        commands: list[tuple[str, str, object]] = [
            ("Canned replies: manage", "Create, edit, duplicate and delete canned replies",
             lambda: self.app.push_screen(CannedScreen(self.session.canned))),
            ("Shift history", "Who was on, from when to when, what they answered",
             lambda: self.app.push_screen(ShiftHistoryScreen(self.session.shift_history,
                                                             self.app.agent_row.timezone, self.app.clock))),
        ]
        if getattr(self.app, "setup_email", None) is not None:
            commands.append(("Add an account", "any installed channel, tested before it is saved",
                             self.app.open_account_setup))
        data = self.pane.data
        if data is not None and data.conversation.kind == "public":
            from screens.inbox import moderation

            commands += moderation.commands(self, data.conversation.id, data.conversation.account_id)
        for item in (data.outbox if data else []):
            if item.state == "cancelled" and item.action == "reply":
                commands.append((f"Ask publicly to DM us instead (#{item.id})",
                                 "The DM was refused: post a public reply inviting them to message us",
                                 lambda item_id=item.id: self._ask_to_dm(item_id)))
        return commands

    @work(thread=True, group="actions", exit_on_error=False, description="Asking to DM")
    def _ask_to_dm(self, item_id: int) -> None:
        app = self.app
        self.session.ask_to_dm(item_id)
        app.call_from_thread(app.kick_engine)
        self.post_message(self.ActionFinished("Public reply asking them to DM us is queued"))

    # ------------------------------------------------------------------ marks and crisis mode

    def action_mark(self) -> None:
        marked = self.conversations.toggle_mark()
        if marked is not None:
            count = len(self.conversations.marked)
            self.notify(f"{count} marked · D for crisis mode" if count else "No conversation marked",
                        timeout=2)
            self.refresh_bindings()

    def action_crisis(self) -> None:
        marked = sorted(self.conversations.marked)
        if not marked:
            self.notify("Nothing is marked: press space on each public post to include, then D.",
                        title="Crisis mode", severity="warning")
            return
        from screens.escalation.dialogs import CrisisModal

        def closed(sent: bool | None) -> None:
            if sent:
                self.conversations.clear_marks()
            self.refresh_bindings()  # what was sent comes as the session's change event

        self.app.push_screen(CrisisModal(self.session, marked, self.app.agent_row, self.app.kick_engine), closed)

    # ------------------------------------------------------------------ linked, shift, metrics

    def action_linked(self) -> None:
        conversation = self._current()
        if conversation is None:
            return
        if conversation.linked_id is None:
            self.notify("This conversation is not linked to another (d on a public post links it to a DM).",
                        timeout=4)
            return
        self.go_to(conversation.linked_id)

    def action_metrics(self) -> None:
        app = self.app
        # Installed once and kept: a second visit shows the screen at once and only refreshes figures.
        if not app.is_screen_installed("metrics"):
            from screens.metrics.screen import MetricsScreen

            app.install_screen(MetricsScreen(app.session.metrics_report, app.clock, app.config.timezone,
                                             app.config.hours, satisfaction=app.session.satisfaction), "metrics")
        app.push_screen("metrics")

    def action_heard(self) -> None:
        from screens.heard.screen import HeardScreen

        self.app.push_screen(HeardScreen(self.session))

    def action_shift(self) -> None:
        self._shift_form()

    @work(thread=True, exclusive=True, group="shift", exit_on_error=False, description="Preparing the shift form")
    def _shift_form(self) -> None:
        from agentconsole.shifts.service import EndForm

        form = self.session.shift_form()
        self.post_message(self.ShiftFormReady(form, isinstance(form, EndForm)))

    def on_feature_screen_shift_form_ready(self, message: ShiftFormReady) -> None:
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
