"""Every waiting conversation, kept by difference: the wait line's figures, the most urgent wait and the
first rows of each view's waiting part come from memory, in time that follows the number of groups
(accounts x kinds x heat levels) and the rows asked for, never how many wait or how big the workspace is."""

from __future__ import annotations

import heapq
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from agentconsole.domain.views import VIEWS, VIEWS_BY_KEY
from agentconsole.response.rule import Order, ResponseRule, heat_level
from agentconsole.response.waits import Groups, Top
from agentconsole.session.noted import Noted
from agentconsole.storage import views

if TYPE_CHECKING:
    from agentconsole.storage.store import Store

# The response rule's sort key on (waiting_since, account id, kind, heat), lowest first; None: waiting_since.
OrderKey = Callable[[float, int, str, float], Any] | None
EVERY_WAIT = -1  # the runs that hold every waiting conversation, whatever the view
# Views that hold every waiting conversation by their definition: they read the EVERY_WAIT runs.
_ALL_WAITING = frozenset({"all", "waiting"})
_HAIR = 1e-6  # seconds: rounding in the open-time arithmetic


class _Run:
    """The waits of one (view, account, kind, heat level), in waiting_since order, ties by id. Within a
    run every order_key of the response rule is monotone in waiting_since (rule.heat_level), so its
    first entry is its most urgent and the merge of the runs' heads is the view's order."""

    __slots__ = ("since", "ids")

    def __init__(self) -> None:
        self.since = array("d")
        self.ids = array("q")

    def _at(self, since: float, cid: int) -> int:
        at = bisect_left(self.since, since)
        while at < len(self.since) and self.since[at] == since and self.ids[at] < cid:
            at += 1
        return at

    def add(self, since: float, cid: int) -> None:
        at = self._at(since, cid)
        self.since.insert(at, since)
        self.ids.insert(at, cid)

    def remove(self, since: float, cid: int) -> None:
        at = self._at(since, cid)
        if at < len(self.ids) and self.ids[at] == cid:
            del self.since[at]
            del self.ids[at]


# One waiting conversation: (waiting_since, account id, kind, heat, view bits).
Entry = tuple[float, int, str, float, int]


