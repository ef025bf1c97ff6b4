"""Connections whose thread was still running when their store closed, closed once that thread has ended."""

from __future__ import annotations

import sqlite3
import threading

_ORPHANS: list[tuple[threading.Thread, sqlite3.Connection]] = []
_LOCK = threading.Lock()


def close_later(thread: threading.Thread, conn: sqlite3.Connection) -> None:
    """Closing *conn* while *thread* may be inside a statement on it can crash the interpreter."""
    with _LOCK:
        _ORPHANS.append((thread, conn))


def reap() -> None:
    """Close the connections kept by close_later() whose threads have ended."""
    with _LOCK:
        for item in [o for o in _ORPHANS if not o[0].is_alive()]:
            item[1].close()
            _ORPHANS.remove(item)
