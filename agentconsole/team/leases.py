"""Leases: one holder at a time for a named job (polling and sending for an account), renewed by a
heartbeat, taken over once it expires or its holder's process is provably gone."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dataclasses import dataclass

from agentconsole.team.console import alive

if TYPE_CHECKING:
    from agentconsole.storage.store import Store

TTL_SECONDS = 15.0
RENEW_SECONDS = 5.0


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
        self.owner = owner
        self.label = label  # who runs it, for the other consoles' banners ("Alice's console")
        self.ttl = ttl

    def acquire(self, name: str) -> Holder:
        """Take or renew *name*; returns who holds it afterwards (this process when it worked)."""
        now = self.store.clock.now()
        with self.store.transaction() as conn:
            row = conn.execute("SELECT owner, label, acquired_at, expires_at FROM leases WHERE name = ?",
                               (name,)).fetchone()
            if row is None:
                conn.execute("INSERT INTO leases(name, owner, label, acquired_at, expires_at) VALUES (?,?,?,?,?)",
                             (name, self.owner, self.label, now, now + self.ttl))
                return Holder(name, self.owner, self.label, now, now + self.ttl)
            owner, label, acquired, expires = row
            if owner == self.owner:
                conn.execute("UPDATE leases SET expires_at = ? WHERE name = ?", (now + self.ttl, name))
                return Holder(name, owner, label, acquired, now + self.ttl)
            if expires > now and alive(owner):
                return Holder(name, owner, label, acquired, expires)
            conn.execute("UPDATE leases SET owner = ?, label = ?, acquired_at = ?, expires_at = ? WHERE name = ?",
                         (self.owner, self.label, now, now + self.ttl, name))
            conn.execute("INSERT INTO audit(action, detail, at) VALUES ('lease_taken', json_object("
                         "'lease', ?, 'from', ?, 'to', ?), ?)", (name, owner, self.owner, now))
            return Holder(name, self.owner, self.label, now, now + self.ttl)

    def holds(self, holder: Holder) -> bool:
        return holder.owner == self.owner

    def release(self, name: str) -> None:
        with self.store.transaction() as conn:
            conn.execute("DELETE FROM leases WHERE name = ? AND owner = ?", (name, self.owner))

    def release_all(self) -> None:
        with self.store.transaction() as conn:
            conn.execute("DELETE FROM leases WHERE owner = ?", (self.owner,))


def holder(store: Store, name: str) -> Holder | None:
    """Who holds *name* now, or None when nobody does (or the holder's time ran out)."""
    row = store.conn.execute("SELECT owner, label, acquired_at, expires_at FROM leases WHERE name = ?",
                             (name,)).fetchone()
    if row is None or row[3] <= store.clock.now():
        return None
    return Holder(name, *row)
