"""The sync engine: polls every connector concurrently, commits batches with their cursors, and
dispatches the outbox; one failing connector never stops the others."""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Protocol, cast

from agentconsole.channels import registry
from agentconsole.domain.clock import Clock
from agentconsole.channels.contract import Connector
from agentconsole.domain.errors import AuthError, CreditsExhausted, PermanentError, RateLimited, TemporaryError
from agentconsole.failures import short
from agentconsole.replies.outbox import Outbox, OutboxRow
from agentconsole.storage.store import Store
from agentconsole.domain.rows import AccountRow
from agentconsole.sync.sending import MAX_BACKOFF, Sender, backoff_delay
from agentconsole.sync.states import ConnectorState, EngineEvent, EventKind, SyncStatus
from agentconsole.team import leases as team_leases
from agentconsole.team.console import describe as describe_owner

__all__ = ["MAX_BACKOFF", "ConnectorState", "Engine", "EngineEvent", "EventKind", "SyncStatus", "backoff_delay"]

log = logging.getLogger(__name__)

MAX_PAGES_PER_SYNC = 50
PRUNE_SECONDS = 60.0  # the change log is pruned this often, not on every renewal of every account's lease


class _Watches(Protocol):
    """A connector's optional push: *wake* is called when something new may be waiting."""

    async def watch(self, wake: Callable[[], None]) -> None: ...


def _can_watch(account: AccountRow | None, connector: Connector) -> bool:
    """Push support as the account's plug-in declares it; a connector of no installed plug-in (a
    test's scripted one) is asked directly."""
    if account is not None and account.connector in registry.names():
        return registry.can_watch(account)
    return callable(getattr(connector, "watch", None))


