"""Business hours per account: which seconds are open, and the TOML tables that configure them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SEARCH_DAYS = 3660  # how far open_since / open_until look before giving up (holidays are finite)


class HoursError(ValueError):
    """Business hours that cannot be used; the message says which part and why."""


@dataclass(frozen=True)
class BusinessHours:
    """Open weekdays (0 = Monday), one open interval per open day in local time, and closed dates.

    ``close`` of midnight means "until the end of the day", so 00:00–00:00 is open all day.
    """

    days: frozenset[int] = frozenset(range(5))
    open: time = time(9, 0)
    close: time = time(17, 0)
    timezone: str = "UTC"
    holidays: frozenset[date] = frozenset()
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "_zone", ZoneInfo(self.timezone))
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise HoursError(f"unknown timezone {self.timezone!r}") from exc
        if self.close != time(0) and self.close <= self.open:
            raise HoursError("close must be after open (intervals over midnight are not supported)")
        if not self.days or not self.days <= set(range(7)):
            raise HoursError("days must name at least one weekday")

    def describe(self) -> str:
        """The hours in a few words, e.g. "Mon–Fri 09:00–17:00 Europe/Berlin"."""
        days = sorted(self.days)
        names = [WEEKDAYS[d].capitalize() for d in days]
        if len(days) > 2 and days == list(range(days[0], days[-1] + 1)):
            span = f"{names[0]}–{names[-1]}"
        else:
            span = ", ".join(names)
        close = "24:00" if self.close == time(0) else self.close.strftime("%H:%M")
        return f"{span} {self.open.strftime('%H:%M')}–{close} {self.timezone}"

    def is_open_day(self, day: date) -> bool:
        return day.weekday() in self.days and day not in self.holidays

    def _interval(self, day: date) -> tuple[float, float]:
        """The open interval of *day* as epoch seconds; exact on days when the clocks change."""
        start = datetime.combine(day, self.open, tzinfo=self._zone).timestamp()
        close_day = day + timedelta(days=1) if self.close == time(0) else day
        end = datetime.combine(close_day, self.close, tzinfo=self._zone).timestamp()
        return start, end

    def open_seconds_between(self, start: float, end: float) -> float:
        """Seconds of open time in [start, end) (epoch seconds); 0 when end <= start."""
        if end <= start:
            return 0.0
        day = datetime.fromtimestamp(start, self._zone).date()
        last = datetime.fromtimestamp(end, self._zone).date()
        total = 0.0
        while day <= last:
            if self.is_open_day(day):
                lo, hi = self._interval(day)
                total += max(0.0, min(hi, end) - max(lo, start))
            day += timedelta(days=1)
        return total

    def open_since(self, end: float, seconds: float) -> float | None:
        """The latest start whose open time up to *end* is at least *seconds*: any wait that began at or
        before it has reached a target of *seconds*. None if no such start lies within ten years."""
        if seconds <= 0:
            return end
        day = datetime.fromtimestamp(end, self._zone).date()
        for _ in range(SEARCH_DAYS):
            if self.is_open_day(day):
                lo, hi = self._interval(day)
                span = min(hi, end) - lo
                if span > 0:
                    if span >= seconds:
                        return min(hi, end) - seconds
                    seconds -= span
            day -= timedelta(days=1)
        return None

    def open_until(self, start: float, seconds: float) -> float | None:
        """The earliest end by which *seconds* of open time have passed since *start*: when a wait that
        began at *start* reaches a target of *seconds*. None if not within ten years."""
        if seconds <= 0:
            return start
        day = datetime.fromtimestamp(start, self._zone).date()
        for _ in range(SEARCH_DAYS):
            if self.is_open_day(day):
                lo, hi = self._interval(day)
                span = hi - max(lo, start)
                if span > 0:
                    if span >= seconds:
                        return max(lo, start) + seconds
                    seconds -= span
            day += timedelta(days=1)
        return None

    def boundaries(self, start: float, end: float) -> list[float]:
        """The instants in (start, end) where the hours open or close, in order."""
        out: list[float] = []
        day = datetime.fromtimestamp(start, self._zone).date() - timedelta(days=1)
        last = datetime.fromtimestamp(end, self._zone).date()
        while day <= last:
            if self.is_open_day(day):
                out.extend(t for t in self._interval(day) if start < t < end)
            day += timedelta(days=1)
        return out

    def is_open(self, at: float) -> bool:
        day = datetime.fromtimestamp(at, self._zone).date()
        if not self.is_open_day(day):
            return False
        lo, hi = self._interval(day)
        return lo <= at < hi


@dataclass(frozen=True)
class HoursConfig:
    """Business hours by account name, with an optional default for accounts not named."""

    default: BusinessHours | None = None
    by_account: dict[str, BusinessHours] = field(default_factory=dict)

    def for_account(self, account: str | None) -> BusinessHours | None:
        if account is not None and account in self.by_account:
            return self.by_account[account]
        return self.default

    @property
    def any(self) -> bool:
        return self.default is not None or bool(self.by_account)


def parse_hours(table: dict[str, Any], where: str) -> BusinessHours:
    """Build BusinessHours from a TOML table: days, open, close, timezone, holidays."""
    unknown = set(table) - {"days", "open", "close", "timezone", "holidays"}
    if unknown:
        raise HoursError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
    days_value = table.get("days", list(WEEKDAYS[:5]))
    if not isinstance(days_value, list) or not all(isinstance(d, str) for d in days_value):
        raise HoursError(f"{where}.days must be a list like [\"mon\", \"tue\"]")
    try:
        days = frozenset(WEEKDAYS.index(d.strip().lower()[:3]) for d in days_value)
    except ValueError as exc:
        raise HoursError(f"{where}.days: use mon, tue, wed, thu, fri, sat, sun") from exc
    holidays_value = table.get("holidays", [])
    if not isinstance(holidays_value, list):
        raise HoursError(f"{where}.holidays must be a list of dates")
    holidays = frozenset(_date(v, f"{where}.holidays") for v in holidays_value)
    try:
        return BusinessHours(days=days, open=_clock_time(table.get("open", "09:00"), f"{where}.open"),
                             close=_clock_time(table.get("close", "17:00"), f"{where}.close"),
                             timezone=str(table.get("timezone", "UTC")), holidays=holidays)
    except HoursError as exc:
        raise HoursError(f"{where}: {exc}") from exc


def _clock_time(value: object, where: str) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, str):
        if value.strip() == "24:00":
            return time(0)
        try:
            return time.fromisoformat(value.strip())
        except ValueError:
            pass
    raise HoursError(f"{where} must be a time like \"09:00\"")


def _date(value: object, where: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise HoursError(f"{where}: {value!r} is not a date like 2026-12-25")
