"""What the shift banner says, as plain text parts with a role each, so the screen and the CLI agree."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from agentconsole.domain.models import Channel
from agentconsole.domain.sanitize import one_line
from agentconsole.shifts.times import short_time
from agentconsole.domain.records import PostState, PostStatus, ShiftRow
from agentconsole.response.sla import format_wait

if TYPE_CHECKING:  # the service (outbox, templates, hand-off) is read when a banner is built, not to draw one
    from agentconsole.shifts.service import ShiftRecord, Shifts


class Role(StrEnum):
    """What a part of the banner says; the UI maps roles to theme styles, the CLI ignores them."""

    PLAIN = "plain"
    LABEL = "label"
    OK = "ok"
    PENDING = "pending"
    WARN = "warn"
    ERROR = "error"
    DIM = "dim"


PLAIN, LABEL, OK, PENDING, WARN, ERROR, DIM = Role  # short names for the parts below and the screens
SETTLED_BAD = (PostState.FAILED, PostState.UNSURE, PostState.DISCARDED, PostState.SKIPPED)

Part = tuple[str, Role]


@dataclass(frozen=True, slots=True)
class BannerEntry:
    """One shift as the banner tells it: its hello posts and whether its end is overdue."""
    shift: ShiftRow
    hello: tuple[PostStatus, ...]
    overdue: bool


@dataclass(frozen=True, slots=True)
class Banner:
    """Who is on shift (everyone, on a shared database), or since when nobody is, and who comes next."""

    entries: tuple[BannerEntry, ...]
    off_since: float | None
    next_agent: str
    next_start: float | None
    now: float
    timezone: str
    start_key: str = "S"

    @property
    def on_shift(self) -> bool:
        return bool(self.entries)

    def parts(self) -> list[Part]:
        if not self.entries:
            return self._off_parts()
        parts: list[Part] = [("● On shift: ", LABEL)]
        for index, entry in enumerate(self.entries):
            if index:
                parts.append(("  |  ", DIM))
            parts.extend(self._entry_parts(entry))
        return parts

    def text(self) -> str:
        return "".join(text for text, _ in self.parts())

    def _when(self, ts: float | None) -> str:
        return short_time(ts, self.timezone, self.now)

    def _entry_parts(self, entry: BannerEntry) -> list[Part]:
        s = entry.shift
        who = one_line(s.agent_name, 40) + (f" ({one_line(s.initials, 6)})" if s.initials else "")
        parts: list[Part] = [(who, PLAIN), (f" since {self._when(s.started_at)}", PLAIN)]
        if s.planned_end is not None:
            parts.append((f" until {self._when(s.planned_end)}", PLAIN))
        parts.append((" · ", DIM))
        parts.extend(describe_posts("hello", entry.hello))
        if s.next_agent:
            parts.append((f" · next: {one_line(s.next_agent, 40)}"
                          + (f" {self._when(s.next_start)}" if s.next_start else ""), PLAIN))
        if entry.overdue:
            parts.append((f" · planned end {self._when(s.planned_end)} has passed", WARN))
        return parts

    def _off_parts(self) -> list[Part]:
        parts: list[Part] = [("○ Off shift", LABEL)]
        if self.off_since is not None:
            parts.append((f" since {self._when(self.off_since)}", PLAIN))
        if self.next_agent or self.next_start:
            who = one_line(self.next_agent, 40) if self.next_agent else "someone"
            when = f" at {self._when(self.next_start)}" if self.next_start else ""
            parts.append((f" · next: {who}{when}", PLAIN))
        parts.append((f" · press {self.start_key} to start a shift", DIM))
        return parts


def describe_posts(kind: str, posts: Sequence[PostStatus]) -> list[Part]:
    """"hello posted to X, Mastodon", then what is still queued, then each failure with its reason."""
    if not posts:
        return [(f"no {kind} post", DIM)]
    channels = [p.channel for p in posts]
    label = {p.account_id: (Channel(p.channel).label if channels.count(p.channel) == 1
                            else f"{Channel(p.channel).label} ({one_line(p.account_name, 30)})")
             for p in posts}
    sent = [label[p.account_id] for p in posts if p.state == PostState.SENT]
    queued = [label[p.account_id] for p in posts if p.state in (PostState.PENDING, PostState.SENDING)]
    bad = [p for p in posts if p.state in SETTLED_BAD]
    groups: list[Part] = []
    if sent:
        groups.append((f"{kind} posted to {', '.join(sent)}", OK))
    if queued:
        groups.append((f"{kind} queued for {', '.join(queued)}", PENDING))
    for p in bad:
        verb = {PostState.UNSURE: "may not have posted on", PostState.SKIPPED: "not posted on"}.get(p.state, "failed on")
        reason = f": {one_line(p.error, 60)}" if p.error else ""
        groups.append((f"{kind} {verb} {label[p.account_id]}{reason}", ERROR))
    parts: list[Part] = []
    for index, group in enumerate(groups):
        if index:
            parts.append(("; ", DIM))
        parts.append(group)
    return parts


def build_banner(shifts: Shifts, timezone: str = "UTC", start_key: str = "S") -> Banner:
    """The banner as of now, times in *timezone* (the viewing agent's)."""
    now = shifts.clock.now()
    entries = tuple(BannerEntry(s, shifts.posts(s.id, "hello"),
                                s.planned_end is not None and now > s.planned_end)
                    for s in shifts.on_shift())
    last = None if entries else shifts.last_ended()
    # A next start already past says nothing useful about when someone is back.
    next_start = last.next_start if last and last.next_start and last.next_start > now else None
    return Banner(entries, last.ended_at if last else None, last.next_agent if last else "",
                  next_start, now, timezone, start_key)


def history_cells(record: ShiftRecord, timezone: str, now: float) -> tuple[str, str, str, str, str, str]:
    """One shift of the history as (from–to, who, hello, goodbye, answered, median first response)."""
    s = record.shift
    span = f"{short_time(s.started_at, timezone, now)}–" + (
        short_time(s.ended_at, timezone, now) if s.ended_at else "now")
    hello = "".join(t for t, _ in describe_posts("hello", record.hello))
    goodbye = "".join(t for t, _ in describe_posts("goodbye", record.goodbye)) if s.ended_at else ""
    median = format_wait(record.median_first_response) if record.median_first_response is not None else "–"
    return span, one_line(s.agent_name, 40), hello, goodbye, f"answered {record.answered}", \
        f"median first response {median}"


def history_line(record: ShiftRecord, timezone: str, now: float) -> str:
    """The same shift on one line, as `agentconsole shift history` prints it."""
    return " · ".join(cell for cell in history_cells(record, timezone, now) if cell)
