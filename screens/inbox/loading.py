"""The inbox's reads: the workers that load the counts, the list, the wait line and the pane through
the session, and the refresh of just what a change event names. InboxScreen inherits them."""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual import on, work
from textual.message import Message
from textual.screen import Screen

from agentconsole.domain.filters import ViewFilter
from agentconsole.domain.views import VIEWS
from agentconsole.response.rule import Order

from screens.inbox.conversation_pane import PaneData
from screens.inbox.header import WaitFigures, WaitLine, ViewList, WorkspaceBanner

if TYPE_CHECKING:
    from agentconsole.session.session import Session


class DataChanged(Message):
    """Conversations changed in the DB (ingest, a send, an action): refresh those rows; when *order* says
    their place may have moved, the list around what is shown and the wait line; when *counts* says so,
    the counts (by difference). No ids: reload all."""

    def __init__(self, conversation_ids: frozenset[int] = frozenset(), order: bool = True,
                 counts: bool | None = None) -> None:
        super().__init__()
        self.conversation_ids = conversation_ids
        self.order = order
        self.counts = order if counts is None else counts

    def can_replace(self, message: Message) -> bool:
        # This message is superseded by the next DataChanged, which takes over what this one named.
        if not isinstance(message, DataChanged):
            return False
        if not self.conversation_ids or not message.conversation_ids:
            message.conversation_ids = frozenset()  # one of them says "everything"
        else:
            message.conversation_ids = message.conversation_ids | self.conversation_ids
        message.order = message.order or self.order
        message.counts = message.counts or self.counts
        return True


