"""The Heard view: brand talk that did not @mention the brand, newest first, each post with what its platform
allows (a reply, or on X a like, a quote, a DM where they accept ours); promote it to a conversation or
dismiss it with one key. Outside the waiting counts until promoted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from agentconsole.domain.models import Channel
from agentconsole.response.sla import format_wait

from screens.common.keybar import KeyBar
from screens.common.safe import safe_text
from screens.heard.quote import QuoteModal

if TYPE_CHECKING:
    from agentconsole.listening.offers import HeardItem
    from agentconsole.session.session import Session

LIMIT = 200


def _short(channel: str) -> str:
    return Channel(channel).short if channel in Channel._value2member_map_ else channel[:2].upper()


def row_text(item: HeardItem, now: float) -> Text:
    """One heard post on one line: its age, channel, author and text (untrusted: through safe_text)."""
    row = item.row
    text = Text(f"{format_wait(max(0.0, now - row.sent_at)):>5}  {_short(row.channel):<3}", end="", no_wrap=True)
    text.append_text(safe_text(row.author_handle or row.author_name, "bold", single_line=True, limit=32))
    text.append("  ")
    text.append_text(safe_text(row.text, single_line=True, limit=160))
    return text


def detail_text(item: HeardItem) -> Text:
    row = item.row
    text = Text(end="")
    text.append_text(safe_text(row.author_name or row.author_handle, "bold", single_line=True, limit=80))
    if row.author_name and row.author_handle:
        text.append("  ")
        text.append_text(safe_text(row.author_handle, single_line=True, limit=80))
    text.append(f"  · {Channel(row.channel).label if row.channel in Channel._value2member_map_ else row.channel}"
                f" · {row.account_name}\n")
    text.append_text(safe_text(row.text, limit=2000))
    text.append("\nfound by ")
    text.append_text(safe_text(row.matched, "italic", single_line=True, limit=100))
    if row.url:
        text.append(" · ")
        text.append_text(safe_text(row.url, single_line=True, limit=200))
    text.append("\n")
    text.append_text(safe_text(item.allows, "bold", single_line=True, limit=200))
    return text


class HeardScreen(Screen):
    """Heard posts across every account that listens; the Session does the work, in workers."""

    CSS_PATH = "heard.tcss"
    BINDINGS = [
        Binding("p", "promote", "Promote", id="heard.promote",
                tooltip="Make it a conversation: it joins the inbox and counts as waiting from now"),
        Binding("enter", "open", "Open", id="heard.open", tooltip="Promote it and open it in the inbox"),
        Binding("x", "dismiss_post", "Dismiss", id="heard.dismiss", tooltip="Not for us: take it off the list"),
        Binding("f", "like", "Like", id="heard.like", tooltip="Like it (X, where a reply is refused)"),
        Binding("Q", "quote", "Quote", id="heard.quote", tooltip="Quote it in a post of ours (X, where a reply is refused)"),
        Binding("d", "dm", "DM", id="heard.dm", tooltip="Promote it and open it to move to a DM (where they accept ours)"),
        Binding("j", "cursor(1)", "Down", id="heard.down", show=False, tooltip="Next heard post"),
        Binding("k", "cursor(-1)", "Up", id="heard.up", show=False, tooltip="Previous heard post"),
        Binding("R", "refresh_list", "Refresh", id="heard.refresh", show=False, tooltip="Read the heard posts again"),
        Binding("escape", "close", "Back", id="heard.close", tooltip="Back to the inbox"),
    ]

    @dataclass
    class Loaded(Message):
        items: list[HeardItem]
        lines: list[str]

    class Changed(Message):
        """Listening stored new posts (from the engine, any thread)."""

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, HeardScreen.Changed)

    @dataclass
    class Done(Message):
        heard_id: int
        said: str
        conversation_id: int | None = None
        open_it: bool = False
        dm: bool = False

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.items: list[HeardItem] = []

    def compose(self) -> ComposeResult:
        yield Static(id="heard-title")
        yield Static(id="heard-listening")
        yield OptionList(id="heard-list")
        yield Static(id="heard-detail")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#heard-title", Static).update(Text(
            "Heard: brand talk that did not @mention you · never in the waiting counts until promoted", "bold"))
        self.query_one(OptionList).focus()
        self.load()

    def on_screen_resume(self) -> None:
        self.load()

    def heard_changed(self) -> None:
        """Called by the app for the engine's "heard" events (from any thread)."""
        self.post_message(self.Changed())

    def on_heard_screen_changed(self, message: Changed) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="heard", exit_on_error=False, description="Reading the heard posts")
    def load(self) -> None:
        self.post_message(self.Loaded(self.session.heard(LIMIT), self.session.listening_lines()))

    def on_heard_screen_loaded(self, message: Loaded) -> None:
        listing = self.query_one(OptionList)
        keep = self.current()
        self.items = message.items
        now = self.session.clock.now()
        listing.clear_options()
        listing.add_options([Option(row_text(item, now), id=str(item.row.id)) for item in self.items])
        lines = Text("\n".join(message.lines), end="")
        count = len(self.items)
        lines.append(f"\n{count} heard post{'s' if count != 1 else ''} to look at" if count else
                     "\nNothing heard yet: posts that name you without @ appear here.", style="italic")
        self.query_one("#heard-listening", Static).update(lines)
        if self.items:
            ids = [item.row.id for item in self.items]
            listing.highlighted = ids.index(keep.row.id) if keep is not None and keep.row.id in ids else 0
        self._show_detail()
        self.refresh_bindings()

    @on(OptionList.OptionSelected, "#heard-list")
    def _selected(self) -> None:
        self.action_open()  # enter on a row: the list's own key

    @on(OptionList.OptionHighlighted, "#heard-list")
    def _highlighted(self) -> None:
        self._show_detail()
        self.refresh_bindings()

    def _show_detail(self) -> None:
        item = self.current()
        self.query_one("#heard-detail", Static).update(detail_text(item) if item is not None else Text(""))

    def current(self) -> HeardItem | None:
        index = self.query_one(OptionList).highlighted
        return self.items[index] if index is not None and 0 <= index < len(self.items) else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        from agentconsole.listening.offers import Offer

        needs = {"like": Offer.LIKE, "quote": Offer.QUOTE, "dm": Offer.DM}
        if action in needs:
            item = self.current()
            return True if item is not None and needs[action] in item.offers else None
        if action in ("promote", "open", "dismiss_post"):
            return True if self.current() is not None else None
        return True

    # ------------------------------------------------------------------ verbs

    def action_cursor(self, step: int) -> None:
        listing = self.query_one(OptionList)
        listing.action_cursor_down() if step > 0 else listing.action_cursor_up()

    def action_refresh_list(self) -> None:
        self.load()

    def action_promote(self) -> None:
        if (item := self.current()) is not None:
            self._promote(item.row.id, False, False)

    def action_open(self) -> None:
        if (item := self.current()) is not None:
            self._promote(item.row.id, True, False)

    def action_dm(self) -> None:
        if (item := self.current()) is not None:
            self._promote(item.row.id, True, True)

    @work(thread=True, group="heard-verb", exit_on_error=False, description="Promoting a heard post")
    def _promote(self, heard_id: int, open_it: bool, dm: bool) -> None:
        from agentconsole.listening.offers import HeardGone

        try:
            cid = self.session.promote_heard(heard_id)
        except HeardGone as exc:
            self.post_message(self.Done(heard_id, str(exc)))
            return
        self.post_message(self.Done(heard_id, "Promoted: it is in the inbox now and waits for an answer.", cid,
                                    open_it, dm))

    def action_dismiss_post(self) -> None:
        if (item := self.current()) is not None:
            self._dismiss(item.row.id)

    @work(thread=True, group="heard-verb", exit_on_error=False, description="Dismissing a heard post")
    def _dismiss(self, heard_id: int) -> None:
        done = self.session.dismiss_heard(heard_id)
        self.post_message(self.Done(heard_id, "Dismissed." if done else "Already promoted or dismissed elsewhere."))

    def action_like(self) -> None:
        if (item := self.current()) is not None:
            self._like(item.row.id)

    @work(group="heard-verb", exit_on_error=False, description="Liking a heard post")
    async def _like(self, heard_id: int) -> None:
        from agentconsole.domain.errors import ConnectorError

        try:
            said = await self.session.like_heard(heard_id)
        except ConnectorError as exc:
            said = f"Not liked: {self.session.short(exc)}"
        self.notify(said, timeout=4)

    def action_quote(self) -> None:
        item = self.current()
        if item is not None:
            self.app.push_screen(QuoteModal(item.row.author_handle or item.row.author_name),
                                 lambda text, hid=item.row.id: self._quote(hid, text) if text else None)

    @work(thread=True, group="heard-verb", exit_on_error=False, description="Queuing a quote")
    def _quote(self, heard_id: int, text: str) -> None:
        from agentconsole.listening.offers import HeardGone, QuoteRefused

        try:
            self.session.quote_heard(heard_id, text)
        except (HeardGone, QuoteRefused) as exc:
            self.app.call_from_thread(self.notify, f"Not queued: {exc}", severity="warning", timeout=6)
            return
        self.app.call_from_thread(self.session.kick)
        self.app.call_from_thread(self.notify, "Quote queued: it goes out as a post of ours.", timeout=4)

    def on_heard_screen_done(self, message: Done) -> None:
        self.notify(message.said, timeout=4)
        if message.conversation_id is not None:
            self._inbox_changed(message.conversation_id)
            if message.open_it:
                self._open_in_inbox(message.conversation_id, message.dm)
                return
        self.load()

    def _inbox_changed(self, conversation_id: int) -> None:
        from screens.inbox.loading import DataChanged
        from screens.inbox.screen import InboxScreen

        for screen in self.app.screen_stack:
            if isinstance(screen, InboxScreen):
                screen.post_message(DataChanged(frozenset({conversation_id})))

    def _open_in_inbox(self, conversation_id: int, dm: bool) -> None:
        from screens.inbox.screen import InboxScreen

        inbox = next((s for s in self.app.screen_stack if isinstance(s, InboxScreen)), None)
        self.dismiss()
        if inbox is not None:
            inbox.call_later(inbox.go_to, conversation_id)
            if dm:
                self.app.notify("Press d to move it to a DM.", timeout=6)

    def action_close(self) -> None:
        self.dismiss()
