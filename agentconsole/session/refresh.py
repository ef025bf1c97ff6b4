"""The Session's reads that follow changes, and the change events its own verbs send: a view's ids and
counts and the wait line, each refreshed by what a change names, so one change costs the same in a
workspace of ten thousand conversations as in one of three hundred thousand."""

from __future__ import annotations

import logging
from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from agentconsole.domain.clock import Clock
from agentconsole.domain.filters import ViewFilter
from agentconsole.domain.views import VIEWS_BY_KEY
from agentconsole.response import waits
from agentconsole.response.rule import Order, ResponseRule
from agentconsole.session.activity import LastActivity
from agentconsole.session.counts import ViewCounts
from agentconsole.session.idlist import IdList
from agentconsole.session.listing import SortKeys, splice_front
from agentconsole.session.waiting import WaitingSet
from agentconsole.storage import views
from agentconsole.sync.states import EngineEvent, EventKind

if TYPE_CHECKING:
    from agentconsole.storage.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Resorted:
    """What resorted_list made: the list in order at *at*, or None when it already was (as it stood);
    *full* when it was read in full."""

    ids: IdList | None
    at: float
    full: bool = False


class RefreshReads:
    """Mixed into Session, which supplies the store, the clock, the agent, the listeners and the rule."""

    store: Store
    clock: Clock
    agent_id: int | None
    _listeners: list[Callable[[EngineEvent], None]]
    response_rule: Callable[[], ResponseRule]  # each account's targets and hours (Session's)

    @cached_property
    def _counts(self) -> ViewCounts:
        return ViewCounts(self.store, self.agent_id)

    @cached_property
    def _waiting(self) -> WaitingSet:
        return WaitingSet(self.store, self.agent_id)

    @cached_property
    def _activity(self) -> LastActivity:
        return LastActivity(self.store)

    # ------------------------------------------------------------------ what changed

    def note_changed(self, conversation_ids: Iterable[int]) -> None:
        """These conversations changed in the database (any thread, cheap): the next reads see it."""
        ids = tuple(conversation_ids)
        self._waiting.note(ids)
        self._activity.note(ids)

    def changed_everything(self) -> None:
        """A change too big to name (a gap in the change log, a failure): the next reads read it all."""
        self._waiting.forget()
        self._activity.forget()

    def _changed(self, conversation_ids: Iterable[int], *, order: bool, counts: bool) -> None:
        """After one of this session's verbs: note what it touched and tell the listeners (the console),
        as the engine tells of what it ingested. No ids: everything may have changed."""
        ids = tuple(sorted(set(conversation_ids)))
        if ids:
            self.note_changed(ids)
        else:
            self.changed_everything()
        event = EngineEvent(EventKind.CHANGED, None, ids, order=order, counts=counts)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("change listener failed")

    # ------------------------------------------------------------------ counts, ids, the wait line

    def view_counts(self, changed: Iterable[int] | None = None) -> dict[str, int]:
        """Every view's count: all counted again (and every cached figure read again), or moved by what
        *changed* conversations did."""
        if changed is None:
            self.changed_everything()
            return self._counts.recount(self._activity)  # the same pass reads every row's last activity
        changed = tuple(changed)
        self.note_changed(changed)
        return self._counts.changed(changed)

    def conversation_ids(self, view: str, order: Order, limit: int | None = None,
                         narrow: ViewFilter | None = None) -> IdList:
        """A view's ids in display order (the waiting ones by the response rule's *order*), in blocks
        that a targeted refresh changes a few of at a time."""
        key = self.response_rule().order_key(self.clock.now(), order)
        ids = self.store.conversation_ids(view, self.agent_id, limit, key, narrow)
        return IdList(ids, top=max(ids, default=0))

    def first_ids(self, view: str, order: Order, limit: int, narrow: ViewFilter | None = None) -> IdList:
        """A view's first *limit* ids, as conversation_ids orders them, for the first frame: view_front's,
        whose waiting part comes from the waiting set in memory (the wait line reads it anyway) instead
        of ranking every wait again in SQL and Python."""
        front, _ = self.view_front(view, order, limit, narrow, ())
        return IdList(front, top=max(front, default=0))

    def view_front(self, view: str, order: Order, limit: int, narrow: ViewFilter | None,
                   changed: Iterable[int]) -> tuple[array[int], set[int]]:
        """The first *limit* ids of a view, and which of the *changed* conversations it holds now: what
        the list needs to put a few changed rows in place without reading its whole id list. The
        waiting part comes from the waiting set in memory; the rest is *limit* rows of the index."""
        changed = set(changed)
        self.note_changed(changed)
        in_view = views.still_in(self.store, view, self.agent_id, changed, narrow)
        if narrow is not None and not narrow.empty:  # words and the like: SQL, from each group's head
            key = self.response_rule().order_key(self.clock.now(), order)
            return self.store.conversation_ids(view, self.agent_id, limit, key, narrow), in_view
        front: list[int] = []
        if VIEWS_BY_KEY[view].waiting_first:
            key = self.response_rule().order_key(self.clock.now(), order)
            front = self._waiting.first(view, limit, key)
        if len(front) < limit:
            front += views.recent_rest(self.store, view, self.agent_id, limit - len(front))
        return array("q", front), in_view

    def refreshed_list(self, view: str, order: Order, narrow: ViewFilter | None, ids: IdList | array[int],
                       front_size: int, changed: Iterable[int]) -> IdList:
        """A view's id list after *changed* conversations changed: the front read again, the changed
        rows beyond it put in place by a search that starts where their part of the list begins;
        the cost follows the window and the changed rows, not the workspace."""
        changed = set(changed)
        front, in_view = self.view_front(view, order, front_size, narrow, changed)
        waiting_first = VIEWS_BY_KEY[view].waiting_first
        # Where the rows nobody waits on begin, below the front (a hint for the search).
        rest_at = 0
        if waiting_first and (narrow is None or narrow.empty):
            rest_at = max(0, self._waiting.count(view) - len(front))
        top = ids.top if isinstance(ids, IdList) else None
        store = self.store

        def rest_keys(wanted: Sequence[int]) -> dict[int, list[tuple[float, ...]]]:
            """The keys a row nobody waits on may have had: its last activity now, then its earlier
            messages' times (a follow-up moved it from where the list had it by the one before)."""
            out: dict[int, list[tuple[float, ...]]] = {
                cid: [(1.0, -last, 0.0, 0.0)] for cid, last in views.activity(store, wanted).items()}
            for cid, times in views.latest_sent(store, out).items():
                out[cid] += [(1.0, -t, 0.0, 0.0) for t in times if (1.0, -t, 0.0, 0.0) not in out[cid]]
            return out

        spliced = splice_front(ids, front, front_size, changed, in_view, self.sort_keys(view, order), rest_at, top,
                               rest_keys)
        if top is not None:  # conversation ids only grow: a new one is never looked for in the old list
            spliced.top = max(top, max(front, default=0), max(changed, default=0))
        return spliced

    def resorted_list(self, view: str, order: Order, narrow: ViewFilter | None, ids: IdList | array[int] | None,
                      since: float | None) -> Resorted:
        """A view's id list put in order again for the time that passed since *since*, when the list was
        last in order: nothing read and nothing to do unless the response rule says time moved some wait
        past another since then (an hours boundary, targets that differ, a wait crossing its near or over
        mark); then only the waiting part is put in order again, from the waiting set in memory, and the
        rest (ordered by activity, which time leaves alone) keeps its blocks. A list that does not hold
        the waits the set holds, a filtered view or an unknown *since*: the view is read in full."""
        now = self.clock.now()
        if not VIEWS_BY_KEY[view].waiting_first:
            return Resorted(None, now)  # by activity only: time moves nothing
        rule = self.response_rule()
        if since is not None and ids is not None and not self._waiting.moved(view, since, now, rule, order):
            return Resorted(None, now)
        if since is None or ids is None or not len(ids) or (narrow is not None and not narrow.empty):
            return Resorted(self.conversation_ids(view, order, narrow=narrow), now, full=True)
        old = ids if isinstance(ids, IdList) else IdList(ids, top=max(ids, default=0))
        key = rule.order_key(now, order)
        waiting = self._waiting.first(view, len(old) + 1, key)  # all that wait, read under one lock
        if len(waiting) > len(old) or set(old[:len(waiting)]) != set(waiting):  # changes not taken in yet
            return Resorted(self.conversation_ids(view, order, narrow=narrow), now, full=True)
        edit = old.edit()
        edit.replace_head(len(waiting), waiting)
        return Resorted(edit.done(), now)

    def sort_keys(self, view: str, order: Order) -> SortKeys:
        """Each conversation's key in a view's order, as Store.conversation_ids sorts: the waiting ones
        first by the response rule's key, then the rest by the newest activity. A waiting one's key
        comes from the waiting set, the others' from one indexed read."""
        key = self.response_rule().order_key(self.clock.now(), order)
        waiting_first = VIEWS_BY_KEY[view].waiting_first
        waiting = self._waiting

        def keys(ids: Sequence[int]) -> dict[int, tuple[float, ...]]:
            out: dict[int, tuple[float, ...]] = {}
            others = []
            for cid in ids:
                found = waiting.entry(cid) if waiting_first else None
                if found is None:
                    others.append(cid)
                    continue
                since, account, kind, heat = found
                out[cid] = (0.0, key(since, account, kind, heat) if key is not None else since, since, float(cid))
            for cid, last in self._activity.of(others).items():  # in memory: no read per row probed
                out[cid] = (1.0, -last, 0.0, 0.0)
            return out

        return keys

    def most_urgent(self) -> int | None:
        ids = self._waiting.first("waiting", 1, self.response_rule().order_key(self.clock.now(), Order.URGENCY))
        return ids[0] if ids else None

    def wait_summary(self, order: Order) -> waits.WaitSummary:
        """The wait line: from the waiting set, by the response rule (no pass over what waits)."""
        rule, now = self.response_rule(), self.clock.now()
        groups = self._waiting.groups(waits.cutoffs(rule, now))
        top = self._waiting.top(rule.order_key(now, order)) if order is Order.URGENCY else None
        return waits.from_groups(groups, top, rule, now, order)