class StatesChanged(Message):
    """A connector's state changed; only the banner needs it."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, StatesChanged)


class InboxLoading(Screen):
    """The inbox screen supplies conversations, pane, order, narrow, view_index and the first-paint start."""

    session: Session
    _ordered_at: float | None = None  # when the list on screen was last in order, all of it (resort)

    # ------------------------------------------------------------------ loading (workers post results)

    @dataclass
    class CountsLoaded(Message):
        """Each view's count was read."""
        counts: dict[str, int]

    @dataclass
    class IdsLoaded(Message):
        """A view's conversation ids were read, in its order."""
        view: str
        ids: array
        order: Order  # what the ids were read for: a read for an order or filter since left is for no list
        narrow: ViewFilter
        ordered_at: float | None = None  # the clock when the whole list was read in order (None: a part)

    @dataclass
    class WaitLoaded(Message):
        """The wait line's figures were read."""
        figures: WaitFigures
        next_change_in: float | None
        order: Order  # what the figures were read for (the oldest wait, or the most urgent)

    @dataclass
    class PaneLoaded(Message):
        """A conversation was read for the pane (None when it is gone)."""
        data: PaneData | None
        conversation_id: int

    def reload(self) -> None:
        """Refetch everything on screen (after an action or an engine event)."""
        self.load_counts()
        self.load_ids(VIEWS[self.view_index].key)
        self.load_wait()
        self.conversations.invalidate()
        if self.pane.conversation_id is not None:
            self.load_pane(self.pane.conversation_id)

    def refresh_pane(self) -> None:
        """Read the open conversation again (what a collision showed happened meanwhile)."""
        if self.pane.conversation_id is not None:
            self.load_pane(self.pane.conversation_id)

    def refresh_changed(self, conversation_ids: frozenset[int], order: bool, counts: bool | None = None) -> None:
        """Refresh only what these conversations touch: their rows, the pane if it shows one; when their
        place may have moved, the list's front and the wait line; when the counts may have, the counts
        (by difference)."""
        if not conversation_ids:
            self.reload()
            return
        self.conversations.invalidate(conversation_ids)
        if self.pane.conversation_id in conversation_ids:
            self.load_pane(self.pane.conversation_id)
        if order if counts is None else counts:
            self.load_counts(tuple(conversation_ids))
        if order:
            self.load_front(VIEWS[self.view_index].key, self.conversations.front_size(), tuple(conversation_ids))
            self.load_wait()

    @work(thread=True, exclusive=True, group="counts", exit_on_error=False, description="Counting the views")
    def load_counts(self, changed: tuple[int, ...] | None = None) -> None:
        self.post_message(self.CountsLoaded(self.session.view_counts(changed)))

    @dataclass
    class ListRefreshed(Message):
        """The list's front was read again around the conversations that changed."""
        view: str
        before: array
        ids: array
        size: int
        changed: tuple[int, ...]

    @work(thread=True, group="front", exit_on_error=False, description="Loading the conversation list")
    def load_front(self, view: str, size: int, changed: tuple[int, ...]) -> None:
        before = self.conversations.ids  # replaced, never changed in place: safe to read from here
        ids = self.session.refreshed_list(view, self.order, self.narrow, before, size, changed)
        self.post_message(self.ListRefreshed(view, before, ids, size, changed))

    def on_inbox_loading_list_refreshed(self, message: ListRefreshed) -> None:
        if message.view != VIEWS[self.view_index].key:
            return
        if self.conversations.ids is message.before:
            self.conversations.update_ids(message.ids, message.changed)
        else:  # the list changed meanwhile (another refresh, a full read): place these rows in that one
            self.load_front(message.view, message.size, message.changed)

    @work(thread=True, exclusive=True, group="ids", exit_on_error=False, description="Loading the conversation list")
    def load_ids(self, view: str, first_page: bool = False) -> None:
        session, order, narrow = self.session, self.order, self.narrow
        if first_page or self.conversations.ids is None or not len(self.conversations.ids):
            # A screenful of rows now, the whole (maybe 100k) list right after.
            self.post_message(self.IdsLoaded(view, session.conversation_ids(view, order, 200, narrow), order, narrow))
            if first_page:
                return
        at = self.app.clock.now()  # before the read: the list is in order at least from then
        self.post_message(self.IdsLoaded(view, session.conversation_ids(view, order, narrow=narrow), order, narrow, at))

    def resort(self) -> None:
        """With business hours, waits stop and start with the hours, and waits of different targets gain
        on each other, so the order can change without any new message: every minute the response rule
        says whether time moved any wait past another since the list was last in order, and only then
        are the waiting rows put in order again (from memory); a minute that moved nothing reads nothing."""
        self.resort_list(VIEWS[self.view_index].key)

    @dataclass
    class ListResorted(Message):
        """The list was put in order again, or found still in order."""
        view: str
        before: array | None
        ids: array | None
        at: float
        full: bool
        order: Order | None = None
        narrow: ViewFilter | None = None

    @work(thread=True, exclusive=True, group="resort", exit_on_error=False, description="Putting the list in order")
    def resort_list(self, view: str) -> None:
        before = self.conversations.ids  # replaced, never changed in place: safe to read from here
        order, narrow = self.order, self.narrow
        done = self.session.resorted_list(view, order, narrow, before, self._ordered_at)
        self.post_message(self.ListResorted(view, before, done.ids, done.at, done.full, order, narrow))

    def on_inbox_loading_list_resorted(self, message: ListResorted) -> None:
        if (message.view, message.order, message.narrow) != (VIEWS[self.view_index].key, self.order, self.narrow):
            return  # the list shows another order or filter now: this one is for no list
        if message.full:  # read in full, as a view is when it opens
            self.on_inbox_loading_ids_loaded(self.IdsLoaded(message.view, message.ids, self.order, self.narrow,
                                                            message.at))
            return
        if self.conversations.ids is not message.before:  # the list changed meanwhile: its own time stands
            if message.ids is not None:
                self.resort_list(message.view)  # and that one may need putting in order too
            return
        if message.ids is not None:
            self.conversations.update_ids(message.ids, ())  # the rows are as they were: only their places moved
        self._ordered_at = message.at

    @work(thread=True, exclusive=True, group="wait", exit_on_error=False, description="Loading the waiting times")
    def load_wait(self) -> None:
        self.post_message(self.read_wait())

    def read_wait(self) -> WaitLoaded:
        now, order = self.app.clock.now(), self.order
        summary = self.session.wait_summary(order)
        figures = WaitFigures(summary.waiting, summary.oldest_since, summary.oldest_channel, summary.over,
                              self.today_text, summary.oldest_hours, summary.ranked is Order.URGENCY)
        return self.WaitLoaded(figures, None if summary.next_change is None else max(0.0, summary.next_change - now),
                               order)

    @work(thread=True, exclusive=True, group="pane", exit_on_error=False, description="Loading the conversation")
    def load_pane(self, conversation_id: int) -> None:
        read = self.session.pane(conversation_id)
        data = None if read is None else PaneData(read.conversation, read.messages, read.notes, read.card,
                                                  read.outbox, read.loaded_at, read.reach)
        self.post_message(self.PaneLoaded(data, conversation_id))

    def on_inbox_loading_counts_loaded(self, message: CountsLoaded) -> None:
        self.query_one(ViewList).set_counts(message.counts)

    def on_inbox_loading_ids_loaded(self, message: IdsLoaded) -> None:
        view = VIEWS[self.view_index]
        # A worker already reading when `o` or the filter changed still posts (a thread is not stopped):
        # its list, landing after the new one, would show the old order under the new order's title.
        if message.view == view.key and (message.order, message.narrow) == (self.order, self.narrow):
            empty = view.empty if self.narrow.empty else (
                f"Nothing in {view.label} matches the filter '{self.narrow.typed}': press \\ to change or clear it.")
            self.conversations.set_ids(message.ids, empty)
            self._ordered_at = message.ordered_at
        if not self._started:
            self.call_after_refresh(self._start_after_first_paint)

    def on_inbox_loading_wait_loaded(self, message: WaitLoaded) -> None:
        if message.order is not self.order:
            return  # read for the order before `o`, landing after the new one's: that one stands
        self.query_one(WaitLine).set_figures(message.figures)
        self.check_crossings()
        now = self.app.clock.now()
        self._wait_due = now + message.next_change_in if message.next_change_in is not None else float("inf")

    def on_inbox_loading_pane_loaded(self, message: PaneLoaded) -> None:
        selected = self.conversations.selected_id
        if message.conversation_id in (selected, self.pane.conversation_id):
            self.pane.show(message.data)
            self.show_pane_presence()
            self.refresh_bindings_if_changed()
            if message.data is not None and self.compose_on_load == message.conversation_id:
                self.compose_on_load = None
                self._open_composer("reply")

    @on(DataChanged)
    def _data_changed(self, message: DataChanged) -> None:
        self.refresh_changed(message.conversation_ids, message.order, message.counts)

    @on(StatesChanged)
    def _states_changed(self) -> None:
        self.show_connector_states()

    def show_connector_states(self) -> None:
        states = self.session.connector_states()
        if states is not None:
            self.query_one(WorkspaceBanner).set_states(states)

    def tick(self) -> None:
        """Once a second: redraw what the clock moves; no DB work unless a wait crossed a target."""
        self.show_connector_states()
        self.query_one(WaitLine).tick()
        self.conversations.tick()
        if self.app.clock.now() >= self._wait_due:
            self._wait_due = float("inf")
            self.load_wait()
