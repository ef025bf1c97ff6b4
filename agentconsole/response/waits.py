"""The wait line's figures and the crossings into "over", read from the store and judged by the
response rule: each conversation by its own account's target and business hours."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dataclasses import dataclass

from agentconsole.response.hours import BusinessHours
from agentconsole.response.rule import Order, ResponseRule, WaitRule

if TYPE_CHECKING:
    from agentconsole.storage.store import Store


@dataclass(frozen=True, slots=True)
class WaitSummary:
    """The wait line's figures: how many wait, the oldest wait and how many are over target."""
    waiting: int = 0
    oldest_since: float | None = None  # of the conversation that has waited longest, as its rule counts
    oldest_channel: str | None = None
    oldest_hours: BusinessHours | None = None  # so the line can tick that wait in open time only
    over: int = 0
    next_change: float | None = None  # clock time at which the over count next changes
    ranked: Order = Order.LONGEST  # whether "oldest" is the longest wait or the most urgent one


# Waiting conversations per (account id, kind): (how many, how many over, the next to cross, the oldest).
Groups = dict[tuple[int, str], tuple[int, int, float | None, float]]
# The conversation the urgency order puts first: (waiting_since, account id, kind), or None.
Top = tuple[float, int, str] | None


def cutoffs(rule: ResponseRule, now: float) -> list[tuple[int, str, float | None]]:
    """Each (account id, kind)'s cutoff at *now*: a wait that began at or before it is over target."""
    return [(r.account_id, r.kind, r.cutoff(now)) for r in rule.rules]


def summarize(store: Store, rule: ResponseRule, now: float, order: Order = Order.LONGEST) -> WaitSummary:
    """How many wait, the longest (or, by *order*, the most urgent) wait, how many are over their own
    target, and when that count changes: read from the store."""
    groups = store.waiting_groups(cutoffs(rule, now))
    top: Top = None
    if order is Order.URGENCY:  # the rank weighs each wait's heat too: name the one the list puts first
        first = store.conversation_ids("waiting", limit=1, waiting_key=rule.order_key(now, order))
        row = store.conversation(first[0]) if first else None
        if row is not None and row.waiting_since is not None:
            top = (row.waiting_since, row.account_id, row.kind)
    return from_groups(groups, top, rule, now, order)


def from_groups(groups: Groups, top: Top, rule: ResponseRule, now: float, order: Order = Order.LONGEST
                ) -> WaitSummary:
    """The wait line's figures from each group's counts (as Store.waiting_groups gives them, with the
    cutoffs of cutoffs()) and, for the urgency order, the wait the list puts first."""
    waiting = over = 0
    oldest: tuple[float, float] | None = None  # (-waited, since): the longest wait, then the earliest
    oldest_rule: WaitRule | None = None
    next_change = None
    for (account_id, kind), (count, n_over, nxt, first) in groups.items():
        waiting += count
        over += n_over
        found = rule.get(account_id, kind)
        if found is None:  # an account added since the rule was made: wall-clock, no target known
            continue
        waited = found.waited(first, now)
        urgency = waited / found.target if found.target > 0 else float("inf")
        rank = (-(urgency if order is Order.URGENCY else waited), first)
        if oldest is None or rank < oldest:
            oldest, oldest_rule = rank, found
        if nxt is not None and (crossing := found.crossing(nxt)) is not None:
            next_change = crossing if next_change is None else min(next_change, crossing)
    if oldest is None or oldest_rule is None:
        firsts = [(g[3], key) for key, g in groups.items()]
        if not firsts:
            return WaitSummary(next_change=next_change)
        since, _ = min(firsts)
        return WaitSummary(waiting, since, None, None, over, next_change)
    if order is Order.URGENCY and top is not None:
        top_rule = rule.get(top[1], top[2])
        if top_rule is not None:
            return WaitSummary(waiting, top[0], top_rule.channel, top_rule.hours, over, next_change, order)
    return WaitSummary(waiting, oldest[1], oldest_rule.channel, oldest_rule.hours, over, next_change, order)


def crossed(store: Store, rule: ResponseRule, since: float, until: float, limit: int = 50) -> list[int]:
    """Ids of conversations that went over their target between *since* and *until*."""
    ranges = []
    for r in rule.rules:
        hi = r.cutoff(until)
        if hi is not None:
            ranges.append((r.account_id, r.kind, r.cutoff(since), hi))
    return store.waiting_between(ranges, limit)
