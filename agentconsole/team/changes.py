"""The change feed: notice another process's commit cheaply (PRAGMA data_version), then read just
the change-log rows since the last look, so a console refreshes only what changed."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from agentconsole.storage import db

KEEP_ROWS = 20_000  # the log keeps at least this many recent changes; a reader further behind reloads
MAX_READ = 5_000  # more changes than this in one look: refresh everything instead


@dataclass(frozen=True, slots=True)
class Changes:
    """What changed since the last look. *everything*: too much to say, refresh it all."""

    conversation_ids: frozenset[int] = frozenset()
    what: frozenset[str] = frozenset()
    everything: bool = False
    by_kind: dict[str, frozenset[int]] = field(default_factory=dict)

    def ids(self, *kinds: str) -> frozenset[int]:
        out: set[int] = set()
        for kind in kinds:
            out |= self.by_kind.get(kind, frozenset())
        return frozenset(out)


class ChangeFeed:
    """One reader's position in the change log, on its own connection (data_version is per
    connection, and only changes when *another* connection commits). Use it from one thread."""

    def __init__(self, path: Path | str) -> None:
        self.conn: sqlite3.Connection = db.connect(path)
        self._version = self._data_version()
        self.seq = self.conn.execute("SELECT coalesce(max(seq), 0) FROM changes").fetchone()[0]

    def _data_version(self) -> int:
        return self.conn.execute("PRAGMA data_version").fetchone()[0]

    def poll(self) -> Changes | None:
        """None when nothing was committed since the last look: one pragma, no table read."""
        version = self._data_version()
        if version == self._version:
            return None
        self._version = version
        return self.read()

    def read(self) -> Changes | None:
        conn = self.conn
        first = conn.execute("SELECT min(seq) FROM changes").fetchone()[0]
        rows = conn.execute("SELECT seq, conversation_id, what FROM changes WHERE seq > ? ORDER BY seq LIMIT ?",
                            (self.seq, MAX_READ + 1)).fetchall()
        if not rows:
            return None
        behind = first is not None and first > self.seq + 1 and self.seq > 0
        if behind or len(rows) > MAX_READ:
            self.seq = conn.execute("SELECT max(seq) FROM changes").fetchone()[0]
            return Changes(everything=True)
        self.seq = rows[-1][0]
        by_kind: dict[str, set[int]] = {}
        for _, cid, what in rows:
            ids = by_kind.setdefault(what, set())
            if cid is not None:
                ids.add(cid)
        return Changes(frozenset(i for ids in by_kind.values() for i in ids), frozenset(by_kind),
                       by_kind={k: frozenset(v) for k, v in by_kind.items()})

    def close(self) -> None:
        self.conn.close()


def prune(conn: sqlite3.Connection, keep: int = KEEP_ROWS) -> int:
    """Forget all but the newest *keep* changes; the newest row always stays, so seq never goes back."""
    last = conn.execute("SELECT max(seq) FROM changes").fetchone()[0]
    if last is None:
        return 0
    return conn.execute("DELETE FROM changes WHERE seq <= ?", (last - keep,)).rowcount
