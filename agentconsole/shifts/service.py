"""Shifts: starting and ending them with hello and goodbye posts through the outbox, the hand-off note, history."""

from __future__ import annotations

from typing import TYPE_CHECKING

import statistics
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from agentconsole.replies import reach
from agentconsole.replies.lengths import Length, measure
from agentconsole.domain.models import Capabilities, Channel, Kind, OutboundRequest, ReplySource, SendAction
from agentconsole.replies.outbox import Outbox
from agentconsole.domain.rows import AccountRow, AgentRow
from agentconsole.domain.sanitize import clean, one_line
from agentconsole.shifts.times import short_time
from agentconsole.shifts.handoff import HANDOFF_LIMIT, WorkItem, draft_note, open_work
from agentconsole.domain.records import PostKind, PostState, PostStatus, ShiftRow
from agentconsole.replies.templates import TemplateError, fill, parse, values_for

if TYPE_CHECKING:
    from agentconsole.storage.shifts import ShiftStorage
    from agentconsole.storage.store import Store

DEFAULT_HELLO = "Hi! {agent_first_name} here (^{agent_initials}) until {shift_end|the end of the day} — ask away."
DEFAULT_GOODBYE_NEXT = ("That's it from {agent_first_name} today — {next_agent} takes over at "
                        "{next_start|the start of the next shift}.")
DEFAULT_GOODBYE_CLOSED = ("That's it from {agent_first_name} today. We're back at {next_start|the next shift}; "
                          "leave us a DM and we'll answer first thing.")
DEFAULT_AWAY = ("Thanks for your message! Nobody is on shift right now; we're back at "
                "{next_start|the start of the next shift} and will answer you then.")


class Handover(StrEnum):
    """What ending a shift does with the agent's open assignments."""

    KEEP = "keep"
    NEXT = "next"  # hand them to the next agent
    UNASSIGN = "unassign"


ASSIGNMENTS = tuple(h.value for h in Handover)
PENDING_HANDOFFS = 5  # unread hand-off notes shown to whoever starts next


class ShiftError(Exception):
    """A shift action that cannot happen now; the message says why."""


@dataclass(frozen=True, slots=True)
class AccountSettings:
    """An account's shift settings: whether it gets the hello by default, its templates, its away reply."""

    account: AccountRow
    can_post: bool
    why_not: str
    hello: bool
    hello_template: str
    goodbye_template: str | None  # None: the default, which depends on whether a next agent is known
    away: bool
    away_template: str
    limit: int | None = None  # the connector's own length limit (a Mastodon instance's), else the channel's

    def goodbye_for(self, has_next: bool) -> str:
        if self.goodbye_template:
            return self.goodbye_template
        return DEFAULT_GOODBYE_NEXT if has_next else DEFAULT_GOODBYE_CLOSED


@dataclass(frozen=True, slots=True)
class Preview:
    """A post as it would go out on one account, and why it cannot (problem) when it cannot."""

    account_id: int
    account_name: str
    channel: str
    text: str
    gaps: tuple[str, ...]
    length: Length
    problem: str

    @property
    def ok(self) -> bool:
        return not self.problem


@dataclass(frozen=True, slots=True)
class StartResult:
    shift: ShiftRow
    posts: tuple[PostStatus, ...]
    handed_on: int = 0  # conversations handed on to this agent while off shift, assigned now


@dataclass(frozen=True, slots=True)
class EndResult:
    shift: ShiftRow
    posts: tuple[PostStatus, ...]
    reassigned: int
    held: int = 0  # of those, how many wait unassigned for the next agent's shift to start


@dataclass(frozen=True, slots=True)
class ShiftRecord:
    """A line of the shift history."""

    shift: ShiftRow
    hello: tuple[PostStatus, ...]
    goodbye: tuple[PostStatus, ...]
    answered: int
    median_first_response: float | None


@dataclass(frozen=True, slots=True)
class StartForm:
    """What the start dialog needs, read in one go (off the UI thread)."""

    agent: AgentRow
    accounts: list[AccountSettings]
    handoffs: list[ShiftRow]


