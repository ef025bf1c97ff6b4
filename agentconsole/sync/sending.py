"""Sending the outbox: one dispatcher per account, typed outcomes, and no unknown outcome resent blindly."""

from __future__ import annotations

import asyncio
import logging
import os
import random
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from enum import StrEnum

from agentconsole.channels import phases
from agentconsole.channels.contract import Connector
from agentconsole.channels.phases import PhasedConnector, SendPhase
from agentconsole.domain.clock import Clock
from agentconsole.domain.errors import AuthError, NotSent, PermanentError, RateLimited
from agentconsole.domain.models import SendResult
from agentconsole.replies.outbox import Outbox, OutboxRow

log = logging.getLogger(__name__)

MAX_BACKOFF = 300.0
# A send that has not ended by then is given up on (well inside the outbox claim lease, so no other
# process takes the item over while this one may still be sending); its outcome is then unknown.
SEND_DEADLINE = 120.0
# Fault injection for the crash tests: "transmitting:30,accepted:30" pauses 30 s right after that
# phase is committed, so a test can kill -9 the process exactly at that boundary.
PAUSE_ENV = "AGENTCONSOLE_PAUSE_AFTER_PHASE"
# A lookup for a send finds statuses created from this long before the first attempt (clock skew).
LOOKUP_SLACK = 60.0


def backoff_delay(failures: int, rng: random.Random) -> float:
    """Exponential backoff with full jitter: 2, 4, 8 ... seconds (capped), scaled by 0.5–1.5."""
    base = min(MAX_BACKOFF, 2.0 ** max(1, failures))
    return base * rng.uniform(0.5, 1.5)


async def pause_at(boundary: str) -> None:
    """Sleep at *boundary* when the crash tests ask for it (see PAUSE_ENV); a no-op otherwise."""
    wanted = os.environ.get(PAUSE_ENV, "")
    for part in wanted.split(","):
        name, _, seconds = part.partition(":")
        if name.strip() == boundary:
            print(f"paused at {boundary}", flush=True)
            await asyncio.sleep(float(seconds or 30))


class Verdict(StrEnum):
    """What a send that may have arrived is judged to be."""

    SENT = "sent"  # found on the platform: settle it as sent
    RESEND = "resend"  # provably never arrived, or the idempotency key makes a resend safe
    ASK = "ask"  # only the agent can say


@dataclass(frozen=True, slots=True)
class Judgement:
    """What may be done with a send that may have arrived: settle it, send it, or ask the agent."""

    verdict: Verdict
    why: str
    found: SendResult | None = None
    still_unknown: bool = False  # a resend allowed only by the idempotency key: judge again next time


class _Reporter:
    """Commits each phase a connector reports before the connector goes on."""

    def __init__(self, sender: Sender, item: OutboxRow) -> None:
        self.sender = sender
        self.item = item
        self.phase = SendPhase(item.phase) if item.phase == SendPhase.UNKNOWN else SendPhase.CLAIMED
        self.result: SendResult | None = None

    async def transmitting(self) -> None:
        if self.phase != SendPhase.UNKNOWN:  # an earlier attempt's doubt outlives this one's progress
            self.phase = SendPhase.TRANSMITTING
            await asyncio.to_thread(self.sender.outbox.set_phase, self.item.id, SendPhase.TRANSMITTING)
        await pause_at("transmitting")

    async def accepted(self, result: SendResult) -> None:
        self.result = result
        await asyncio.to_thread(self.sender.mark_sent, self.item.id, result, after_work=True)
        self.sender.emit("sent", self.item)
        await pause_at("accepted")


