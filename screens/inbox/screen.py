"""The inbox screen: owns the console's state, lays out the three panes and routes their messages and keys."""

from __future__ import annotations

import time
from functools import cached_property, partial

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.timer import Timer

from agentconsole.domain.filters import ViewFilter
from agentconsole.response.rule import Order
from agentconsole.domain.models import Status
from agentconsole.domain.views import VIEWS

from screens.inbox.conversation_list import ConversationList
from screens.inbox.list_tools import ListTools
from screens.inbox.loading import DataChanged, InboxLoading, StatesChanged  # noqa: F401 (the App posts them)
from screens.inbox.team import TeamScreen
from screens.inbox.today import TodayVerbs
from screens.inbox.triage_keys import TriageScreen
from screens.canned.inbox_verbs import CannedVerbs
from screens.escalation.inbox_verbs import EscalationVerbs
from screens.heard.inbox_verbs import HeardVerbs
from screens.metrics.inbox_verbs import MetricsVerbs
from screens.shifts.inbox_verbs import ShiftVerbs
from screens.inbox.conversation_pane import DECIDABLE, OUTBOX_LABELS, Composer, ConversationPane, Draft
from screens.inbox.header import ViewList, WaitLine, WorkspaceBanner
from screens.common.keybar import KeyBar
from screens.common.steady import SteadyHorizontal, SteadyVertical
from screens.common.keys import bindings_of
from screens.common.modals import SearchModal, SearchResult
from screens.shifts.line import ShiftBanner


# While the cursor moves faster than this (a held key), the pane waits for it to rest.
PANE_DEBOUNCE = 0.08
RESORT_SECONDS = 60.0  # how often the list is put in order again when business hours apply