@dataclass(frozen=True, slots=True)
class EndForm:
    """What the end dialog needs: the shift, the accounts, where the hello went, the drafted note."""

    agent: AgentRow
    shift: ShiftRow
    accounts: list[AccountSettings]
    hello_accounts: frozenset[int]
    draft_note: str


class Shifts:
    """The shift lifecycle over the store; the time comes from the store's clock."""

    def __init__(self, store: Store, capabilities: Mapping[int, Capabilities] | None = None,
                 storage: ShiftStorage | None = None) -> None:
        self.store = store
        self.storage = storage if storage is not None else store.shift_storage()
        self.clock = store.clock
        self.outbox = Outbox(store)
        self.capabilities = dict(capabilities or {})

    # ------------------------------------------------------------ settings and previews

    def accounts(self) -> list[AccountSettings]:
        saved = self.storage.saved_settings()
        out = []
        for account in self.store.accounts():
            can_post, why = self._can_post(account)
            r = saved.get(account.id)
            hello = r.hello if r is not None and r.hello is not None else can_post
            out.append(AccountSettings(
                account, can_post, why, hello and can_post,
                (r.hello_template if r is not None and r.hello_template else DEFAULT_HELLO),
                (r.goodbye_template if r is not None and r.goodbye_template else None),
                r.away if r is not None else False,
                (r.away_template if r is not None and r.away_template else DEFAULT_AWAY),
                self._limit(account)))
        return out

    def configure(self, account_id: int, *, hello: bool | None = None, hello_template: str | None = None,
                  goodbye_template: str | None = None, away: bool | None = None,
                  away_template: str | None = None) -> None:
        """Change an account's shift settings; a template is checked before it is saved."""
        for template in (hello_template, goodbye_template, away_template):
            if template:
                parse(template)  # raises TemplateError with line and column
        given = {"hello": hello, "hello_template": hello_template, "goodbye_template": goodbye_template,
                 "away": away, "away_template": away_template}
        self.storage.save_settings(account_id, {k: v for k, v in given.items() if v is not None})

    def _limit(self, account: AccountRow) -> int | None:
        caps = self.capabilities.get(account.id)
        return caps.max_length if caps is not None else None

    def _can_post(self, account: AccountRow) -> tuple[bool, str]:
        caps = self.capabilities.get(account.id)
        if caps is not None:
            return caps.public_post, "" if caps.public_post else reach.why_no_post(account.channel)
        if account.channel in (Channel.EMAIL, Channel.INSTAGRAM):
            return False, reach.why_no_post(account.channel)
        return True, ""

    def values(self, agent_id: int, *, planned_end: float | None = None, next_agent: str | None = None,
               next_start: float | None = None) -> dict[str, str | None]:
        """Placeholder values for a shift post by *agent_id*; times are the agent's local times."""
        return shift_values(self.store.agent(agent_id), self.clock.now(), planned_end=planned_end,
                            next_agent=next_agent, next_start=next_start)

    def preview(self, account: AccountSettings, template: str, values: Mapping[str, str | None]) -> Preview:
        return preview_post(account, template, values)

    # ------------------------------------------------------------ who is on shift

    def on_shift(self) -> list[ShiftRow]:
        return self.storage.on_shift()

    def current(self, agent_id: int) -> ShiftRow | None:
        return next((s for s in self.on_shift() if s.agent_id == agent_id), None)

    def shift(self, shift_id: int) -> ShiftRow:
        found = self.storage.shift(shift_id)
        if found is None:
            raise KeyError(f"no shift {shift_id}")
        return found

    def last_ended(self) -> ShiftRow | None:
        return self.storage.last_ended()

    def pending_handoffs(self) -> list[ShiftRow]:
        """Hand-off notes nobody has acknowledged yet, newest first: shown to whoever starts next."""
        return self.storage.pending_handoffs(PENDING_HANDOFFS)

    def posts(self, shift_id: int, kind: PostKind | str | None = None) -> tuple[PostStatus, ...]:
        return self.storage.posts(shift_id, None if kind is None else PostKind(kind))

    def hello_accounts(self, shift_id: int) -> frozenset[int]:
        """Accounts whose hello was queued in this shift: by default they get the goodbye too."""
        return frozenset(p.account_id for p in self.posts(shift_id, PostKind.HELLO) if p.state != PostState.SKIPPED)

    def start_form(self, agent_id: int) -> StartForm:
        return StartForm(self.store.agent(agent_id), self.accounts(), self.pending_handoffs())

    def end_form(self, agent_id: int) -> EndForm:
        shift = self.current(agent_id)
        if shift is None:
            raise ShiftError("you are not on shift")
        return EndForm(self.store.agent(agent_id), shift, self.accounts(), self.hello_accounts(shift.id),
                       self.draft_note())

    # ------------------------------------------------------------ start

    def start(self, agent_id: int, *, planned_end: float | None, hello: Mapping[int, str],
              acknowledge: Iterable[int] = ()) -> StartResult:
        """Open a shift and queue the hello on each account of *hello* (account id -> template).

        Hand-off notes waiting to be read must be among *acknowledge*: the agent has seen them. A post
        that cannot go (too long, unfilled, no public posts) is recorded as skipped; it never blocks.
        """
        now = self.clock.now()
        if planned_end is not None and planned_end <= now:
            raise ShiftError("the planned end must be in the future")
        acknowledged = set(acknowledge)
        values = self.values(agent_id, planned_end=planned_end)
        # The checks run inside the write lock, so two consoles cannot both start this agent's shift.
        with self.storage.transaction():
            if self.current(agent_id) is not None:
                raise ShiftError("you are already on shift; end it first")
            if any(s.id not in acknowledged for s in self.pending_handoffs()):
                raise ShiftError("read and acknowledge the previous hand-off note first")
            shift_id = self.storage.start(agent_id, now, planned_end)
            if acknowledged:
                self.storage.acknowledge(acknowledged, agent_id, now)
            self._queue_posts(shift_id, PostKind.HELLO, agent_id, hello, values)
            handed = self.storage.take_handons(agent_id, now)
            self.storage.audit(agent_id, "shift_started", shift_id=shift_id)
        return StartResult(self.shift(shift_id), self.posts(shift_id, PostKind.HELLO), handed)

    def _queue_posts(self, shift_id: int, kind: PostKind, agent_id: int, templates: Mapping[int, str],
                     values: Mapping[str, str | None]) -> None:
        settings = {s.account.id: s for s in self.accounts()}
        for account_id, template in templates.items():
            account = settings.get(account_id)
            if account is None:
                raise ShiftError(f"no account with id {account_id}")
            preview = self.preview(account, template, values)
            outbox_id = None
            if preview.ok:
                request = OutboundRequest(idempotency_key=uuid.uuid4().hex, action=SendAction.POST, text=preview.text,
                                          kind=Kind.PUBLIC)
                outbox_id = self.outbox.enqueue(account_id, request, conversation_id=None,
                                                agent_id=agent_id, source=ReplySource.SHIFT)
            self.storage.add_post(shift_id, kind, account_id, outbox_id, preview.problem)

    # ------------------------------------------------------------ end

    def open_work(self, limit: int = HANDOFF_LIMIT) -> tuple[list[WorkItem], int, int]:
        return open_work(self.store, limit, self.storage)

    def draft_note(self, limit: int = HANDOFF_LIMIT) -> str:
        return draft_note(self.store, limit, self.storage)

    def end(self, agent_id: int, *, goodbye: Mapping[int, str], next_agent: str | None = None,
            next_start: float | None = None, note: str = "", assignments: Handover | str = Handover.KEEP) -> EndResult:
        """Close the agent's shift: queue the goodbyes, store the note, hand over or free assignments."""
        if assignments not in ASSIGNMENTS:
            raise ShiftError(f"assignments must be one of {', '.join(ASSIGNMENTS)}")
        handover = Handover(assignments)
        next_agent = one_line(next_agent, 80).strip() if next_agent else ""
        if handover == Handover.NEXT and not next_agent:
            raise ShiftError("name the next agent to hand assignments to")
        shift = self.current(agent_id)
        if shift is None:
            raise ShiftError("you are not on shift")
        now = self.clock.now()
        answered, median = self.stats(agent_id, shift.started_at, now)
        values = self.values(agent_id, planned_end=shift.planned_end, next_agent=next_agent or None,
                             next_start=next_start)
        reassigned = held = 0
        with self.storage.transaction():
            # Re-read under the write lock: another console may have ended this shift meanwhile.
            if self.storage.ended_at(shift.id) is not None:
                raise ShiftError("this shift has already ended")
            self._queue_posts(shift.id, PostKind.GOODBYE, agent_id, goodbye, values)
            if handover != Handover.KEEP:
                target = self.store.ensure_agent(next_agent) if handover == Handover.NEXT else None
                # Nothing is assigned to someone off shift: theirs wait unassigned until they start.
                on_shift = target is not None and self.current(target) is not None
                reassigned, held = self.storage.hand_over(agent_id, target, shift.id, now, on_shift=on_shift)
            self.storage.end(shift.id, now, next_agent, next_start, clean(note).strip(), answered, median)
            self.storage.audit(agent_id, "shift_ended", shift_id=shift.id)
        return EndResult(self.shift(shift.id), self.posts(shift.id, PostKind.GOODBYE), reassigned, held)

    def set_next(self, agent_id: int, next_agent: str | None, next_start: float | None) -> None:
        """Say who comes next while still on shift, so the banner can show it."""
        shift = self.current(agent_id)
        if shift is None:
            raise ShiftError("you are not on shift")
        self.storage.set_next(shift.id, one_line(next_agent, 80).strip() if next_agent else "", next_start)

    # ------------------------------------------------------------ history

    def stats(self, agent_id: int, start: float, end: float) -> tuple[int, float | None]:
        """Conversations the agent answered in [start, end], and the median first response among those
        whose first answer was the agent's in that time."""
        rows = self.storage.answered(agent_id, start, end)
        answered = {r.conversation_id for r in rows}
        # A reply was the conversation's first response when it went out at first_response_at.
        firsts = {r.conversation_id: r.first_response_at - r.first_customer_at for r in rows
                  if r.first_response_at is not None and r.first_customer_at is not None
                  and r.sent_at == r.first_response_at}
        return len(answered), (statistics.median(firsts.values()) if firsts else None)

    def history(self, limit: int = 50) -> list[ShiftRecord]:
        now = self.clock.now()
        out = []
        for shift in self.storage.history(limit):
            if shift.ended_at is None:
                answered, median = self.stats(shift.agent_id, shift.started_at, now)
            else:
                answered, median = shift.answered or 0, shift.median_first_response
            posts = self.posts(shift.id)
            out.append(ShiftRecord(shift, tuple(p for p in posts if p.kind == PostKind.HELLO),
                                   tuple(p for p in posts if p.kind == PostKind.GOODBYE), answered, median))
        return out


