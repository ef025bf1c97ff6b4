"""The inbox views' counts, kept by difference: one pass over the workspace, then only what changed."""

from __future__ import annotations

import math
import threading
from array import array
from collections.abc import Iterable
from typing import TYPE_CHECKING

from agentconsole.domain.views import VIEWS
from agentconsole.storage import views

if TYPE_CHECKING:
    from agentconsole.session.activity import LastActivity
    from agentconsole.storage.store import Store


class ViewCounts:
    """Each view's count for one agent. recount() reads every conversation's views once; changed(ids)
    then reads only those conversations and moves the counts by the difference, so the cost of one
    change does not grow with the workspace."""

    def __init__(self, store: Store, agent_id: int | None) -> None:
        self.store = store
        self.agent_id = agent_id
        self._bits: array[int] = array("H")  # conversation id -> its view bits (0: in none, or not seen)
        self._counts: list[int] | None = None
        self._lock = threading.Lock()  # workers of the inbox may overlap

    def recount(self, activity: LastActivity | None = None) -> dict[str, int]:
        """Every view counted again; *activity* is filled in the same pass (each conversation's last
        activity), so the start reads every conversation once."""
        counts = [0] * len(VIEWS)
        size = views.last_id(self.store) + 1
        bits = array("H", bytes(2 * size))
        at = array("d", [math.nan]) * size
        for cid, mask, last in views.membership_and_activity(self.store, self.agent_id):
            if cid >= len(bits):  # written since the last id was read
                _grow(bits, cid)
                at.extend(array("d", [math.nan]) * (len(bits) - len(at)))
            bits[cid] = mask
            at[cid] = math.nan if last is None else last
            for i in range(len(VIEWS)):
                if mask >> i & 1:
                    counts[i] += 1
        if activity is not None:
            activity.adopt(at)
        with self._lock:
            self._bits, self._counts = bits, counts
            return self._as_dict(counts)

    def changed(self, conversation_ids: Iterable[int]) -> dict[str, int]:
        """The counts after these conversations changed (a first call counts everything)."""
        if self._counts is None:
            return self.recount()
        ids = set(conversation_ids)
        now = dict(views.membership(self.store, self.agent_id, ids))
        with self._lock:
            bits, counts = self._bits, self._counts
            assert counts is not None
            for cid in ids:
                old = bits[cid] if cid < len(bits) else 0
                new = now.get(cid, 0)  # gone from the database: in no view
                if old == new:
                    continue
                if cid >= len(bits):
                    _grow(bits, cid)
                bits[cid] = new
                for i in range(len(VIEWS)):
                    counts[i] += (new >> i & 1) - (old >> i & 1)
            return self._as_dict(counts)

    @staticmethod
    def _as_dict(counts: list[int]) -> dict[str, int]:
        return {view.key: count for view, count in zip(VIEWS, counts)}


def _grow(bits: array[int], cid: int) -> None:
    bits.frombytes(bytes(2 * (cid + 1 - len(bits)) + 2048))  # room for the next new conversations too
