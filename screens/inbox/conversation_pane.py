"""The conversation pane: customer card, thread, notes, pending sends, and the reply/note composer."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual import work
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static

from agentconsole.replies import guard
from agentconsole.replies import reach as reach_rule
from agentconsole.replies.reach import Reach, ReachState
from agentconsole.replies.guard import Verdict
from agentconsole.response.hours import HoursConfig
from agentconsole.response.rule import ResponseRule
from agentconsole.replies.lengths import counted, measure
from agentconsole.domain.rows import ContactCard, ConversationRow, MessageRow, NoteRow
from agentconsole.domain.sanitize import clean

from screens.common.safe import safe_text
from screens.common.steady import SteadyLines
from screens.inbox.thread_text import DECIDABLE, OUTBOX_LABELS  # noqa: F401 (the inbox screen's palette)
from screens.inbox.thread_text import channel_label, clip, parts, thread_of, zone
from screens.inbox.thread_view import ThreadView, keep

CARD_LINES = 6  # the card's height in lines (#card in app.tcss: the same plus its bottom border)


@dataclass(frozen=True)
class PaneData:
    """Everything the pane shows for one conversation, loaded together in a worker."""

    conversation: ConversationRow
    messages: list[MessageRow]
    notes: list[NoteRow]
    card: ContactCard | None
    outbox: list = field(default_factory=list)  # OutboxRow items still on their way
    loaded_at: float | None = None  # the clock when loaded: a stuck send shows for how long
    reach: Reach | None = None  # replies.reach: can we message this person now, and how


@dataclass(frozen=True, slots=True)
class Draft:
    """What a closed composer keeps: the text and the canned reply it was built from, if any."""

    text: str
    template_text: str | None = None
    template_id: int | None = None


class Composer(Vertical):
    """A reply or internal-note editor with the channel's live length counter."""

    BINDINGS = [
        Binding("ctrl+s", "send", "Send", id="composer.send", tooltip="Send the reply (or save the note)"),
        Binding("ctrl+r", "send(True)", "Send & done", id="composer.send_done",
                tooltip="Send the reply and mark the conversation done once it is accepted"),
        Binding("escape", "close", "Close", id="composer.close",
                tooltip="Close the composer; the draft is kept"),
        Binding("tab", "expand_shortcut", "Expand /shortcut", id="composer.expand", show=False, priority=True,
                tooltip="Type /shortcut then tab: the canned reply replaces it, filled for this customer"),
        Binding("ctrl+e", "edit_externally", "Editor", id="composer.editor", show=False, priority=True,
                tooltip="Edit the draft in $VISUAL / $EDITOR (config editor first); checked again on return"),
    ]

    class Expanded(Message):
        def __init__(self, text: str, cursor_index: int, expansion) -> None:
            super().__init__()
            self.text, self.cursor_index, self.expansion = text, cursor_index, expansion

    class Submitted(Message):
        def __init__(self, mode: str, conversation_id: int, text: str, source: str = "personal",
                     template_id: int | None = None, opened_at: float | None = None,
                     resolve: bool = False, cc: tuple[str, ...] = ()) -> None:
            super().__init__()
            self.cc = cc  # reply all (email): the others the answered message went to
            self.opened_at = opened_at  # for the collision guard: what happened since the agent began
            self.resolve = resolve  # reply and resolve: done once the platform accepted the reply
            self.mode = mode
            self.conversation_id = conversation_id
            self.text = text
            self.source = source  # canned | edited | personal, for the canned-vs-personal metrics
            self.template_id = template_id

    class Closed(Message):
        def __init__(self, mode: str, conversation_id: int, draft: Draft) -> None:
            super().__init__()
            self.mode = mode
            self.conversation_id = conversation_id
            self.draft = draft

        @property
        def text(self) -> str:
            return self.draft.text

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.mode = "reply"
        self.conversation: ConversationRow | None = None
        self.limit: int | None = None  # the account's own limit (a Mastodon instance's), if known
        self.values: dict | None = None  # the customer's placeholder values, for the name check
        self.template_text: str | None = None  # the canned reply inserted, as filled
        self.template_id: int | None = None
        self._warned_for: str | None = None  # the text the agent was warned about once already
        self.opened_at: float | None = None  # when the agent began this reply (the collision guard's start)
        # text before the cursor -> canned.Expansion | None; set by the screen (it reads the library)
        self.expander = None
        self.reach: Reach | None = None  # the conversation's replies.reach answer, set by the pane
        self._parts = None  # the AwaitMount of the editor's widgets, once build() ran
        self.ready = False  # those widgets are mounted

    def build(self, then=None) -> None:
        """Mount the editor (once), then call *then*: the inbox asks right after its first frame, so the
        start pays for neither TextArea nor its styles; an open before that waits for it here."""
        if self._parts is None:
            from screens.inbox.composer_text import editor_parts

            self._parts = self.mount_all(editor_parts(no_blink=self.app.animation_level == "none"))

        async def mounted() -> None:
            await self._parts
            self.ready = True
            if then is not None:
                then()

        self.call_next(mounted)

    @property
    def area(self):  # the SafeTextArea, once built
        return self.query_one("#composer-text")

    def open(self, mode: str, conversation: ConversationRow, draft: Draft | None = None, *,
             limit: int | None = None, values: dict | None = None, cc: tuple[str, ...] = ()) -> None:
        if not self.ready:  # opened before the editor was built: open once it is mounted
            self.build(lambda: (self.open(mode, conversation, draft, limit=limit, values=values, cc=cc),
                                self.screen.refresh_bindings()))
            return
        draft = draft or Draft("")
        self.mode = mode
        self.cc = cc
        self.conversation = conversation
        self.limit = limit
        self.values = values
        # A draft kept from an earlier opening keeps the canned reply it came from, so sending it later
        # still counts as canned or edited, not as personal.
        self.template_text, self.template_id = draft.template_text, draft.template_id
        self._warned_for = None
        self.opened_at = self.app.clock.now()
        title = Text(end="", no_wrap=True, overflow="ellipsis")
        if mode == "note":
            title.append("Internal note (only agents see it)")
        else:
            title.append(f"Reply{' all' if cc else ''} on {channel_label(conversation.channel)} · "
                         f"{conversation.kind} · to ")
            title.append_text(safe_text(conversation.contact_name or conversation.handle,
                                        single_line=True, limit=60))
            if cc:  # on a line of its own: who else gets it must be seen, not cut off
                title.append("\n")
                title.append_text(safe_text(f"Cc {', '.join(cc)}", single_line=True, limit=300))
        heading = self.query_one("#composer-title", Static)
        heading.set_class(bool(cc), "-cc")
        heading.update(title)
        area = self.area
        area.load_text(clean(draft.text))
        area.move_cursor(area.document.end)
        self.display = True
        self.update_status()
        area.focus()

    @property
    def text(self) -> str:
        return self.area.text if self.ready else ""

    def insert_canned(self, text: str, template_id: int | None) -> None:
        """Put a filled canned reply in (replacing an empty draft, else after it)."""
        text = clean(text)  # a body stored before import refused escapes must not emit them here
        area = self.area
        current = area.text.rstrip()
        combined = f"{current}\n\n{text}" if current else text
        area.load_text(combined)
        area.move_cursor(area.document.end)
        self.template_text, self.template_id = text, template_id
        self.update_status()
        area.focus()

    def action_expand_shortcut(self) -> None:
        if self.mode != "reply" or self.expander is None:
            return
        area = self.area
        index = area.document.get_index_from_location(area.cursor_location)
        self._expand(area.text, index)

    @work(thread=True, exclusive=True, group="expand", exit_on_error=False, description="Filling in the placeholders")
    def _expand(self, text: str, cursor_index: int) -> None:
        expansion = self.expander(text[:cursor_index])
        if expansion is not None:
            self.post_message(self.Expanded(text, cursor_index, expansion))

    def on_composer_expanded(self, message: Expanded) -> None:
        area = self.area
        if area.text != message.text:  # typed on meanwhile: never replace what the agent wrote since
            return
        document = area.document
        start = document.get_location_from_index(message.expansion.start)
        end = document.get_location_from_index(message.cursor_index)
        filled = clean(message.expansion.filled.text)
        area.replace(filled, start, end)
        self.template_text, self.template_id = filled, message.expansion.canned.id
        self.update_status()

    def verdict(self) -> Verdict | None:
        if self.mode != "reply" or self.conversation is None:
            return None
        return guard.check(self.text, self.conversation.channel, self.conversation.kind, limit=self.limit,
                           customer=self.values, template_text=self.template_text,
                           reach=reach_rule.for_reply(self.reach, self.conversation.kind))

    def problem(self) -> str | None:
        """Why this text cannot be sent as it is (the core's send guard decides), or None."""
        text = self.text
        if not text.strip():
            return "Nothing to send: the text is empty." if self.mode == "reply" else "The note is empty."
        verdict = self.verdict()
        if verdict is not None and verdict.blocks:
            return " · ".join(verdict.blocks) + ". Fix it to send."
        return None

    def update_status(self, error: str | None = None) -> None:
        status = self.query_one("#composer-status", Static)
        text = Text(end="")
        if self.mode == "reply" and self.conversation is not None:
            length = measure(self.text, self.conversation.channel, self.conversation.kind, self.limit)
            text.append(length.describe(), "bold" if length.over else "")
            if length.over:
                text.append(" ▲ over the limit")
        else:
            text.append(counted(len(self.text), "characters"))
        governing = reach_rule.for_reply(self.reach, self.conversation.kind) if self.conversation else None
        if self.mode == "reply" and governing is not None and (governing.notice or governing.reason):
            text.append("\n")  # said before the agent types, not only when they try to send
            text.append(governing.notice or governing.reason, "" if governing.can_send else "bold")
        if error:
            text.append("\n")
            text.append(error, "bold")
        status.set_class(bool(error), "-error")
        status.update(text)

    def on_text_area_changed(self, event) -> None:  # TextArea.Changed
        edited = getattr(self, "_edited", None)  # what the guard said of a draft back from the editor
        self.update_status(edited[1] if edited and edited[0] == self.text else None)

    def action_edit_externally(self) -> None:
        from screens.common.editor import edit_composer

        edit_composer(self)

    def action_send(self, resolve: bool = False) -> None:
        if self.conversation is None:
            return
        if resolve and self.mode != "reply":
            resolve = False  # a note has nothing to resolve with
        problem = self.problem()
        if problem:
            self.update_status(problem)
            return
        verdict = self.verdict()
        if verdict is not None and verdict.warnings and self._warned_for != self.text:
            self._warned_for = self.text  # a second ctrl+s on the same text sends anyway
            again = "ctrl+r" if resolve else "ctrl+s"
            self.update_status(" · ".join(verdict.warnings) + f" — {again} again to send anyway.")
            return
        source = verdict.source if verdict is not None else "personal"
        self.post_message(self.Submitted(self.mode, self.conversation.id, self.text, source,
                                         self.template_id if source != "personal" else None, self.opened_at,
                                         resolve, self.cc))

    def action_close(self) -> None:
        if self.conversation is not None:
            self.post_message(self.Closed(self.mode, self.conversation.id,
                                          Draft(self.text, self.template_text, self.template_id)))
        self.display = False