class WaitingSet(Noted):
    """What waits, for one agent's views. note(ids) says which conversations changed (cheap, from any
    thread); every read first reads just those again. The first read, and the first after forget(),
    reads every waiting conversation once."""

    def __init__(self, store: Store, agent_id: int | None) -> None:
        super().__init__()
        self.store = store
        self.agent_id = agent_id
        self._entries: dict[int, Entry] = {}
        self._runs: dict[tuple[int, int, str, int], _Run] = {}
        self._view_bits = {view.key: i for i, view in enumerate(VIEWS)
                           if view.waiting_first and view.key not in _ALL_WAITING}

    # ------------------------------------------------------------------ what changed

    def _catch_up(self) -> None:
        """Under self._lock: apply what was noted (or read everything on the first use)."""
        if not self._loaded:
            self._take_pending()  # taken before the read: what is noted during it is read again next time
            self._load_all()
            self._loaded = True
            return
        pending = self._take_pending()
        if not pending:
            return
        now = {r[0]: r for r in views.waiting_members(self.store, self.agent_id, pending)}
        for cid in pending:
            old = self._entries.pop(cid, None)
            if old is not None:
                for run_key in self._run_keys(old):
                    self._runs[run_key].remove(old[0], cid)
            row = now.get(cid)
            if row is not None:
                self._add(cid, (row[2], row[3], row[4], row[5], row[1]))

    def _load_all(self) -> None:
        """Every waiting conversation, read once: each run sorted once at the end instead of an insert
        per wait (the first read holds thousands of waits at 300k conversations)."""
        entries: dict[int, Entry] = {}
        # Each wait goes once into the list of its (view bits, account, kind, heat level); each list then
        # joins the runs of its views (a few dozen lists, instead of an append per wait and view).
        by_bits: dict[tuple[int, int, str, int], list[tuple[float, int]]] = {}
        for cid, bits, since, account, kind, heat in views.waiting_members(self.store, self.agent_id):
            entries[cid] = (since, account, kind, heat, bits)
            key = (bits, account, kind, heat_level(heat))
            waits = by_bits.get(key)
            if waits is None:
                waits = by_bits[key] = []
            waits.append((since, cid))
        grouped: dict[tuple[int, int, str, int], list[tuple[float, int]]] = {}
        for (bits, account, kind, level), waits in by_bits.items():
            for view in self._views_of(bits):
                grouped.setdefault((view, account, kind, level), []).extend(waits)
        self._entries, self._runs = entries, {}
        for run_key, waits in grouped.items():
            waits.sort()  # waiting_since, ties by id: the order _Run.add keeps
            run = self._runs[run_key] = _Run()
            starts, cids = zip(*waits)
            run.since.extend(starts)
            run.ids.extend(cids)

    def _add(self, cid: int, entry: Entry) -> None:
        self._entries[cid] = entry
        for run_key in self._run_keys(entry):
            run = self._runs.get(run_key)
            if run is None:
                run = self._runs[run_key] = _Run()
            run.add(entry[0], cid)

    def _views_of(self, bits: int) -> tuple[int, ...]:
        """The runs' views a wait with these view bits is in: every wait's, then each view it belongs to."""
        return (EVERY_WAIT, *(i for i in self._view_bits.values() if bits >> i & 1))

    def _run_keys(self, entry: Entry) -> list[tuple[int, int, str, int]]:
        since, account, kind, heat, bits = entry
        level = heat_level(heat)
        return [(view, account, kind, level) for view in self._views_of(bits)]

    # ------------------------------------------------------------------ reads

    def groups(self, cutoffs: Iterable[tuple[int, str, float | None]]) -> Groups:
        """As Store.waiting_groups: {(account, kind): (waiting, over, next to cross, oldest)}."""
        cut = {(account, kind): cutoff for account, kind, cutoff in cutoffs}
        out: dict[tuple[int, str], tuple[int, int, float | None, float]] = {}
        with self._lock:
            self._catch_up()
            for (view, account, kind, _level), run in self._runs.items():
                if view != EVERY_WAIT or not run.ids:
                    continue
                cutoff = cut.get((account, kind))
                over = bisect_right(run.since, cutoff) if cutoff is not None else 0
                nxt = run.since[over] if over < len(run.since) else None
                count, n_over, old_next, oldest = out.get((account, kind), (0, 0, None, run.since[0]))
                if old_next is not None and (nxt is None or old_next < nxt):
                    nxt = old_next
                out[(account, kind)] = (count + len(run.ids), n_over + over, nxt, min(oldest, run.since[0]))
        return out

    def first(self, view: str, limit: int, key: OrderKey) -> list[int]:
        """The first *limit* waiting conversations of *view* in the order of *key*, as
        Store.conversation_ids sorts them: (key, waiting_since, id)."""
        with self._lock:
            self._catch_up()
            return self._first(self._view_of(view), limit, key)

    def top(self, key: OrderKey) -> Top:
        """(waiting_since, account id, kind) of the wait the list puts first, or None."""
        with self._lock:
            self._catch_up()
            first = self._first(EVERY_WAIT, 1, key)
            if not first:
                return None
            since, account, kind, _heat, _bits = self._entries[first[0]]
            return since, account, kind

    def count(self, view: str) -> int:
        """How many conversations wait in *view*."""
        with self._lock:
            self._catch_up()
            index = self._view_of(view)
            return sum(len(run.ids) for (v, *_), run in self._runs.items() if v == index)

    def moved(self, view: str, since: float, until: float, rule: ResponseRule, order: Order) -> bool:
        """Whether time alone may have changed the order of *view*'s waits from *since* to *until*: one
        group's waits gained on another's (rule.keeps_order) or, by urgency, a wait crossed its near or
        over mark. From memory: no read of the database but of what was noted as changed."""
        with self._lock:
            self._catch_up()
            index = self._view_of(view)
            runs = [(account, kind, run) for (v, account, kind, _level), run in self._runs.items()
                    if v == index and run.ids]
            if not rule.keeps_order(order, since, until, {(account, kind) for account, kind, _run in runs}):
                return True
            if order is not Order.URGENCY:
                return False
            for account, kind, run in runs:
                cut = zip(rule.tier_cutoffs(account, kind, since), rule.tier_cutoffs(account, kind, until))
                for before, after in cut:
                    if after is None:
                        continue
                    # A start in (before, after] moved up a tier; a hair wider either side, so a wait
                    # exactly on its mark is never missed (one more re-sort at worst).
                    lo = 0 if before is None else bisect_right(run.since, before - _HAIR)
                    if bisect_right(run.since, after + _HAIR) > lo:
                        return True
            return False

    def entry(self, conversation_id: int) -> tuple[float, int, str, float] | None:
        """(waiting_since, account id, kind, heat) of a waiting conversation; None when it does not wait
        (as of the last read: call after one of the reads above)."""
        found = self._entries.get(conversation_id)
        return None if found is None else found[:4]

    def _view_of(self, view: str) -> int:
        if view in _ALL_WAITING:
            return EVERY_WAIT
        if not VIEWS_BY_KEY[view].waiting_first:
            raise ValueError(f"the {view} view has no waiting part")
        return self._view_bits[view]

    def _first(self, view: int, limit: int, key: OrderKey) -> list[int]:
        entries = self._entries
        heads: list[tuple[Any, float, int, int, int]] = []  # (key, since, id, run number, position)
        runs = [run for (v, *_), run in self._runs.items() if v == view and run.ids]

        def head(n: int, at: int) -> tuple[Any, float, int, int, int]:
            run = runs[n]
            since, cid = run.since[at], run.ids[at]
            if key is None:
                return since, since, cid, n, at
            _since, account, kind, heat, _bits = entries[cid]
            return key(since, account, kind, heat), since, cid, n, at

        for n in range(len(runs)):
            heads.append(head(n, 0))
        heapq.heapify(heads)
        out: list[int] = []
        while heads and len(out) < limit:
            _key, _since, cid, n, at = heads[0]
            out.append(cid)
            if at + 1 < len(runs[n].ids):
                heapq.heapreplace(heads, head(n, at + 1))
            else:
                heapq.heappop(heads)
        return out