class InboxScreen(InboxLoading, ListTools, TeamScreen, TodayVerbs, HeardVerbs, MetricsVerbs, ShiftVerbs,
                  EscalationVerbs, CannedVerbs, TriageScreen):
    """Views on the left, the conversation list in the middle, the open conversation on the right; the
    verbs of each feature come from its folder (screens/canned, screens/escalation, ...), each group
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
        self.drafts: dict[tuple[str, int], Draft] = {}
        self.order = Order.URGENCY  # `o` switches to the plain longest wait first
        self.narrow = ViewFilter()  # `\` narrows the current view
        self.hits: tuple = ()
        self.hit_index = 0
        self._wait_due = 0.0  # clock time at which the over-target count can next change
        self._started = False  # the loads that wait for the first rows to be painted have begun
        self._pane_timer: Timer | None = None
        self._verbs: tuple = ()  # what check_action said when the footer was last rebuilt
        self.today_text = ""  # today's first-response figures for the wait line
        self.compose_on_load: int | None = None  # open the composer once this conversation shows
        self._last_highlight = 0.0
        self._bindings_due = False  # a footer check is waiting for the next frame

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

    @cached_property
    def composer(self) -> Composer:
        return self.query_one(Composer)

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

    def _read_first_frame(self) -> None:
        """The first screenful of rows and the wait line, read here before the first frame (a few ms at
        100k conversations) instead of in workers: otherwise Textual draws two to five frames of an empty
        list while the threads compete with it, and the rows come last."""
        view = VIEWS[self.view_index].key
        ids = self.session.conversation_ids(view, self.order, 200, self.narrow)
        self.conversations.prime(self.session.conversations_by_ids(ids[: self.conversations.first_page()]))
        self.on_inbox_loading_ids_loaded(self.IdsLoaded(view, ids))
        self.on_inbox_loading_wait_loaded(self.read_wait())

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

    class ActionFinished(Message):
        def __init__(self, note: str, error: str = "", draft: tuple[int, str] | None = None) -> None:
            super().__init__()
            self.note = note
            self.error = error
            self.draft = draft  # (conversation id, text) of a reply to keep because it was not queued

    def on_inbox_screen_action_finished(self, message: ActionFinished) -> None:
        if message.draft is not None:
            self.drafts[("reply", message.draft[0])] = Draft(message.draft[1])
        if message.error:
            self.notify(message.error, severity="error", timeout=8)
        elif message.note:
            self.notify(message.note, timeout=3)
        # What the action changed comes as the session's change event (DataChanged): just those rows.

    # ------------------------------------------------------------------ list and pane

    @on(ConversationList.Highlighted)
    def _highlighted(self, message: ConversationList.Highlighted) -> None:
        now = time.monotonic()
        rapid = now - self._last_highlight < PANE_DEBOUNCE
        self._last_highlight = now
        if self._pane_timer is not None:
            self._pane_timer.stop()
            self._pane_timer = None
        if message.conversation_id is None:
            self.pane.show(None)
        elif message.conversation_id != self.pane.conversation_id:
            if rapid:  # a key held down: show the conversation once the cursor rests
                self._pane_timer = self.set_timer(PANE_DEBOUNCE, partial(self.load_pane, message.conversation_id))
            else:  # once the moved cursor is on screen: the key's own frame never waits for the pane
                self.call_after_refresh(self._load_pane_if_selected, message.conversation_id)
        if not self._bindings_due:  # the footer too, once per frame however many keys came
            self._bindings_due = True
            self.call_after_refresh(self._refresh_bindings_due)

    def _load_pane_if_selected(self, conversation_id: int) -> None:
        if conversation_id == self.conversations.selected_id and conversation_id != self.pane.conversation_id:
            self.load_pane(conversation_id)

    def _refresh_bindings_due(self) -> None:
        self._bindings_due = False
        self.refresh_bindings_if_changed()

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
        has_conversation = self._current() is not None
        composing = self.composer.display
        if action in ("reply", "note"):
            return has_conversation and not composing
        if action == "reply_all":  # email only: elsewhere there is nobody else to copy
            current = self._current()
            return None if current is None or current.channel != "email" else not composing
        if action in ("done", "assign", "assign_to"):
            return has_conversation or None
        if action == "hit":
            return bool(self.hits)
        if action == "expand":
            return self.pane.has_hidden_text or self.pane.expanded
        if action == "back":
            return composing or self.focused is not self.conversations
        return self.check_feature(action)

    def refresh_bindings_if_changed(self) -> None:
        """Rebuild the footer only when what applies changed: moving the cursor between two similar
        conversations must not rebuild it (that costs a frame)."""
        actions = {binding.action for binding in bindings_of(type(self))}
        verbs = tuple(sorted((a, self.check_action(a.split("(")[0], ())) for a in actions))
        if verbs != self._verbs:
            self._verbs = verbs
            self.refresh_bindings()

    def _current(self):
        """The conversation under the cursor (the pane may still be loading it while keys repeat)."""
        data = self.pane.data
        selected = self.conversations.selected_id
        if data is not None and (selected is None or data.conversation.id == selected):
            return data.conversation
        return self.conversations.selected_row

    def _pane_now(self, conversation_id: int) -> None:
        """Show *conversation_id* in the pane without waiting for the cursor to rest."""
        if self._pane_timer is not None:
            self._pane_timer.stop()
            self._pane_timer = None
        if self.pane.conversation_id != conversation_id:
            self.load_pane(conversation_id)

    def action_reply(self) -> None:
        self._open_composer("reply")

    def action_note(self) -> None:
        self._open_composer("note")

    def action_reply_all(self) -> None:
        conversation = self._current()
        if conversation is not None:
            self._reply_all_cc(conversation.id)

    @work(thread=True, exclusive=True, group="reply-all", exit_on_error=False, description="Reading who to copy")
    def _reply_all_cc(self, conversation_id: int) -> None:
        cc = tuple(self.session.reply_all_cc(conversation_id))
        self.app.call_from_thread(self._open_composer, "reply", cc or None)

    def _open_composer(self, mode: str, cc: tuple[str, ...] | None = ()) -> None:
        """*cc* None: a reply all that found nobody else to copy (said, then a plain reply)."""
        conversation = self._current()
        if conversation is None:
            return
        if cc is None:
            self.notify("Nobody else was on that email: this is a plain reply.", timeout=4)
        self._pane_now(conversation.id)
        values = self.customer_values(conversation)
        self.composer.open(mode, conversation, self.drafts.get((mode, conversation.id)),
                           limit=self.limit_for(conversation), values=values, cc=cc or ())
        library = self.session.canned
        self.composer.expander = lambda before: library.expand(before, values)
        self.show_pane_presence()
        self.refresh_bindings()

    @on(Composer.Closed)
    def _composer_closed(self, message: Composer.Closed) -> None:
        key = (message.mode, message.conversation_id)
        if message.text.strip():
            self.drafts[key] = message.draft
        else:
            self.drafts.pop(key, None)
        self.conversations.focus()
        self.show_pane_presence()
        self.refresh_bindings()

    @on(Composer.Submitted)
    def _composer_submitted(self, message: Composer.Submitted) -> None:
        self.drafts.pop((message.mode, message.conversation_id), None)
        self.composer.display = False
        self.conversations.focus()
        self.show_pane_presence()
        if message.mode == "note":
            self._save_note(message.conversation_id, message.text)
        else:
            self._send_reply(message.conversation_id, message.text, message.source, message.template_id,
                             message.opened_at, resolve=message.resolve, cc=message.cc)

    def current_draft_text(self) -> str:
        """The text that would be lost on quit: saved drafts plus what is in an open composer."""
        texts = [d.text for d in self.drafts.values() if d.text.strip()]
        if self.composer.display and self.composer.text.strip():
            texts.append(self.composer.text)
        return "\n".join(texts)

    @work(thread=True, group="actions", exit_on_error=False, description="Saving the note")
    def _save_note(self, conversation_id: int, text: str) -> None:
        self.session.add_note(conversation_id, text)
        self.post_message(self.ActionFinished("Note saved"))

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

    class LongestFound(Message):
        def __init__(self, conversation_id: int | None) -> None:
            super().__init__()
            self.conversation_id = conversation_id

    @work(thread=True, exclusive=True, group="longest", exit_on_error=False, description="Finding the longest wait")
    def _find_longest(self) -> None:
        self.post_message(self.LongestFound(self.session.most_urgent()))

    def on_inbox_screen_longest_found(self, message: LongestFound) -> None:
        if message.conversation_id is None:
            self.notify("Nobody is waiting.", timeout=3)
        else:
            self.go_to(message.conversation_id)

    def go_to(self, conversation_id: int) -> None:
        """Select a conversation, switching to All when the current view does not hold it."""
        self.conversations.focus()
        if not self.conversations.select_id(conversation_id):
            self.conversations.selected_id = conversation_id
            self.action_jump_view(0)
        self._pane_now(conversation_id)

    def action_search(self) -> None:
        self.app.push_screen(SearchModal(self.session.search), self._search_done)

    def _search_done(self, result: SearchResult | None) -> None:
        if result is None:
            return
        self.hits, self.hit_index = result.hits, result.index
        self.go_to(self.hits[self.hit_index].conversation_id)
        self.refresh_bindings()

    def action_hit(self, step: int) -> None:
        if not self.hits:
            return
        self.hit_index = (self.hit_index + step) % len(self.hits)
        hit = self.hits[self.hit_index]
        self.go_to(hit.conversation_id)
        self.notify(f"Hit {self.hit_index + 1} of {len(self.hits)}", timeout=2)

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
        if data is not None and data.conversation.kind == "public":
            from screens.inbox import moderation

            commands += moderation.commands(self, data.conversation.id, data.conversation.account_id)
        for item in (data.outbox if data else []):
            if item.state not in DECIDABLE:
                continue
            for decision, label in (("resend", "Resend"), ("mark_sent", "Mark as sent"),
                                    ("discard", "Discard")):
                commands.append((f"{label} {item.state} {item.action} #{item.id}",
                                 OUTBOX_LABELS.get(item.state, item.state),
                                 partial(self._decide, item.id, decision)))
        return commands

    @work(thread=True, group="actions", exit_on_error=False, description="Recording the decision on the send")
    def _decide(self, item_id: int, decision: str) -> None:
        self.session.decide(item_id, decision)
        self.app.call_from_thread(self.app.kick_engine)
        self.post_message(self.ActionFinished(f"Outbox item #{item_id}: {decision.replace('_', ' ')}"))