def shift_values(agent: AgentRow, now: float, *, planned_end: float | None = None,
                 next_agent: str | None = None, next_start: float | None = None) -> dict[str, str | None]:
    """Placeholder values for a shift post by *agent*, times written in the agent's timezone."""
    return values_for(None, agent,
                      shift_end=short_time(planned_end, agent.timezone, now, with_zone=True) or None,
                      next_agent=one_line(next_agent, 80).strip() or None,
                      next_start=short_time(next_start, agent.timezone, now, with_zone=True) or None)


def preview_post(account: AccountSettings, template: str, values: Mapping[str, str | None]) -> Preview:
    """The post *template* makes on *account*: its text, live length, and whether it can go (pure)."""
    acc = account.account
    try:
        filled = fill(template, values)
    except TemplateError as exc:
        return Preview(acc.id, acc.name, acc.channel, "", (),
                       measure("", acc.channel, Kind.PUBLIC, account.limit), f"template error at {exc}")
    text = clean(filled.text).strip()
    length = measure(text, acc.channel, Kind.PUBLIC, account.limit)
    gaps = tuple(g.name for g in filled.gaps)
    problem = ""
    if not account.can_post:
        problem = account.why_not
    elif gaps:
        problem = "unfilled " + ", ".join("{" + g + "}" for g in gaps)
    elif not text:
        problem = "the text is empty"
    elif length.over:
        problem = f"{length.over} too long for {Channel(acc.channel).label} ({length.describe()})"
    return Preview(acc.id, acc.name, acc.channel, text, gaps, length, problem)
