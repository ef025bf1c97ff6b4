"""Each conversation's last activity, kept by difference, so placing a row nobody waits on probes the
list's rows in memory instead of reading one row of the database per probe."""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence
from typing import TYPE_CHECKING

from agentconsole.session.noted import Noted
from agentconsole.storage import views

if TYPE_CHECKING:
    from agentconsole.storage.store import Store

_NONE = math.nan  # no such conversation (not yet seen, or gone)


class LastActivity(Noted):
    """last_message_at by conversation id (8 bytes a conversation). note(ids) says which changed (cheap,
    from any thread); every read first reads just those again; the first read, and the first after
    forget(), reads every conversation once."""

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self._at: array[float] = array("d")

    def adopt(self, at: array[float]) -> None:
        """Every conversation's last activity as a pass over all of them just read it (ViewCounts.recount);
        what was noted meanwhile stays noted, to be read again."""
        with self._lock:
            self._at, self._loaded = at, True

    def of(self, ids: Sequence[int]) -> dict[int, float]:
        """Each of *ids*' last_message_at, as views.activity reads it (absent ones left out)."""
        with self._lock:
            self._catch_up()
            at, n = self._at, len(self._at)
            out: dict[int, float] = {}
            for cid in ids:
                if cid < n and not math.isnan(value := at[cid]):
                    out[cid] = value
            return out

    def _catch_up(self) -> None:
        if not self._loaded:
            self._take_pending()  # taken before the read: what is noted during it is read again next time
            at = array("d", [_NONE]) * (views.last_id(self.store) + 1)
            for cid, last in views.every_activity(self.store):
                _put(at, cid, _NONE if last is None else last)
            self._at, self._loaded = at, True
            return
        pending = self._take_pending()
        if not pending:
            return
        now = views.activity(self.store, pending)
        for cid in pending:
            _put(self._at, cid, now.get(cid, _NONE))


def _put(at: array[float], cid: int, value: float) -> None:
    if cid >= len(at):
        at.extend(array("d", [_NONE]) * (cid + 1 - len(at) + 1024))  # room for the next new ones too
    at[cid] = value
