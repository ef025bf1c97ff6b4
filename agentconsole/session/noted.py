"""What the Session keeps in memory by difference: changed conversations are noted from any thread, and
the next read takes them and reads just those again."""

from __future__ import annotations

import threading
from collections.abc import Iterable


class Noted:
    """note(ids) from any thread never waits for a read of the database; a read takes what was noted
    (_take_pending) under self._lock; forget() makes the next read read everything once."""

    def __init__(self) -> None:
        self._loaded = False
        self._pending: set[int] = set()
        self._pending_lock = threading.Lock()  # note() never waits for a read of the database
        self._lock = threading.Lock()  # the inbox's workers read at the same time

    def note(self, conversation_ids: Iterable[int]) -> None:
        with self._pending_lock:
            self._pending.update(conversation_ids)

    def forget(self) -> None:
        """Read everything again on the next read (after a change too big to name)."""
        with self._lock:
            self._loaded = False

    def _take_pending(self) -> set[int]:
        with self._pending_lock:
            pending, self._pending = self._pending, set()
        return pending
