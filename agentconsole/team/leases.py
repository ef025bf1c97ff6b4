"""Leases: one holder at a time for a named job (polling and sending for an account), renewed by a
heartbeat and taken over once that heartbeat stops, or at once when its holder's process is provably
gone (a process of this machine that no longer exists).

Hosts' clocks differ, so a holder's expiry time alone never retires it: a taker watches the holder's
heartbeat (its expires_at) and takes over only after it stood still for a whole TTL on the taker's own
clock, or once it is older than any clock skew we tolerate. Every take is one compare-and-set on the
exact holder that was watched, so two takers never both win."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dataclasses import dataclass

from agentconsole.storage.team import LeaseRow, for_store
from agentconsole.team.console import alive

if TYPE_CHECKING:
    from agentconsole.storage.store import Store

TTL_SECONDS = 15.0
RENEW_SECONDS = 5.0
CLOCK_SKEW_SECONDS = 60.0  # a lease this far past its expiry, by our clock, is dead whatever the skew


@dataclass(frozen=True, slots=True)
class Holder:
    name: str
    owner: str
    label: str
    acquired_at: float
    expires_at: float


def account_lease(account_id: int) -> str:
    return f"account:{account_id}"


class Leases:
    """The leases one process asks for, under its owner id."""

    def __init__(self, store: Store, owner: str, label: str = "", ttl: float = TTL_SECONDS) -> None:
        self.store = store
        self.storage = for_store(store)
        self.owner = owner
        self.label = label  # who runs it, for the other consoles' banners ("Alice's console")
        self.ttl = ttl
        # Another holder's heartbeat as last seen: name -> (owner, expires_at, when we first saw it).
        self._watched: dict[str, tuple[str, float, float]] = {}
        # Until when (our clock) each lease we hold is surely still ours: a TTL after the start of the
        # last beat that went through, since a taker waits a whole TTL from the earliest it could see it.
        self._valid: dict[str, float] = {}

    def acquire(self, name: str) -> Holder:
        """Take or renew *name*; returns who holds it afterwards (this process when it worked)."""
        storage = self.storage
        for _ in range(5):  # each pass ends in a decision unless another process moved in between
            now = self.store.clock.now()
            mine = LeaseRow(name, self.owner, self.label, now, now + self.ttl)
            row = storage.lease(name)
            if row is None:
                if storage.insert_lease(mine):
                    self._valid[name] = now + self.ttl
                    return _holder(mine)
                continue
            if row.owner == self.owner:
                if storage.renew_lease(name, self.owner, now + self.ttl):
                    self._valid[name] = now + self.ttl
                    return Holder(name, row.owner, row.label, row.acquired_at, now + self.ttl)
                continue
            self._valid.pop(name, None)
            if not self._stopped(row, now):
                return _holder(row)
            if storage.take_lease(row, mine):
                self._watched.pop(name, None)
                self._valid[name] = now + self.ttl
                return _holder(mine)
        row = storage.lease(name)
        return _holder(row) if row is not None else Holder(name, "", "", 0.0, 0.0)

    def _stopped(self, row: LeaseRow, now: float) -> bool:
        """Has *row*'s holder stopped: provably gone, or its heartbeat still for a whole TTL?"""
        watched = self._watched.get(row.name)
        if watched is None or watched[:2] != (row.owner, row.expires_at):
            watched = (row.owner, row.expires_at, now)
            self._watched[row.name] = watched
        if not alive(row.owner):
            return True
        return now - watched[2] >= self.ttl or row.expires_at + CLOCK_SKEW_SECONDS <= now

    def valid_for(self, name: str) -> float:
        """Seconds this process may still act on *name* without renewing it (0 when not held): past
        that, another console may have taken it over, so polling and sending must have stopped."""
        return max(0.0, self._valid.get(name, 0.0) - self.store.clock.now())

    def holds(self, holder: Holder) -> bool:
        return holder.owner == self.owner

    def release(self, name: str) -> None:
        self._valid.pop(name, None)
        self.storage.release_lease(name, self.owner)

    def release_all(self) -> None:
        self._valid.clear()
        self.storage.release_all(self.owner)


def _holder(row: LeaseRow) -> Holder:
    return Holder(row.name, row.owner, row.label, row.acquired_at, row.expires_at)


def holder(store: Store, name: str) -> Holder | None:
    """Who holds *name* now, or None when nobody does (or the holder's time ran out)."""
    row = for_store(store).lease(name)
    if row is None or row.expires_at <= store.clock.now():
        return None
    return _holder(row)
