"""The change feed: notice another connection's commit cheaply (SQLite's data_version, PostgreSQL's
LISTEN/NOTIFY), then read just the change-log rows since the last look, so a console refreshes only
what changed; the log stays the truth, the wake-up only says when to look."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentconsole.domain.clock import Clock
from agentconsole.response.sla import format_wait
from agentconsole.storage.store import Store
from agentconsole.storage.team import ChangeRow, TeamStorage, for_store, prune_changes_in
from agentconsole.storage.team_listen import Signal, is_link_error, open_signal, sibling

log = logging.getLogger(__name__)

KEEP_ROWS = 20_000  # the log keeps at least this many recent changes; a reader further behind reloads
MAX_READ = 5_000  # more changes than this in one look: refresh everything instead
# A seq number missing below newer rows is a transaction still committing (PostgreSQL hands out seqs
# before commit, so they become visible out of order) or one that rolled back; it is looked for again
# on every read until it shows or this many seconds pass.
HOLE_SECONDS = 30.0
MAX_HOLES = 2_000
RETRY_FIRST, RETRY_MAX = 0.5, 10.0  # reconnecting after the server went away, doubling, with jitter


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


@dataclass(frozen=True, slots=True)
class Link:
    """The feed's connection to the workspace: up, or away since *since* (for the banner)."""

    up: bool = True
    since: float = 0.0  # clock time it went away
    why: str = ""
    retry_at: float | None = None  # clock time of the next attempt

    def describe(self, now: float) -> str:
        """The banner's words while the server is away (what it means first, the cause last); empty while up."""
        if self.up:
            return ""
        away = f"for {format_wait(max(0.0, now - self.since))}" if now - self.since >= 1 else "just now"
        retry = f", retrying in {max(0, int((self.retry_at or now) - now))}s" if self.retry_at else ""
        return (f"WORKSPACE SERVER UNREACHABLE {away}{retry}: showing what was loaded, nothing new is saved,"
                f" queued replies wait ({self.why})")


class ChangeFeed:
    """One reader's position in the change log, on connections of its own (SQLite's data_version is
    per connection and moves only when *another* connection commits). Use it from one thread."""

    def __init__(self, location: Path | str | Store, clock: Clock | None = None, *,
                 monotonic: Callable[[], float] = time.monotonic, rng: random.Random | None = None) -> None:
        # Given a store, the feed opens its own on the same workspace, with the same credentials.
        self.store = sibling(location) if isinstance(location, Store) else Store(location, clock)
        self.storage: TeamStorage = for_store(self.store)
        self.monotonic = monotonic
        self.rng = rng or random.Random()
        self.link = Link()
        self._failures = 0
        self._retry_at = 0.0
        # The signal first, then the position: a commit between the two is read, never missed.
        self.signal: Signal = open_signal(self.store)
        self.floor = self.storage.last_seq()  # every seq up to here is read (or given up)
        self._read: set[int] = set()  # seqs above the floor already read
        self._holes: dict[int, float] = {}  # seqs above the floor not seen yet: when first missed

    @property
    def seq(self) -> int:
        """The newest change read."""
        return max(self._read, default=self.floor)

    def poll(self) -> Changes | None:
        """None when nothing was committed since the last look (SQLite: one pragma, no table read)."""
        return self.wait(0.0)

    def wait(self, timeout: float) -> Changes | None:
        """Wait up to *timeout* seconds for other connections' commits; what they changed, or None.

        While the server is away it returns None (self.link says so) and tries again with back-off;
        once back, it reads the log from where it was, so nothing in between is missed or reloaded."""
        if not self.link.up:
            left = self._retry_at - self.monotonic()
            if left > 0:
                time.sleep(min(timeout, left))
                return None
            try:
                self.signal.reconnect()
                self._reopen()
                changes = self.read()
            except Exception as exc:
                if not is_link_error(exc):
                    raise
                self._away(exc)
                return None
            log.info("the workspace is reachable again; caught up from change %d", self.floor)
            self._failures, self.link = 0, Link()
            return changes
        try:
            wake = self.signal.wait(timeout)
            if wake is None and not self._holes:
                return None
            if wake is not None and wake.seq and wake.seq <= self.seq and not self._holes:
                return None  # a notification of changes already read
            return self.read()
        except Exception as exc:
            if not is_link_error(exc):
                raise
            self._away(exc)
            return None

    def lost(self, exc: BaseException) -> None:
        """Another connection of this console found the server gone: reconnect as if the feed had."""
        self._away(exc)

    def _away(self, exc: BaseException) -> None:
        self._failures += 1
        delay = min(RETRY_MAX, RETRY_FIRST * 2 ** (self._failures - 1)) * self.rng.uniform(0.8, 1.2)
        self._retry_at = self.monotonic() + delay
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        why = text.rsplit(": ", 1)[-1]  # libpq's last clause says it: "Connection refused", "server closed ..."
        now = self.store.clock.now()
        since = self.link.since if not self.link.up else now
        if self.link.up:
            log.warning("lost the workspace server: %s", why)
        self.link = Link(False, since, why, now + delay)
        self.signal.close()

    def _reopen(self) -> None:
        """A fresh store once the server is back: the old one's connections died with the server."""
        old, self.store = self.store, sibling(self.store)
        self.storage = for_store(self.store)
        try:
            old.close()
        except Exception:
            log.debug("closing the feed's broken connections failed", exc_info=True)

    def read(self) -> Changes | None:
        """The changes after the floor not read yet, as one Changes (None when there are none)."""
        storage = self.storage
        first = storage.first_seq()
        rows = storage.changes_after(self.floor, MAX_READ + 1)
        if first is not None and first > self.floor + 1 and self.floor > 0:
            return self._jump()  # the log forgot changes this reader never saw
        if len(rows) > MAX_READ:
            return self._jump()
        fresh = [r for r in rows if r.seq not in self._read]
        now = self.monotonic()
        top = rows[-1].seq if rows else self.floor
        present = {r.seq for r in rows}
        for seq in range(self.floor + 1, top):
            if seq not in present and seq not in self._holes:
                self._holes[seq] = now
        for r in fresh:
            self._holes.pop(r.seq, None)
            self._read.add(r.seq)
        for seq, missed in list(self._holes.items()):
            if now - missed > HOLE_SECONDS or len(self._holes) > MAX_HOLES:
                del self._holes[seq]  # rolled back, or committing for longer than anyone waits
                self._read.add(seq)
        while self.floor + 1 in self._read:
            self.floor += 1
            self._read.discard(self.floor)
        return _grouped(fresh) if fresh else None

    def _jump(self) -> Changes:
        self.floor = self.storage.last_seq()
        self._read.clear()
        self._holes.clear()
        return Changes(everything=True)

    def close(self) -> None:
        self.signal.close()
        self.store.close()


def _grouped(rows: list[ChangeRow]) -> Changes:
    by_kind: dict[str, set[int]] = {}
    for row in rows:
        ids = by_kind.setdefault(row.what, set())
        if row.conversation_id is not None:
            ids.add(row.conversation_id)
    return Changes(frozenset(i for ids in by_kind.values() for i in ids), frozenset(by_kind),
                   by_kind={k: frozenset(v) for k, v in by_kind.items()})


def prune(conn: Any, keep: int = KEEP_ROWS) -> int:
    """Forget all but the newest *keep* changes, inside the caller's transaction on *conn*."""
    return prune_changes_in(conn, keep)
