"""The wait line's figures and the crossings into "over", each conversation judged by its own account's
target and business hours."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from agentconsole.response.hours import BusinessHours, HoursConfig
from agentconsole.domain.models import Kind
from agentconsole.domain.rows import AccountRow
from agentconsole.response.sla import Targets
from agentconsole.storage.store import Store


@dataclass(frozen=True, slots=True)
class WaitRule:
    """How long conversations of one kind on one account may wait, and which hours count."""

    account_id: int
    channel: str
    kind: str
    target: float
    hours: BusinessHours | None = None

    def cutoff(self, now: float) -> float | None:
        """The latest waiting_since that is over target at *now*; None while none can be."""
        return now - self.target if self.hours is None else self.hours.open_since(now, self.target)

    def crossing(self, since: float) -> float | None:
        """When a wait that began at *since* reaches the target."""
        return since + self.target if self.hours is None else self.hours.open_until(since, self.target)

    def waited(self, since: float, now: float) -> float:
        return max(0.0, now - since) if self.hours is None else self.hours.open_seconds_between(since, now)


def rules(accounts: Iterable[AccountRow], targets: Targets, hours: HoursConfig | None = None) -> list[WaitRule]:
    """One rule per account and kind, with that account's target overrides and business hours."""
    out = []
    for account in accounts:
        business = hours.for_account(account.name) if hours is not None else None
        for kind in Kind:
            out.append(WaitRule(account.id, account.channel, str(kind),
                                targets.target(kind, account.name, account.channel), business))
    return out


@dataclass(frozen=True, slots=True)
class WaitSummary:
    waiting: int = 0
    oldest_since: float | None = None  # of the conversation that has waited longest, as its rule counts
    oldest_channel: str | None = None
    oldest_hours: BusinessHours | None = None  # so the line can tick that wait in open time only
    over: int = 0
    next_change: float | None = None  # clock time at which the over count next changes


def summarize(store: Store, rule_list: list[WaitRule], now: float) -> WaitSummary:
    """How many wait, the longest wait, how many are over their own target, and when that count changes."""
    by_key = {(r.account_id, r.kind): r for r in rule_list}
    groups = store.waiting_groups((r.account_id, r.kind, r.cutoff(now)) for r in rule_list)
    waiting = over = 0
    oldest: tuple[float, float] | None = None  # (-waited, since): the longest wait, then the earliest
    oldest_rule: WaitRule | None = None
    next_change = None
    for key, (count, n_over, nxt, first) in groups.items():
        waiting += count
        over += n_over
        rule = by_key.get(key)
        if rule is None:  # an account added since the rules were made: wall-clock, no target known
            continue
        rank = (-rule.waited(first, now), first)
        if oldest is None or rank < oldest:
            oldest, oldest_rule = rank, rule
        if nxt is not None and (crossing := rule.crossing(nxt)) is not None:
            next_change = crossing if next_change is None else min(next_change, crossing)
    if oldest_rule is None:
        firsts = [(g[3], key) for key, g in groups.items()]
        if not firsts:
            return WaitSummary(next_change=next_change)
        since, _ = min(firsts)
        return WaitSummary(waiting, since, None, None, over, next_change)
    return WaitSummary(waiting, oldest[1], oldest_rule.channel, oldest_rule.hours, over, next_change)


def crossed(store: Store, rule_list: list[WaitRule], since: float, until: float, limit: int = 50) -> list[int]:
    """Ids of conversations that went over their target between *since* and *until*."""
    ranges = []
    for rule in rule_list:
        hi = rule.cutoff(until)
        if hi is not None:
            ranges.append((rule.account_id, rule.kind, rule.cutoff(since), hi))
    return store.waiting_between(ranges, limit)


def longest_first(rule_list: list[WaitRule], now: float) -> Callable[[float, int], float] | None:
    """A sort key (waiting_since, account id) that puts the longest wait first as each account counts
    it; None when no account has business hours, since waiting_since order is then the same thing."""
    hours = {r.account_id: r.hours for r in rule_list if r.hours is not None}
    if not hours:
        return None

    def key(since: float, account_id: int) -> float:
        business = hours.get(account_id)
        return -(now - since if business is None else business.open_seconds_between(since, now))

    return key