class Sender:
    """Claims, sends and settles outbox items; every account has its own lane."""

    def __init__(self, outbox: Outbox, connectors: dict[int, Connector], clock: Clock,
                 rng: random.Random, emit: Callable[[str, OutboxRow], None]) -> None:
        self.outbox = outbox
        self.connectors = connectors
        self.clock = clock
        self.rng = rng
        self.emit = emit
        self._lanes: dict[int, asyncio.Task[int]] = {}
        # The accounts this process may send for now (those whose lease it holds), None for all.
        self.allowed: Callable[[], Collection[int] | None] = lambda: None

    def mark_sent(self, item_id: int, result: SendResult, *, after_work: bool = False) -> None:
        """Store what was sent; a reply sent with resolve (ctrl+r) is then done by the one rule every
        done goes through, which may queue the account's satisfaction question."""
        from agentconsole.satisfaction.done import after_sent

        self.outbox.mark_sent(item_id, result, after_work=after_work)
        after_sent(self.outbox.store, self.outbox.item(item_id))

    async def _due_accounts(self) -> list[int]:
        allowed = self.allowed()
        due = await asyncio.to_thread(self.outbox.due_accounts)
        return due if allowed is None else [aid for aid in due if aid in allowed]

    # ------------------------------------------------------------ dispatching

    async def dispatch_once(self) -> int:
        """Send every due item once, the accounts side by side; returns how many were accepted."""
        accounts = await self._due_accounts()
        counts = await asyncio.gather(*(self.dispatch_account(aid) for aid in accounts))
        return sum(counts)

    async def dispatch_in_background(self) -> None:
        """Start a lane for every account with due items that has none running: a hung platform holds
        up only its own account's outbox."""
        for aid in await self._due_accounts():
            lane = self._lanes.get(aid)
            if lane is None or lane.done():
                self._lanes[aid] = asyncio.create_task(self.dispatch_account(aid), name=f"outbox-{aid}")

    async def stop(self) -> None:
        lanes = list(self._lanes.values())
        for lane in lanes:
            lane.cancel()
        await asyncio.gather(*lanes, return_exceptions=True)

    async def dispatch_account(self, account_id: int) -> int:
        """Send the items of the account that are due now, one at a time, each at most once in this pass
        (one claimed at a time, so a hung send leaves the rest visibly waiting, not 'sending')."""
        due = await asyncio.to_thread(self.outbox.due_ids, account_id)
        sent = 0
        for item_id in due:
            items = await asyncio.to_thread(self.outbox.claim_due, 1, account_id=account_id, only=item_id)
            if not items:
                continue  # another process took it, or it was decided meanwhile
            try:
                sent += await self.send(items[0])
            except asyncio.CancelledError:
                raise  # left in 'sending': reconcile() settles it on the next start
            except Exception:
                log.exception("sending outbox item %s failed unexpectedly", items[0].id)
        return sent

    # ------------------------------------------------------------ one send

    async def send(self, item: OutboxRow) -> int:
        connector = self.connectors.get(item.account_id)
        if connector is None:
            await asyncio.to_thread(self.outbox.mark_failed, item.id, "this account is not connected")
            self.emit("outbox", item)
            return 0
        await pause_at("claimed")
        if item.phase == SendPhase.UNKNOWN:
            # An earlier attempt may have arrived: judge again now, not only when it first happened
            # (the idempotency window may have closed while we waited).
            judged = await self.judge(item, connector)
            if judged.verdict != Verdict.RESEND:
                await self._apply(item, judged, 0.0)
                self.emit("outbox", item)
                return int(judged.verdict == Verdict.SENT)
        reporter = _Reporter(self, item)
        try:
            with phases.reporting(reporter):
                result = await asyncio.wait_for(connector.send(item.request), SEND_DEADLINE)
        except asyncio.CancelledError:
            raise
        except RateLimited as exc:
            await self._retry(item, reporter, f"rate limited: {exc}", max(1.0, exc.retry_after))
        except (PermanentError, AuthError) as exc:
            if reporter.result is None:
                await asyncio.to_thread(self.outbox.mark_failed, item.id, str(exc))
        except NotSent as exc:
            await self._retry(item, reporter, f"not sent: {exc}", backoff_delay(item.attempts, self.rng))
        except TimeoutError:
            if reporter.result is None:
                await self._timed_out(item, connector, reporter)
        except Exception as exc:  # OutcomeUnknown, a bare TemporaryError, anything: it may have arrived
            if reporter.result is None:
                log.warning("send of outbox item %s ended without an answer", item.id, exc_info=True)
                await self.settle_unknown(item, connector, f"no answer: {type(exc).__name__}: {exc}",
                                          self.clock.now() + backoff_delay(item.attempts, self.rng))
        else:
            if reporter.result is None:
                await asyncio.to_thread(self.mark_sent, item.id, result)
            await pause_at("after-work")
            await asyncio.to_thread(self.outbox.finished, item.id)
            self.emit("sent", item)
            return 1
        self.emit("outbox", item)
        return int(reporter.result is not None)

    async def _retry(self, item: OutboxRow, reporter: _Reporter, why: str, delay: float) -> None:
        if reporter.result is None:
            await asyncio.to_thread(self.outbox.mark_retry, item.id, why, self.clock.now() + delay,
                                    unknown=reporter.phase == SendPhase.UNKNOWN)

    async def _timed_out(self, item: OutboxRow, connector: Connector, reporter: _Reporter) -> None:
        why = f"no answer within {SEND_DEADLINE:.0f} s"
        retry_at = self.clock.now() + backoff_delay(item.attempts, self.rng)
        if connector.capabilities.reports_send_phases and reporter.phase == SendPhase.CLAIMED:
            await self._retry(item, reporter, f"{why}, before anything was sent", retry_at - self.clock.now())
        else:
            await self.settle_unknown(item, connector, why, retry_at)

    # ------------------------------------------------------------ unknown outcomes

    async def judge(self, item: OutboxRow, connector: Connector) -> Judgement:
        """Whether a send that may have arrived did: look it up where the channel can (a find settles
        it; "not found" allows a resend only where the lookup is authoritative); else resend under the
        same idempotency key while the platform still remembers it; otherwise the agent decides."""
        caps = connector.capabilities
        started = item.first_attempt_at if item.first_attempt_at is not None else item.created_at
        note = ""
        if caps.can_find_sent:
            request = replace(item.request, extra={**item.request.extra,
                                                   "first_attempt_at": started - LOOKUP_SLACK})
            try:
                found = await asyncio.wait_for(connector.find_sent(request), SEND_DEADLINE)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                note = f"; looking it up failed: {type(exc).__name__}: {exc}"
            else:
                if found is not None:
                    return Judgement(Verdict.SENT, "found on the platform", found)
                if caps.find_sent_authoritative:
                    return Judgement(Verdict.RESEND, "the platform has no trace of it, so it never arrived")
                note = "; the lookup found nothing, but on this account that does not prove it never arrived"
        window = caps.idempotency_window
        if caps.idempotent_send and (window is None or self.clock.now() - started < window):
            return Judgement(Verdict.RESEND, "resending under the same idempotency key" + note, still_unknown=True)
        if caps.idempotent_send:
            note += f"; the platform forgets the idempotency key after {window:.0f} s"
        return Judgement(Verdict.ASK, "it may have been sent" + note + ": resend, mark sent or discard")

    async def settle_unknown(self, item: OutboxRow, connector: Connector, why: str,
                             retry_at: float = 0.0) -> None:
        await self._apply(item, await self.judge(item, connector), retry_at, why)

    async def _apply(self, item: OutboxRow, judged: Judgement, retry_at: float, why: str = "") -> None:
        prefix = f"{why}; " if why else ""
        if judged.verdict == Verdict.SENT:
            assert judged.found is not None
            await asyncio.to_thread(self.mark_sent, item.id, judged.found)
        elif judged.verdict == Verdict.RESEND:
            await asyncio.to_thread(self.outbox.mark_retry, item.id, prefix + judged.why, retry_at,
                                    unknown=judged.still_unknown)
        else:
            await asyncio.to_thread(self.outbox.mark_unsure, item.id, prefix + judged.why)

    async def reconcile(self, accounts: Collection[int] | None = None) -> None:
        """Settle items a dead process left mid-send (of *accounts* only, when given), without ever
        sending one twice."""
        for item in await asyncio.to_thread(self.outbox.interrupted):
            connector = self.connectors.get(item.account_id)
            if connector is None or (accounts is not None and item.account_id not in accounts):
                continue
            if connector.capabilities.reports_send_phases and item.phase == SendPhase.CLAIMED:
                # The connector records "transmitting" before anything leaves: nothing did.
                await asyncio.to_thread(self.outbox.mark_retry, item.id,
                                        "interrupted before anything was sent; sending it now", 0.0)
            else:
                await self.settle_unknown(item, connector, "interrupted mid-send")
            self.emit("outbox", item)
        for item in await asyncio.to_thread(self.outbox.unfinished):
            connector = self.connectors.get(item.account_id)
            if connector is None or item.accepted is None or (accounts is not None
                                                              and item.account_id not in accounts):
                continue
            if isinstance(connector, PhasedConnector):
                try:
                    await asyncio.wait_for(connector.complete_send(item.request, item.accepted), SEND_DEADLINE)
                except asyncio.CancelledError:
                    raise
                except PermanentError:  # e.g. no Sent folder: the message went out, the copy cannot
                    log.warning("after-work of outbox item %s cannot be done", item.id, exc_info=True)
                except Exception:  # the server is away: the next start tries again
                    log.warning("after-work of outbox item %s failed; trying again next start", item.id,
                                exc_info=True)
                    continue
            await asyncio.to_thread(self.outbox.finished, item.id)
