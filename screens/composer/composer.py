"""The reply and internal-note composer: a text field with the channel's live length counter and the send
guard's verdict, and the draft it keeps when closed."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static

from agentconsole.domain.models import ReplySource
from agentconsole.domain.rows import ConversationRow
from agentconsole.domain.sanitize import clean
from agentconsole.replies import reach as reach_rule
from agentconsole.replies.lengths import counted, measure
from agentconsole.replies.reach import Reach

if TYPE_CHECKING:
    from agentconsole.replies.canned import Expansion
    from agentconsole.replies.guard import Verdict

from screens.common.safe import safe_text
from screens.inbox.thread_text import channel_label


class ComposerMode(StrEnum):
    """What the composer writes (a reply all is a reply with others copied)."""

    REPLY = "reply"  # to the customer, on the conversation's channel and thread
    NOTE = "note"  # an internal note only agents see


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

    @dataclass
    class Expanded(Message):
        """The shortcut before the cursor was expanded, its placeholders filled in, for the editor."""
        text: str
        cursor_index: int
        expansion: Expansion

    @dataclass
    class Submitted(Message):
        """The reply or note is to be sent (ctrl+s; ctrl+r also resolves)."""
        mode: ComposerMode
        conversation_id: int
        text: str
        source: str = ReplySource.PERSONAL  # canned | edited | personal, for the canned-vs-personal metrics
        template_id: int | None = None
        opened_at: float | None = None  # for the collision guard: what happened since the agent began
        resolve: bool = False  # reply and resolve: done once the platform accepted the reply
        cc: tuple[str, ...] = ()  # reply all (email): the others the answered message went to

    @dataclass
    class Closed(Message):
        """The composer closed: its text, kept as the conversation's draft."""
        mode: ComposerMode
        conversation_id: int
        draft: Draft

        @property
        def text(self) -> str:
            return self.draft.text

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.mode = ComposerMode.REPLY
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
            from screens.composer.composer_text import editor_parts

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

    def open(self, mode: ComposerMode, conversation: ConversationRow, draft: Draft | None = None, *,
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
        if mode == ComposerMode.NOTE:
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
        if self.mode != ComposerMode.REPLY or self.expander is None:
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
        if self.mode != ComposerMode.REPLY or self.conversation is None:
            return None
        from agentconsole.replies import guard  # with its templates: on the first reply, not at the start

        return guard.check(self.text, self.conversation.channel, self.conversation.kind, limit=self.limit,
                           customer=self.values, template_text=self.template_text,
                           reach=reach_rule.for_reply(self.reach, self.conversation.kind))

    def problem(self) -> str | None:
        """Why this text cannot be sent as it is (the core's send guard decides), or None."""
        text = self.text
        if not text.strip():
            return "Nothing to send: the text is empty." if self.mode == ComposerMode.REPLY else "The note is empty."
        verdict = self.verdict()
        if verdict is not None and verdict.blocks:
            return " · ".join(verdict.blocks) + ". Fix it to send."
        return None

    def update_status(self, error: str | None = None) -> None:
        status = self.query_one("#composer-status", Static)
        text = Text(end="")
        if self.mode == ComposerMode.REPLY and self.conversation is not None:
            length = measure(self.text, self.conversation.channel, self.conversation.kind, self.limit)
            text.append(length.describe(), "bold" if length.over else "")
            if length.over:
                text.append(" ▲ over the limit")
        else:
            text.append(counted(len(self.text), "characters"))
        governing = reach_rule.for_reply(self.reach, self.conversation.kind) if self.conversation else None
        if self.mode == ComposerMode.REPLY and governing is not None and (governing.notice or governing.reason):
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
        if resolve and self.mode != ComposerMode.REPLY:
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
        source = verdict.source if verdict is not None else ReplySource.PERSONAL
        self.post_message(self.Submitted(self.mode, self.conversation.id, self.text, source,
                                         self.template_id if source != ReplySource.PERSONAL else None, self.opened_at,
                                         resolve, self.cc))

    def action_close(self) -> None:
        if self.conversation is not None:
            self.post_message(self.Closed(self.mode, self.conversation.id,
                                          Draft(self.text, self.template_text, self.template_id)))
        self.display = False
