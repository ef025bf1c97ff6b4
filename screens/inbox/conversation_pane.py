"""The conversation pane: customer card, thread, notes, pending sends, and the composer (screens/composer)."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from agentconsole.domain.rows import ContactCard, ConversationRow, MessageRow, NoteRow
from agentconsole.replies.reach import Reach, ReachState
from agentconsole.response.hours import HoursConfig
from agentconsole.response.rule import ResponseRule
from agentconsole.domain.models import Status

from screens.common.safe import safe_text
from screens.common.steady import SteadyLines
from screens.composer.composer import Composer
from screens.inbox.thread_text import OUTBOX_LABELS  # noqa: F401 (the composer verbs' palette)
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
        if c.waiting_since is not None and c.status == Status.OPEN:
            waiting = Text(f"Waiting since {self.stamp(c.waiting_since)}")
            business = self.rule.rule_for(c).hours
            lines.append(waiting)
            if business is not None:  # the list's wait is open time; the stamp gives the clock's
                waiting.append(" · open hours only:", "dim")
                lines.append(Text(business.describe(), "dim"))  # its own line: cut, the hours would go
        reach = self.data.reach
        # An open window is said in the composer; the card names only what limits the next message.
        if reach is not None and reach.state not in (ReachState.OPEN, ReachState.WINDOW) and c.status == Status.OPEN:
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
