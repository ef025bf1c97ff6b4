"""The sync engine: polls every connector concurrently, commits batches with their cursors, and
dispatches the outbox; one failing connector never stops the others."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, replace

from agentconsole.domain.clock import Clock
from agentconsole.channels.contract import Connector
from agentconsole.domain.errors import AuthError, PermanentError, RateLimited, TemporaryError
from agentconsole.replies.outbox import Outbox, OutboxRow
from agentconsole.storage.store import Store
from agentconsole.team import leases as team_leases
from agentconsole.team.console import describe as describe_owner

log = logging.getLogger(__name__)

MAX_BACKOFF = 300.0
MAX_PAGES_PER_SYNC = 50


@dataclass(frozen=True, slots=True)
class ConnectorState:
    account_id: int
    account_name: str
    status: str  # starting | syncing | ok | error | retrying | auth | standby (another process syncs it)
    message: str = ""
    retry_at: float | None = None
    last_sync_at: float | None = None


@dataclass(frozen=True, slots=True)
class EngineEvent:
    kind: str  # ingested | sent | state | outbox
    account_id: int | None
    conversation_ids: tuple[int, ...] = ()


def backoff_delay(failures: int, rng: random.Random) -> float:
    """Exponential backoff with full jitter: 2, 4, 8 ... seconds (capped), scaled by 0.5–1.5."""
    base = min(MAX_BACKOFF, 2.0 ** max(1, failures))
    return base * rng.uniform(0.5, 1.5)


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
        names = {a.id: a.name for a in store.accounts()}
        self._states = {aid: ConnectorState(aid, names.get(aid, str(aid)), "starting") for aid in connectors}
        # Accounts whose connector could not even be built (no secret, unknown kind) show why.
        for aid, why in (unavailable or {}).items():
            self._states[aid] = ConnectorState(aid, names.get(aid, str(aid)), "error", why)
        self._wake: dict[int, asyncio.Event] = {}
        self._outbox_wake: asyncio.Event | None = None

    def states(self) -> dict[int, ConnectorState]:
        return dict(self._states)

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

    def _set_state(self, account_id: int, status: str, message: str = "", retry_at: float | None = None,
                   synced: bool = False) -> None:
        old = self._states[account_id]
        new = replace(old, status=status, message=message, retry_at=retry_at,
                      last_sync_at=self.clock.now() if synced else old.last_sync_at)
        if new != old:
            self._states[account_id] = new
            self._emit(EngineEvent("state", account_id))

    # ------------------------------------------------------------ running

    async def run(self) -> None:
        """Run until cancelled."""
        self._outbox_wake = asyncio.Event()
        tasks = [asyncio.create_task(self._leased_poll_loop(aid, c), name=f"poll-{aid}")
                 for aid, c in self.connectors.items()]
        tasks.append(asyncio.create_task(self._outbox_loop(), name="outbox"))
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
                self._emit(EngineEvent("ingested", account_id, report.conversation_ids))
            if not result.more:
                break
        return stored

    async def _poll_loop(self, account_id: int, connector: Connector) -> None:
        wake = self._wake.setdefault(account_id, asyncio.Event())
        watcher = None
        if callable(getattr(connector, "watch", None)):
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
            await connector.watch(wake.set)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.info("push for account %s stopped; polling continues", account_id, exc_info=True)

    async def _poll_forever(self, account_id: int, connector: Connector, wake: asyncio.Event) -> None:
        failures = 0
        while True:
            delay = connector.poll_interval
            self._set_state(account_id, "syncing", self._states[account_id].message)
            try:
                await self.sync_once(account_id)
            except asyncio.CancelledError:
                raise
            except AuthError as exc:
                failures += 1
                delay = MAX_BACKOFF
                self._set_state(account_id, "auth", f"sign-in failed: {exc}", self.clock.now() + delay)
            except RateLimited as exc:
                delay = max(1.0, exc.retry_after)
                self._set_state(account_id, "retrying", f"rate limited: {exc}", self.clock.now() + delay)
            except PermanentError as exc:
                failures += 1
                delay = MAX_BACKOFF
                self._set_state(account_id, "error", str(exc), self.clock.now() + delay)
            except Exception as exc:  # temporary errors and anything unexpected: back off and retry
                failures += 1
                delay = backoff_delay(failures, self.rng)
                log.warning("sync of account %s failed: %s", account_id, exc, exc_info=True)
                self._set_state(account_id, "retrying", f"{type(exc).__name__}: {exc}",
                                self.clock.now() + delay)
            else:
                failures = 0
                self._set_state(account_id, "ok", "", synced=True)
            wake.clear()
            try:
                await asyncio.wait_for(wake.wait(), timeout=delay)
            except TimeoutError:
                pass

    async def _outbox_loop(self) -> None:
        assert self._outbox_wake is not None
        await self.reconcile(self.sending_accounts())
        while True:
            try:
                await self.dispatch_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox dispatch failed")
            self._outbox_wake.clear()
            try:
                await asyncio.wait_for(self._outbox_wake.wait(), timeout=1.0)
            except TimeoutError:
                pass

    async def reconcile(self, accounts: frozenset[int] | set[int] | None = None) -> None:
        """Settle items left in flight by a crash, without ever sending one twice."""
        for item in await asyncio.to_thread(self.outbox.interrupted):
            connector = self.connectors.get(item.account_id)
            if connector is None or (accounts is not None and item.account_id not in accounts):
                continue
            await self._settle_ambiguous(item, connector, "interrupted mid-send")
            self._emit(EngineEvent("outbox", item.account_id, (item.conversation_id,)
                                   if item.conversation_id else ()))

    async def _settle_ambiguous(self, item: OutboxRow, connector: Connector, why: str,
                                retry_at: float = 0.0) -> None:
        """The send may or may not have reached the platform: resend only where that is provably safe.

        Looking the send up comes first; resending under the same idempotency key is next, while the
        platform still remembers the key; otherwise the agent decides.
        """
        caps = connector.capabilities
        check_failed = ""
        if caps.can_find_sent:
            try:
                found = await connector.find_sent(item.request)
            except Exception as exc:
                check_failed = f", and looking it up failed: {exc}"
            else:
                if found is not None:
                    await asyncio.to_thread(self.outbox.mark_sent, item.id, found)
                else:
                    await asyncio.to_thread(self.outbox.mark_retry, item.id,
                                            f"{why}; it never reached the platform", retry_at)
                return
        window = caps.idempotency_window
        if caps.idempotent_send and (window is None or self.clock.now() - item.created_at < window):
            await asyncio.to_thread(self.outbox.mark_retry, item.id,
                                    f"{why}; resending with the same idempotency key", retry_at)
            return
        await asyncio.to_thread(self.outbox.mark_unsure, item.id,
                                f"{why}{check_failed}: it may or may not have been posted; check and decide")

    async def dispatch_once(self) -> int:
        """Send every due item once; returns how many were accepted by their platforms."""
        items = await asyncio.to_thread(self.outbox.claim_due, 20, self.sending_accounts())
        sent = 0
        for item in items:
            sent += await self._send(item)
        return sent

    async def _send(self, item: OutboxRow) -> int:
        connector = self.connectors.get(item.account_id)
        conv = (item.conversation_id,) if item.conversation_id else ()
        if connector is None:
            await asyncio.to_thread(self.outbox.mark_failed, item.id, "this account is not connected")
            self._emit(EngineEvent("outbox", item.account_id, conv))
            return 0
        try:
            result = await connector.send(item.request)
        except asyncio.CancelledError:
            raise  # left in 'sending': reconcile() settles it on the next start
        except RateLimited as exc:
            await asyncio.to_thread(self.outbox.mark_retry, item.id, f"rate limited: {exc}",
                                    self.clock.now() + max(1.0, exc.retry_after))
        except (PermanentError, AuthError) as exc:
            await asyncio.to_thread(self.outbox.mark_failed, item.id, str(exc))
        except TemporaryError as exc:  # the connector vouches that nothing was posted
            delay = backoff_delay(item.attempts, self.rng)
            await asyncio.to_thread(self.outbox.mark_retry, item.id, str(exc), self.clock.now() + delay)
        except Exception as exc:  # e.g. a timeout after the request left: it may have been posted
            log.warning("send of outbox item %s ended ambiguously", item.id, exc_info=True)
            await self._settle_ambiguous(item, connector, f"{type(exc).__name__}: {exc}",
                                         self.clock.now() + backoff_delay(item.attempts, self.rng))
        else:
            await asyncio.to_thread(self.outbox.mark_sent, item.id, result)
            self._emit(EngineEvent("sent", item.account_id, conv))
            return 1
        self._emit(EngineEvent("outbox", item.account_id, conv))
        return 0

    # ------------------------------------------------------------ one engine per account (leases)

    def sending_accounts(self) -> frozenset[int] | None:
        """The accounts this engine may send for: all without leases, else those it holds."""
        return None if self.leases is None else frozenset(self._held)

    async def _leased_poll_loop(self, account_id: int, connector: Connector) -> None:
        """Poll (and send) for the account only while holding its lease; else show who does."""
        if self.leases is None:
            await self._poll_loop(account_id, connector)
            return
        leases, name = self.leases, team_leases.account_lease(account_id)
        while True:
            holder = await asyncio.to_thread(leases.acquire, name)
            if not leases.holds(holder):
                self._set_state(account_id, "standby", holder.label or describe_owner(holder.owner))
                await asyncio.sleep(team_leases.RENEW_SECONDS)
                continue
            self._held.add(account_id)
            await self.reconcile({account_id})
            poll = asyncio.create_task(self._poll_loop(account_id, connector), name=f"leased-poll-{account_id}")
            try:
                while not poll.done():
                    await asyncio.wait({poll}, timeout=team_leases.RENEW_SECONDS)
                    holder = await asyncio.to_thread(leases.acquire, name)
                    if not leases.holds(holder):
                        log.warning("lost the lease of account %s to %s", account_id, holder.owner)
                        break
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
        elsewhere = {}
        if self.leases is None:
            return elsewhere
        for account_id in self.connectors:
            holder = self.leases.acquire(team_leases.account_lease(account_id))
            if self.leases.holds(holder):
                self._held.add(account_id)
            else:
                elsewhere[account_id] = holder
        return elsewhere
