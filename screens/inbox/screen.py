"""The inbox screen: owns the console's state, lays out the three panes and routes their messages and keys."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message

from agentconsole.domain.filters import ViewFilter
from agentconsole.domain.models import Kind
from agentconsole.response.rule import Order
from agentconsole.domain.views import VIEWS

from screens.canned.inbox_verbs import CannedVerbs
from screens.common.keybar import KeyBar
from screens.composer.inbox_verbs import ComposerVerbs
from screens.escalation.inbox_verbs import EscalationVerbs
from screens.heard.inbox_verbs import HeardVerbs
from screens.inbox.conversation_list import ConversationList
from screens.inbox.conversation_pane import ConversationPane
from screens.inbox.header import ViewList, WaitLine, WorkspaceBanner
from screens.inbox.list_tools import ListTools
from screens.inbox.list_verbs import ListVerbs
from screens.inbox.loading import DataChanged, InboxLoading, StatesChanged  # noqa: F401 (the App posts them)
from screens.inbox.pane_follow import PaneFollow
from screens.inbox.search_verbs import SearchVerbs
from screens.inbox.team import TeamScreen
from screens.inbox.today import TodayVerbs
from screens.inbox.triage_keys import TriageScreen
from screens.metrics.inbox_verbs import MetricsVerbs
from screens.shifts.inbox_verbs import ShiftVerbs
from screens.common.steady import SteadyHorizontal, SteadyVertical
from screens.shifts.line import ShiftBanner


RESORT_SECONDS = 60.0  # how often the list is put in order again when business hours apply


class InboxScreen(InboxLoading, ListTools, PaneFollow, ListVerbs, SearchVerbs, ComposerVerbs, TeamScreen,
                  TodayVerbs, HeardVerbs, MetricsVerbs, ShiftVerbs, EscalationVerbs, CannedVerbs, TriageScreen):
    """Views on the left, the conversation list in the middle, the open conversation on the right; the
    verbs of each feature come from its folder (screens/composer, screens/canned, ...), each group
    relying only on what screens.inbox.verbs.HOST_NEEDS names."""

    BINDINGS = [
        Binding("r", "reply", "Reply", id="inbox.reply", tooltip="Reply on the same channel and thread"),
        Binding("R", "reply_all", "Reply all", id="inbox.reply_all", show=False,
                tooltip="Reply all (email): copied to everyone the message went to but us"),
        Binding("e", "done", "Done", id="inbox.done", tooltip="Mark done (resolve); again to reopen"),
        Binding("a", "assign", "Assign", id="inbox.assign",
                tooltip="Assign to me (asks before taking it from someone); again to unassign"),
        Binding("c", "note", "Note", id="inbox.note", show=False, tooltip="Add an internal note"),
        Binding("u", "longest", "Most urgent", id="inbox.longest", show=False,
                tooltip="Jump to the most urgent waiting conversation (the most of its target used)"),
        Binding("o", "toggle_order", "Order", id="inbox.order", show=False,
                tooltip="Sort waiting conversations by urgency or by the longest wait"),
        Binding("slash", "search", "Search", id="inbox.search", tooltip="Full-text search on every channel"),
        Binding("backslash", "filter", "Filter", id="inbox.filter", show=False,
                tooltip="Filter the current view by channel, kind, assignee and words"),
        Binding("n", "hit(1)", "Next hit", id="inbox.next_hit", show=False, tooltip="Next search hit"),
        Binding("N", "hit(-1)", "Previous hit", id="inbox.prev_hit", show=False,
                tooltip="Previous search hit"),
        Binding("h", "view(-1)", "Previous view", id="inbox.prev_view", show=False, tooltip="Previous view"),
        Binding("l", "view(1)", "Next view", id="inbox.next_view", show=False, tooltip="Next view"),
        Binding("x", "expand", "Expand", id="inbox.expand", show=False,
                tooltip="Show long messages in full (again to shorten)"),
        Binding("escape", "back", "Back", id="inbox.back", show=False, tooltip="Back to the list"),
        *(Binding(str(i + 1), f"jump_view({i})", f"View {view.label}", id=f"inbox.view_{view.key}",
                  show=False, tooltip=f"Show the {view.label} view") for i, view in enumerate(VIEWS[:9])),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.view_index = 0
        self.order = Order.URGENCY  # `o` switches to the plain longest wait first
        self.narrow = ViewFilter()  # `\` narrows the current view
        self._wait_due = 0.0  # clock time at which the over-target count can next change
        self._started = False  # the loads that wait for the first rows to be painted have begun
        self._shown = False  # the screen has been resumed (shown) once
        self.today_text = ""  # today's first-response figures for the wait line
        # The width's class (App.HORIZONTAL_BREAKPOINTS) is set by Textual on the screen's first Resize,
        # after every node was styled, and a class that changes styles every node again: set it now.
        self.add_class(*self._get_breakpoint_classes(self.app.size.width, self.app.HORIZONTAL_BREAKPOINTS or []),
                       update=False)

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        app = self.app
        # One box for the three header lines: each frame Textual visits every child of a container the
        # changed region touches, so a keypress in the list visits this box, not each of its lines.
        with SteadyVertical(id="header"):
            yield ShiftBanner(id="shift-banner")
            yield WorkspaceBanner(app.agent_name, app.demo, app.clock, id="banner")
            yield WaitLine(app.clock, id="wait-line")
        with SteadyHorizontal(id="panes"):
            yield ViewList(id="views")
            yield ConversationList(app.session.conversations_by_ids, app.clock, app.config.targets,
                                   app.config.hours, id="conversations")
            yield ConversationPane(app.config.timezone, app.config.hours, id="pane")
        yield KeyBar(show_command_palette=False)

    # Looked up once: check_action asks for these for every binding on every cursor move.
    @cached_property
    def conversations(self) -> ConversationList:
        return self.query_one(ConversationList)

    @cached_property
    def pane(self) -> ConversationPane:
        return self.query_one(ConversationPane)

    def on_mount(self) -> None:
        self.query_one("#views").border_title = "Views"
        self._title_list()
        self.pane.border_title = "Conversation"
        thread = self.pane.query_one("#thread")
        self.watch(thread, "scroll_y", lambda _: self._scroll_hint(), init=False)
        self.query_one(ViewList).set_current(self.view_index)
        self.conversations.focus()
        self.show_connector_states()
        # The first frame needs a screenful of rows and the wait line; everything else (the whole id
        # list, the view counts, today's figures) waits until those rows are up, so its threads don't
        # compete with the first paint.
        self._read_first_frame()
        self.set_interval(1.0, self.tick, name="clock")
        self.set_timer(1.0, self._start_after_first_paint)  # in case the first page never comes

    def _on_screen_resume(self, event: events.ScreenResume) -> None:
        # Runs before Screen's own handler. On the first show every node was styled as it was mounted,
        # a moment before: restyling them all again for the resume changes nothing. A later resume
        # (back from a dialog, after a theme change) restyles as usual. Textual dispatches either
        # _on_screen_resume or on_screen_resume per class: a resume handler of this screen goes here.
        if not self._shown:
            self._shown = True
            event.refresh_styles = False

    def _read_first_frame(self) -> None:
        """The first screenful of rows and the wait line, read here before the first frame (a few ms at
        100k conversations) instead of in workers: otherwise Textual draws two to five frames of an empty
        list while the threads compete with it, and the rows come last."""
        view = VIEWS[self.view_index].key
        wait = self.read_wait()  # reads the waiting set, which the first ids then come from
        ids = self.session.first_ids(view, self.order, 200, self.narrow)
        self.conversations.prime(self.session.conversations_by_ids(ids[: self.conversations.first_page()]))
        self.on_inbox_loading_ids_loaded(self.IdsLoaded(view, ids, self.order, self.narrow))
        self.on_inbox_loading_wait_loaded(wait)

    def _start_after_first_paint(self) -> None:
        if self._started:
            return
        self._started = True
        self.app.start_background()
        self.composer.build()  # the reply editor, hidden until r; not part of the first frame
        self.reload()
        self.keep_today_current()
        self.keep_banner_current()
        self.app.preload_screen_styles()
        self.set_timer(2.0, self.app.settle_memory)  # after the loads just started have finished
        # Waits with different targets (or counting open hours only) change rank as time passes, with
        # no new message: the list is put in order again every minute.
        self.set_interval(RESORT_SECONDS, self.resort, name="resort")

    # ------------------------------------------------------------------ what the actions report

    @dataclass
    class ActionFinished(Message):
        """An action's worker finished: what to tell the agent, and a draft to keep."""
        note: str
        error: str = ""
        draft: tuple[int, str] | None = None  # (conversation id, text) of a reply to keep: it was not queued

    def on_inbox_screen_action_finished(self, message: ActionFinished) -> None:
        if message.draft is not None:
            self.keep_draft(*message.draft)
        if message.error:
            self.notify(message.error, severity="error", timeout=8)
        elif message.note:
            self.notify(message.note, timeout=3)
        # What the action changed comes as the session's change event (DataChanged): just those rows.

    # ------------------------------------------------------------------ list and pane

    @on(ConversationList.Opened)
    def _opened(self, message: ConversationList.Opened) -> None:
        self._pane_now(message.conversation_id)
        self.pane.query_one("#thread").focus()
        self._scroll_hint()

    @on(ViewList.Chosen)
    def _view_chosen(self, message: ViewList.Chosen) -> None:
        self.action_jump_view(message.index)

    # ------------------------------------------------------------------ actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("assign", "assign_to"):
            return self._current() is not None or None
        if action == "expand":
            return self.pane.has_hidden_text or self.pane.expanded
        if action == "back":
            return self.composer.display or self.focused is not self.conversations
        return self.check_feature(action)

    def _current(self):
        """The conversation under the cursor (the pane may still be loading it while keys repeat)."""
        data = self.pane.data
        selected = self.conversations.selected_id
        if data is not None and (selected is None or data.conversation.id == selected):
            return data.conversation
        return self.conversations.selected_row

    def go_to(self, conversation_id: int) -> None:
        """Select a conversation, switching to All when the current view does not hold it."""
        self.conversations.focus()
        if not self.conversations.select_id(conversation_id):
            self.conversations.selected_id = conversation_id
            self.action_jump_view(0)
        self._pane_now(conversation_id)

    def action_view(self, step: int) -> None:
        self.action_jump_view((self.view_index + step) % len(VIEWS))

    def action_jump_view(self, index: int) -> None:
        if not 0 <= index < len(VIEWS):
            return
        self.view_index = index
        self.query_one(ViewList).set_current(index)
        self.load_ids(VIEWS[index].key)

    def action_expand(self) -> None:
        self.pane.toggle_expand()
        self.refresh_bindings()

    def action_back(self) -> None:
        if self.composer.display:
            self.composer.action_close()
        else:
            self.conversations.focus()
            self._scroll_hint()

    def palette_commands(self) -> list[tuple[str, str, object]]:
        """Extra palette entries: deciding about sends a crash interrupted in the open conversation."""
        commands = self.feature_palette_commands()
        if getattr(self.app, "setup_email", None) is not None:
            commands.append(("Add an account", "any installed channel, tested before it is saved",
                             self.app.open_account_setup))
        data = self.pane.data
        if data is not None and data.conversation.kind == Kind.PUBLIC:
            from screens.inbox import moderation

            commands += moderation.commands(self, data.conversation.id, data.conversation.account_id)
        commands += self.decision_commands()
        return commands