class ConversationPane(SteadyLines, Vertical):
    """Shows a PaneData; knows nothing about where it came from."""

    def __init__(self, timezone_name: str, hours: HoursConfig | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.tz = zone(timezone_name)
        self.rule = ResponseRule(hours=hours)  # which waits count open hours only, as the list counts them
        self.data: PaneData | None = None
        self.expanded = False
        self.part = 0  # which part of long messages an expanded thread shows
        # conversation id -> (what its thread text shows, the text): showing the same again hands the
        # thread view the same Text, whose wrapped rows and drawn strips it kept
        self._texts: OrderedDict[int, tuple[tuple, Text]] = OrderedDict()

    def compose(self) -> ComposeResult:
        yield Static(Text("No conversation open. Pick one with j/k and press enter."), id="card",
                     classes="-empty")
        yield Static(id="presence")
        yield ThreadView(id="thread")
        yield Composer(id="composer")

    def on_mount(self) -> None:
        self.query_one(Composer).display = False
        self.query_one("#presence").display = False

    @property
    def conversation_id(self) -> int | None:
        return self.data.conversation.id if self.data else None

    @property
    def thread_text(self) -> str:
        """The thread as shown (all of it, not only the rows on screen)."""
        return self.query_one("#thread", ThreadView).text.plain

    @property
    def has_hidden_text(self) -> bool:
        return self.data is not None and any(clip(m.text, False)[1] for m in self.data.messages)

    def show(self, data: PaneData | None) -> None:
        same = data is not None and self.data is not None and data.conversation.id == self.data.conversation.id
        if not same:
            self.expanded = False
            self.part = 0
        self.data = data
        composer = self.query_one(Composer)
        composer.reach = data.reach if data is not None else None
        if composer.display and composer.conversation is not None and same:
            composer.update_status()  # the window may have opened or closed since the agent began
        thread = self.query_one("#thread", ThreadView)
        # Follow new messages only when the agent was already reading the end of the thread.
        following = not same or thread.scroll_y >= thread.max_scroll_y - 1
        self._show_card(self._card())
        thread.update(self._thread_text())
        if following:
            thread.scroll_end(animate=False)
            # Again once laid out: a pane opened before its first layout only then knows its height.
            self.call_after_refresh(thread.scroll_end, animate=False)

    def _show_card(self, text: Text) -> None:
        """*text* in the card without a screen-wide layout pass: it is CARD_LINES tall whatever it shows."""
        card = self.query_one("#card", Static)
        card.set_class(self.data is None, "-empty")
        card.update(text, layout=False)

    def show_presence(self, people) -> None:
        """Who else is on this conversation ("Bob is replying"); hidden when nobody is."""
        widget = self.query_one("#presence", Static)
        widget.display = bool(people)
        if people:
            widget.update(safe_text(" · ".join(p.describe() for p in people), single_line=True, limit=200))

    def toggle_expand(self) -> None:
        """x: expand long messages; again shows their next part; after the last part, fold them."""
        if not self.expanded:
            self.expanded, self.part = True, 0
        elif self.part + 1 < self._parts():
            self.part += 1
        else:
            self.expanded, self.part = False, 0
        thread = self.query_one("#thread", ThreadView)
        thread.update(self._thread_text())
        thread.scroll_home(animate=False)

    def _parts(self) -> int:
        if self.data is None:
            return 0
        return max((len(parts(m.text)) for m in self.data.messages if clip(m.text, False)[1]), default=1)

    def stamp(self, ts: float) -> str:
        try:
            return datetime.fromtimestamp(ts, self.tz).strftime("%b %d %H:%M")
        except (OverflowError, OSError, ValueError, TypeError):  # stored before dates were checked
            return "date unknown"

    def _card(self) -> Text:
        """The card, one fact per line, cut with an ellipsis rather than wrapped; when there are more facts
        than CARD_LINES the last ones share a line, so each still starts on screen."""
        if self.data is None:
            return Text("No conversation open. Pick one with j/k and press enter.")
        c, card = self.data.conversation, self.data.card
        lines: list[Text] = []
        head = safe_text(c.contact_name or c.handle or "unknown", "bold", single_line=True, limit=80)
        if c.handle and c.handle != c.contact_name:
            head.append("  ")
            head.append_text(safe_text(c.handle, single_line=True, limit=80))
        lines.append(head)
        where = Text(f"{channel_label(c.channel)} · {c.kind} · {c.status}")
        if c.is_demo:
            where.append(" · DEMO", "reverse")
        if c.assignee_name:
            where.append(" · assigned to ")
            where.append_text(safe_text(c.assignee_name, single_line=True, limit=40))
        lines.append(where)
        if c.waiting_since is not None and c.status == "open":
            waiting = Text(f"Waiting since {self.stamp(c.waiting_since)}")
            business = self.rule.rule_for(c).hours
            lines.append(waiting)
            if business is not None:  # the list's wait is open time; the stamp gives the clock's
                waiting.append(" · open hours only:", "dim")
                lines.append(Text(business.describe(), "dim"))  # its own line: cut, the hours would go
        reach = self.data.reach
        # An open window is said in the composer; the card names only what limits the next message.
        if reach is not None and reach.state not in (ReachState.OPEN, ReachState.WINDOW) and c.status == "open":
            lines.append(Text(reach.notice or reach.reason, "bold" if not reach.can_send else ""))
        if c.subject:
            lines.append(Text("Subject: ").append_text(safe_text(c.subject, single_line=True, limit=200)))
        if card is not None:
            details = [x for x in (card.location, card.bio) if x]
            if details:
                lines.append(safe_text(" · ".join(details), "italic", single_line=True, limit=240))
            others = [o for o in card.conversations if o.id != c.id]
            if others:
                channels = sorted({channel_label(o.channel) for o in others})
                lines.append(Text(f"{len(others)} other conversation{'s' if len(others) != 1 else ''}"
                                  f" ({', '.join(channels)})"))
        if len(lines) > CARD_LINES:
            lines[CARD_LINES - 1:] = [Text(" · ").join(lines[CARD_LINES - 1:])]
        return Text("\n", end="").join(lines)

    def _thread_text(self) -> Text:
        """The thread's Text: the one built last time when this conversation shows the same messages,
        notes and sends the same way (moving back to it repaints without building or wrapping again)."""
        if self.data is None:
            return self._thread()
        data = self.data
        shown = (self.expanded, self.part, data.conversation.channel, data.messages, data.notes, data.outbox,
                 data.loaded_at if data.outbox else None)  # loaded_at only dates the sends in flight
        kept = self._texts.get(data.conversation.id)
        if kept is not None and kept[0] == shown:
            return kept[1]
        text = self._thread()
        keep(self._texts, data.conversation.id, (shown, text))
        return text

    def _thread(self) -> Text:
        return Text("") if self.data is None else thread_of(self.data, self.stamp, self.expanded, self.part)
