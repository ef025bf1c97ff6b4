"""The listening rounds the sync engine runs beside its polls: each account with terms and a connector
that listens is asked now and then for brand talk, and what it finds is stored with its cursor."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from agentconsole.channels.contract import ListenResult, Listens
from agentconsole.domain.clock import Clock
from agentconsole.domain.errors import AuthError, CreditsExhausted, PermanentError, RateLimited
from agentconsole.failures import short
from agentconsole.listening import terms as listen_terms
from agentconsole.storage import heard
from agentconsole.storage.store import Store
from agentconsole.sync.sending import MAX_BACKOFF, backoff_delay
from agentconsole.sync.states import EngineEvent, EventKind

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ListenState:
    """How an account's listening went last: for the Heard view's header."""

    account_id: int
    ok: bool
    message: str
    at: float
    retry_at: float | None = None


class Listener:
    """Runs the listening rounds of the accounts whose connectors listen (see agentconsole.channels.contract)."""

    def __init__(self, store: Store, connectors: Mapping[int, object], clock: Clock,
                 emit: Callable[[EngineEvent], None], rng: random.Random | None = None) -> None:
        self.store = store
        # Typed as objects: the listening ones are found by the Listens extra, at run time.
        self.connectors = connectors
        self.clock = clock
        self.emit = emit
        self.rng = rng or random.Random()
        self.states: dict[int, ListenState] = {}
        self._wake: dict[int, asyncio.Event] = {}

    def listening(self) -> list[int]:
        """The accounts whose connector can listen (whether or not they have terms yet)."""
        return [aid for aid, c in self.connectors.items() if isinstance(c, Listens)]

    def kick(self, account_id: int | None = None) -> None:
        """Start the next round now (after the terms changed, say)."""
        for aid, event in self._wake.items():
            if account_id is None or aid == account_id:
                event.set()

    async def listen_once(self, account_id: int) -> int:
        """One round for the account: its terms searched, the new posts and the cursor stored together.
        Returns how many posts were new; 0 without terms or a connector that listens. Raises the
        connector's typed errors."""
        connector = self.connectors.get(account_id)
        if not isinstance(connector, Listens):
            return 0
        account = await asyncio.to_thread(self.store.account, account_id)
        terms = listen_terms.of_settings(account.settings)
        if not terms:
            return 0
        cursor = await asyncio.to_thread(lambda: heard.cursor(self.store.conn, account_id))
        result = await connector.listen(terms, cursor)
        if not result.posts and result.cursor == cursor:
            return 0
        ids = await asyncio.to_thread(self._store_round, account_id, result)
        if ids:
            self.emit(EngineEvent(EventKind.HEARD, account_id))
        return len(ids)

    def _store_round(self, account_id: int, result: ListenResult) -> list[int]:
        with self.store.transaction() as conn:
            return heard.store_batch(conn, account_id, result.posts, result.cursor, self.clock.now())

    def _interval(self, account_id: int, connector: Listens) -> float:
        account = self.store.account(account_id)
        return listen_terms.interval_of(account.settings, connector.listen_interval)

    async def run(self, account_id: int, allowed: Callable[[], bool] = lambda: True) -> None:
        """Listen for the account until cancelled, while *allowed()* (this process holds its lease);
        errors back off as the polls do and are kept in ``states``, never stopping the account's sync."""
        connector = self.connectors[account_id]
        if not isinstance(connector, Listens):
            return
        wake = self._wake.setdefault(account_id, asyncio.Event())
        failures = 0
        while True:
            delay = await asyncio.to_thread(self._interval, account_id, connector)
            now = self.clock.now()
            try:
                if allowed():
                    found = await self.listen_once(account_id)
                    self.states[account_id] = ListenState(account_id, True, f"{found} new" if found else "", now)
                failures = 0
            except asyncio.CancelledError:
                raise
            except RateLimited as exc:
                delay = max(1.0, exc.retry_after)
                self._failed(account_id, f"rate limited: {exc}", now, delay)
            except (AuthError, CreditsExhausted, PermanentError) as exc:
                delay = MAX_BACKOFF
                self._failed(account_id, str(exc), now, delay)
            except Exception as exc:  # temporary errors and anything unexpected: back off and retry
                failures += 1
                delay = min(delay, backoff_delay(failures, self.rng))
                log.warning("listening for account %s failed: %s", account_id, short(exc))
                self._failed(account_id, short(exc), now, delay)
            wake.clear()
            try:
                await asyncio.wait_for(wake.wait(), timeout=delay)
            except TimeoutError:
                pass

    def _failed(self, account_id: int, message: str, now: float, delay: float) -> None:
        self.states[account_id] = ListenState(account_id, False, message, now, now + delay)
        self.emit(EngineEvent(EventKind.HEARD, account_id))
