"""The response rule, once: how long a conversation has waited, whether that is within, near or over its
account's target, the mark that says so without colour, and how urgent it is."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple

from agentconsole.domain.models import Kind
from agentconsole.domain.rows import AccountRow, ConversationRow
from agentconsole.response.hours import BusinessHours, HoursConfig
from agentconsole.response.sla import Targets, format_wait

NEAR_FRACTION = 0.75  # "near" is the last 25% of the target (DESIGN §2)
# The urgency rank: over target before near before within; within a state the angrier first (heat
# levels: calm, upset, angry, agentconsole.triage); then the largest share of its own target used,
# raised by PUBLIC_WEIGHT when others can read the wait.
PUBLIC_WEIGHT = 0.1
_TIER = {"within": 0, "near": 1, "over": 2}
UPSET_AT = 0.35  # heat levels, as agentconsole.triage.score draws them
ANGRY_AT = 0.7
ANSWERED_MARK = "✓"  # an open conversation whose customer has had our answer
DONE_TEXT = "done"


class WaitState(StrEnum):
    """Where a wait stands against its target."""

    WITHIN = "within"
    NEAR = "near"
    OVER = "over"

    @property
    def mark(self) -> str:
        """A text mark, so the state reads without colour (NO_COLOR, colour blindness)."""
        return _MARKS[self]


_MARKS = {WaitState.WITHIN: " ", WaitState.NEAR: "!", WaitState.OVER: "▲"}


def counted(since: float, until: float, hours: BusinessHours | None) -> float:
    """Seconds from *since* to *until* as a response time counts them: all of them, or only the open
    ones when the account keeps business hours. Every wait, first response and resolution uses this."""
    if hours is None:
        return until - since if until > since else 0.0
    return hours.open_seconds_between(since, until)


def state_for(waited: float, target: float) -> WaitState:
    if waited >= target:
        return WaitState.OVER
    if waited >= target * NEAR_FRACTION:
        return WaitState.NEAR
    return WaitState.WITHIN


@dataclass(frozen=True, slots=True)
class Wait:
    """One conversation's wait, judged. *urgency* is the fraction of the target used: 0 when the wait
    begins, 0.75 when it turns near, 1 when it goes over, 2 at twice the target; it compares waits of
    different targets (a day-long email target against an hour on X), where *waited* does not."""

    waited: float
    target: float
    state: WaitState

    @property
    def mark(self) -> str:
        return self.state.mark

    @property
    def urgency(self) -> float:
        return self.waited / self.target if self.target > 0 else float("inf")


@dataclass(frozen=True, slots=True)
class WaitRule:
    """How long conversations of one kind on one account may wait, and which hours count."""

    account_id: int
    channel: str
    kind: str
    target: float
    hours: BusinessHours | None = None

    def waited(self, since: float, now: float) -> float:
        return counted(since, now, self.hours)

    def judge(self, since: float, now: float) -> Wait:
        waited = counted(since, now, self.hours)
        return Wait(waited, self.target, state_for(waited, self.target))

    def cutoff(self, now: float) -> float | None:
        """The latest waiting_since that is over target at *now*; None while none can be."""
        return now - self.target if self.hours is None else self.hours.open_since(now, self.target)

    def crossing(self, since: float) -> float | None:
        """When a wait that began at *since* reaches the target."""
        return since + self.target if self.hours is None else self.hours.open_until(since, self.target)


def heat_level(heat: float) -> int:
    """The heat level the urgency rank weighs: 0 calm, 1 upset, 2 angry. Within one account, kind and
    level, every order_key is monotone in waiting_since: the earlier wait always comes first."""
    return 2 if heat >= ANGRY_AT else 1 if heat >= UPSET_AT else 0


def urgency_rank(used: float, heat: float = 0.0, kind: str = "") -> tuple[int, int, float]:
    """The one urgency rank of a wait that has used *used* of its own target; higher is more urgent.
    An angry customer over target comes first, a calm one well within it last."""
    tier = 2 if used >= 1.0 else 1 if used >= NEAR_FRACTION else 0
    return tier, heat_level(heat), used + (PUBLIC_WEIGHT if kind == Kind.PUBLIC else 0.0)


class Order(StrEnum):
    """How the list ranks waiting conversations."""

    URGENCY = "urgency"  # the largest share of its own target used first: social customers cut the line
    LONGEST = "longest"  # the longest wait first, whatever its channel's target

    @property
    def label(self) -> str:
        return "most urgent first" if self is Order.URGENCY else "longest wait first"

    def other(self) -> Order:
        return Order.LONGEST if self is Order.URGENCY else Order.URGENCY


class RowWait(NamedTuple):
    """What the list draws in a row's wait column: the mark, the text, and the state (None when
    nothing waits: the row is answered or done). A tuple: it is made for every row on every repaint."""

    mark: str
    text: str
    state: WaitState | None
    done: bool = False


_DONE = RowWait(" ", DONE_TEXT, None, True)
_ANSWERED = RowWait(ANSWERED_MARK, "", None)


class ResponseRule:
    """Every account's wait rules, by (account id, kind), from the configured targets and hours.

    Accounts it was not built with (one added since) get their rule on first sight, from the row's
    account name and channel, so every view judges every row the same way.
    """

    def __init__(self, targets: Targets | None = None, hours: HoursConfig | None = None,
                 accounts: Iterable[AccountRow] = ()) -> None:
        self.targets = targets if targets is not None else Targets()
        self.hours = hours if hours is not None and hours.any else None
        self._rules: dict[tuple[int, str], WaitRule] = {}
        for account in accounts:
            for kind in Kind:
                self._add(account.id, account.name, account.channel, str(kind))

    def _add(self, account_id: int, name: str, channel: str, kind: str) -> WaitRule:
        business = self.hours.for_account(name) if self.hours is not None else None
        rule = WaitRule(account_id, channel, kind, self.targets.target(kind, name, channel), business)
        self._rules[(account_id, kind)] = rule
        return rule

    @property
    def rules(self) -> list[WaitRule]:
        return list(self._rules.values())

    def get(self, account_id: int, kind: str) -> WaitRule | None:
        return self._rules.get((account_id, kind))

    def rule_for(self, row: ConversationRow) -> WaitRule:
        rule = self._rules.get((row.account_id, row.kind))
        return rule if rule is not None else self._add(row.account_id, row.account_name, row.channel, row.kind)

    def wait_of(self, row: ConversationRow, now: float) -> Wait | None:
        """The row's wait, or None when nothing waits (answered, done)."""
        if row.status == "done" or not row.needs_reply or row.waiting_since is None:
            return None
        return self.rule_for(row).judge(row.waiting_since, now)

    def row_wait(self, row: ConversationRow, now: float) -> RowWait:
        """The wait column of a list row: cheap, since rows are drawn on every keypress."""
        if row.status == "done":
            return _DONE
        if not row.needs_reply or row.waiting_since is None:
            return _ANSWERED
        rule = self._rules.get((row.account_id, row.kind)) or self.rule_for(row)
        waited = counted(row.waiting_since, now, rule.hours)
        state = state_for(waited, rule.target)  # as judge() does, without the intermediate Wait
        return RowWait(_MARKS[state], format_wait(waited), state)

    def order_key(self, now: float, order: Order = Order.LONGEST
                  ) -> Callable[[float, int, str, float], Any] | None:
        """The list's order of waiting conversations, a sort key on (waiting_since, account id, kind,
        heat), lowest first. LONGEST: the longest wait first as each account counts it, or None when no
        account keeps business hours (waiting_since order is then that order, read from an index).
        URGENCY: the highest urgency_rank first (over target first, the angrier first within a state, then
        the largest fraction of its own target used), so an X mention an hour over its target comes before
        an email well within its day, and an angry customer over target before a calm one."""
        if order is Order.URGENCY:
            def urgent(since: float, account_id: int, kind: str, heat: float = 0.0) -> tuple[int, int, float]:
                rule = self._rules.get((account_id, kind))
                if rule is None or rule.target <= 0:
                    used = (now - since) / 3600.0  # an account added since: wall clock, an hour's target
                else:
                    used = counted(since, now, rule.hours) / rule.target
                tier, level, share = urgency_rank(used, heat, kind)
                return -tier, -level, -share

            return urgent
        hours = {r.account_id: r.hours for r in self._rules.values() if r.hours is not None}
        if not hours:
            return None

        def key(since: float, account_id: int, kind: str = "", heat: float = 0.0) -> float:
            return -counted(since, now, hours.get(account_id))

        return key

    def _pace(self, account_id: int, kind: str, order: Order) -> tuple[BusinessHours | None, float]:
        """How a group's waits move in *order* as time passes: (the hours that count, or None for every
        second; the key's change per counted second), as order_key counts them."""
        rule = self._rules.get((account_id, kind))
        if order is Order.URGENCY:
            if rule is None or rule.target <= 0:
                return None, 1.0 / 3600.0  # as order_key: wall clock, an hour's target
            return rule.hours, 1.0 / rule.target
        return (rule.hours if rule is not None else None), 1.0

    def keeps_order(self, order: Order, since: float, until: float, groups: Iterable[tuple[int, str]]) -> bool:
        """Whether time alone leaves the order of these (account id, kind) groups' waits as it was at
        *since* until *until*, crossings of the near and over marks aside (tier_cutoffs): true while
        every group's key moves at the same pace (the same share of its target per second, or none
        while closed), so no group's waits gain on another's; false while one group's hours count and
        another's do not, or their targets differ. Within one group the order never changes."""
        if order is Order.LONGEST and self.order_key(since, order) is None:
            return True  # waiting_since order, whatever the time
        return same_pace({self._pace(account_id, kind, order) for account_id, kind in groups}, since, until)

    def tier_cutoffs(self, account_id: int, kind: str, now: float) -> tuple[float | None, float | None]:
        """The latest waiting_since that is near, and over, its target at *now* (None while none can be),
        as the urgency rank's tiers draw them: a wait moves up a tier as these pass its start."""
        hours, pace = self._pace(account_id, kind, Order.URGENCY)
        target = 1.0 / pace
        out = []
        for share in (NEAR_FRACTION, 1.0):
            out.append(now - share * target if hours is None else hours.open_since(now, share * target))
        return out[0], out[1]


MAX_PACE_SPAN = 14 * 86400.0  # beyond this, same_pace does not walk the hours and says the order may move


def same_pace(paces: set[tuple[BusinessHours | None, float]], since: float, until: float) -> bool:
    """Whether keys that move at these paces (hours that count, or None for all; change per counted
    second) move alike from *since* to *until*: the same change per second at every moment, checked
    between each open and close of every one of the hours."""
    if len(paces) <= 1 or until <= since:
        return True
    if until - since > MAX_PACE_SPAN:
        return False
    cuts = {since, until}
    for hours, _scale in paces:
        if hours is not None:
            cuts.update(hours.boundaries(since, until))
    points = sorted(cuts)
    for lo, hi in zip(points, points[1:]):
        mid = (lo + hi) / 2
        if len({scale if hours is None or hours.is_open(mid) else 0.0 for hours, scale in paces}) > 1:
            return False
    return True