class Engine:
    def __init__(self, store: Store, connectors: dict[int, Connector], *, clock: Clock,
                 on_change: Callable[[EngineEvent], None] | None = None,
                 rng: random.Random | None = None, unavailable: dict[int, str] | None = None,
                 leases: team_leases.Leases | None = None) -> None:
        self.store = store
        # With leases, only one process on the workspace polls and sends for each account.
        self.leases = leases
        self._held: set[int] = set()
        self.outbox = Outbox(store)
        self.connectors = connectors
        self.clock = clock
        self.on_change = on_change
        self.rng = rng or random.Random()
        accounts = {a.id: a for a in store.accounts()}
        names = {aid: a.name for aid, a in accounts.items()}
        self._watches = {aid: _can_watch(accounts.get(aid), c) for aid, c in connectors.items()}
        self._states = {aid: ConnectorState(aid, names.get(aid, str(aid)), SyncStatus.STARTING) for aid in connectors}
        # Accounts whose connector could not even be built (no secret, unknown kind) show why.
        for aid, why in (unavailable or {}).items():
            self._states[aid] = ConnectorState(aid, names.get(aid, str(aid)), SyncStatus.ERROR, why)
        # Supervised tasks that crashed and wait to restart: name -> (why, restart at, accounts touched).
        self._down: dict[str, tuple[str, float, tuple[int, ...]]] = {}
        self._wake: dict[int, asyncio.Event] = {}
        self._outbox_wake: asyncio.Event | None = None
        self._next_prune = 0.0  # clock time
        self.sender = Sender(self.outbox, connectors, clock, self.rng, self._emit_item)
        self.sender.allowed = self.sending_accounts
        from agentconsole.listening.poller import Listener

        self.listener = Listener(store, connectors, clock, self._emit, self.rng)

    def states(self) -> dict[int, ConnectorState]:
        states = dict(self._states)
        for why, restart_at, accounts in self._down.values():
            for aid in accounts:
                if aid in states:
                    states[aid] = replace(states[aid], status=SyncStatus.DOWN, message=why, retry_at=restart_at)
        return states

    def kick(self) -> None:
        """Wake the outbox dispatcher and the pollers now (after a send was queued, say)."""
        if self._outbox_wake is not None:
            self._outbox_wake.set()
        for event in self._wake.values():
            event.set()

    def _emit(self, event: EngineEvent) -> None:
        if self.on_change is not None:
            try:
                self.on_change(event)
            except Exception:  # a listener's bug must not stop syncing
                log.exception("engine listener failed")

    def _emit_item(self, kind: str, item: OutboxRow) -> None:
        self._emit(EngineEvent(kind, item.account_id, (item.conversation_id,) if item.conversation_id else ()))

    def _set_state(self, account_id: int, status: str, message: str = "", retry_at: float | None = None,
                   synced: bool = False) -> None:
        old = self._states[account_id]
        new = replace(old, status=status, message=message, retry_at=retry_at,
                      last_sync_at=self.clock.now() if synced else old.last_sync_at)
        if new != old:
            self._states[account_id] = new
            self._emit(EngineEvent(EventKind.STATE, account_id))

    # ------------------------------------------------------------ running

    async def run(self) -> None:
        """Run until cancelled; a task that crashes is restarted with back-off (see _supervise)."""
        self._outbox_wake = asyncio.Event()
        tasks = [asyncio.create_task(self._supervise(f"syncing {self._states[aid].account_name}",
                                                     functools.partial(self._leased_poll_loop, aid, c), (aid,)),
                                     name=f"poll-{aid}")
                 for aid, c in self.connectors.items()]
        # Listening (keywords and hashtags) runs beside each poll, for the accounts this engine holds.
        tasks += [asyncio.create_task(self._supervise(f"listening {self._states[aid].account_name}",
                                                      functools.partial(self.listener.run, aid,
                                                                        functools.partial(self._holds, aid)),
                                                      (aid,)),
                                      name=f"listen-{aid}")
                  for aid in self.listener.listening()]
        tasks.append(asyncio.create_task(self._supervise("sending", self._outbox_loop,
                                                         tuple(self.connectors)), name="outbox"))
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if self.leases is not None:
                self.leases.release_all()
            for connector in self.connectors.values():
                try:
                    await connector.close()
                except Exception:
                    log.exception("closing a connector failed")

    async def _supervise(self, name: str, start: Callable[[], Awaitable[None]],
                         accounts: tuple[int, ...]) -> None:
        """Run *start()* again after it crashes, backing off; while it is down, the states of the
        *accounts* it serves say so (the banner shows "stopped: ..., restarting in Ns")."""
        failures = 0
        while True:
            started = self.clock.now()
            try:
                await start()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.clock.now() - started > MAX_BACKOFF:
                    failures = 0  # it had been running fine: start the back-off over
                failures += 1
                delay = backoff_delay(failures, self.rng)
                log.exception("%s stopped; restarting in %.0f s", name, delay)
                self._down[name] = (f"{name} stopped ({short(exc)})", self.clock.now() + delay, accounts)
                self._emit_states(accounts)
                try:
                    await asyncio.sleep(delay)
                finally:
                    self._down.pop(name, None)
                    self._emit_states(accounts)

    def _emit_states(self, accounts: tuple[int, ...]) -> None:
        for aid in accounts:
            self._emit(EngineEvent(EventKind.STATE, aid))

    async def sync_once(self, account_id: int) -> int:
        """Fetch until the connector has nothing more; returns how many new messages were stored."""
        connector = self.connectors[account_id]
        stored = 0
        for _ in range(MAX_PAGES_PER_SYNC):
            cursor = await asyncio.to_thread(self.store.cursor, account_id)
            result = await connector.fetch(cursor)
            if not result.messages and result.cursor == cursor:
                break  # nothing new: no write transaction at all
            report = await asyncio.to_thread(self.store.ingest, account_id, result.messages, result.cursor)
            stored += report.new_messages
            if report.conversation_ids:
                self._emit(EngineEvent(EventKind.INGESTED, account_id, report.conversation_ids))
            if not result.more:
                break
        return stored

    async def _poll_loop(self, account_id: int, connector: Connector) -> None:
        wake = self._wake.setdefault(account_id, asyncio.Event())
        watcher = None
        if self._watches.get(account_id, False):
            # Push (IMAP IDLE, a streaming API) only wakes the poll early; fetch() stays the truth.
            watcher = asyncio.create_task(self._watch(account_id, connector, wake), name=f"watch-{account_id}")
        try:
            await self._poll_forever(account_id, connector, wake)
        finally:
            if watcher is not None:
                watcher.cancel()
                await asyncio.gather(watcher, return_exceptions=True)

    async def _watch(self, account_id: int, connector: Connector, wake: asyncio.Event) -> None:
        try:
            await cast(_Watches, connector).watch(wake.set)  # _can_watch said it has one
        except asyncio.CancelledError:
            raise
        except Exception:
            log.info("push for account %s stopped; polling continues", account_id, exc_info=True)

    async def _poll_forever(self, account_id: int, connector: Connector, wake: asyncio.Event) -> None:
        failures = 0
        while True:
            delay = connector.poll_interval
            self._set_state(account_id, SyncStatus.SYNCING, self._states[account_id].message)
            try:
                await self.sync_once(account_id)
            except asyncio.CancelledError:
                raise
            except AuthError as exc:
                failures += 1
                delay = MAX_BACKOFF
                self._set_state(account_id, SyncStatus.AUTH, f"sign-in failed: {exc}", self.clock.now() + delay)
            except RateLimited as exc:
                delay = max(1.0, exc.retry_after)
                self._set_state(account_id, SyncStatus.RETRYING, f"rate limited: {exc}", self.clock.now() + delay)
            except CreditsExhausted as exc:  # the business must top up: its own state, checked now and then
                delay = MAX_BACKOFF
                self._set_state(account_id, SyncStatus.CREDITS, str(exc), self.clock.now() + delay)
            except PermanentError as exc:
                failures += 1
                delay = MAX_BACKOFF
                self._set_state(account_id, SyncStatus.ERROR, str(exc), self.clock.now() + delay)
            except Exception as exc:  # temporary errors and anything unexpected: back off and retry
                failures += 1
                delay = backoff_delay(failures, self.rng)
                # A network hiccup is expected and worded by the connector; anything else is a bug or a
                # local fault, whose traceback the log keeps.
                log.warning("sync of account %s failed: %s", account_id, short(exc),
                            exc_info=not isinstance(exc, TemporaryError))
                self._set_state(account_id, SyncStatus.RETRYING, short(exc), self.clock.now() + delay)
            else:
                failures = 0
                note = getattr(connector, "status_note", None)  # optional: e.g. X's credits spent today
                self._set_state(account_id, SyncStatus.OK, note() if callable(note) else "", synced=True)
            wake.clear()
            try:
                await asyncio.wait_for(wake.wait(), timeout=delay)
            except TimeoutError:
                pass

    async def _outbox_loop(self) -> None:
        assert self._outbox_wake is not None
        await self.reconcile(self.sending_accounts())
        try:
            while True:
                # Each account sends in its own lane, so a hung platform holds up only its own; a
                # failure ends the loop, and _supervise restarts it and says so.
                await self.sender.dispatch_in_background()
                self._outbox_wake.clear()
                try:
                    await asyncio.wait_for(self._outbox_wake.wait(), timeout=1.0)
                except TimeoutError:
                    pass
        finally:
            await self.sender.stop()

    async def reconcile(self, accounts: frozenset[int] | set[int] | None = None) -> None:
        """Settle items left in flight by a crash, without ever sending one twice."""
        await self.sender.reconcile(accounts)

    async def dispatch_once(self) -> int:
        """Send every due item once, the accounts side by side; returns how many were accepted."""
        return await self.sender.dispatch_once()

    # ------------------------------------------------------------ one engine per account (leases)

    def sending_accounts(self) -> frozenset[int] | None:
        """The accounts this engine may send for: all without leases, else those it holds."""
        return None if self.leases is None else frozenset(self._held)

    def _holds(self, account_id: int) -> bool:
        """Whether this engine may work for the account: no leases (one console alone), or it holds the lease."""
        return self.leases is None or account_id in self._held

    async def _leased_poll_loop(self, account_id: int, connector: Connector) -> None:
        """Poll (and send) for the account only while holding its lease; else show who does."""
        if self.leases is None:
            await self._poll_loop(account_id, connector)
            return
        leases, name = self.leases, team_leases.account_lease(account_id)
        while True:
            holder = await asyncio.to_thread(leases.acquire, name)
            if not leases.holds(holder):
                self._set_state(account_id, SyncStatus.STANDBY, holder.label or describe_owner(holder.owner))
                await asyncio.sleep(team_leases.RENEW_SECONDS)
                continue
            self._held.add(account_id)
            await self.reconcile({account_id})
            poll = asyncio.create_task(self._poll_loop(account_id, connector), name=f"leased-poll-{account_id}")
            try:
                while not poll.done():
                    await asyncio.wait({poll}, timeout=team_leases.RENEW_SECONDS)
                    try:  # a beat that cannot get through before the lease may pass to another host stops us
                        holder = await asyncio.wait_for(asyncio.to_thread(leases.acquire, name),
                                                        timeout=max(0.1, leases.valid_for(name) - 1.0))
                    except TimeoutError:
                        log.warning("could not renew the lease of account %s in time; standing by", account_id)
                        break
                    if not leases.holds(holder):
                        log.warning("lost the lease of account %s to %s", account_id, holder.owner)
                        break
                    if self.clock.now() >= self._next_prune:
                        self._next_prune = self.clock.now() + PRUNE_SECONDS
                        await asyncio.to_thread(self._prune_changes)
            finally:
                self._held.discard(account_id)
                poll.cancel()
                await asyncio.gather(poll, return_exceptions=True)

    def _prune_changes(self) -> None:
        """The change log only serves consoles that are behind by moments: the syncing process keeps
        it short even when no console runs."""
        from agentconsole.team.changes import prune

        with self.store.transaction() as conn:
            prune(conn)

    def take_leases(self) -> dict[int, team_leases.Holder]:
        """For one pass (sync --once): take every free account's lease; returns the others' holders."""
        elsewhere: dict[int, team_leases.Holder] = {}
        if self.leases is None:
            return elsewhere
        for account_id in self.connectors:
            holder = self.leases.acquire(team_leases.account_lease(account_id))
            if self.leases.holds(holder):
                self._held.add(account_id)
            else:
                elsewhere[account_id] = holder
        return elsewhere
