"""Shift times in the agent's own timezone: reading "HH:MM" as the next such moment, and writing times short."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_HHMM = re.compile(r"\s*(\d{1,2})[:.h](\d{2})\s*\Z")


def zone(name: str | None) -> ZoneInfo:
    """The named timezone; an unknown or empty name falls back to UTC rather than failing a shift."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def next_at(hhmm: str, tz: str | None, now: float) -> float:
    """The first moment after *now* at which the wall clock in *tz* reads *hhmm* (today or tomorrow)."""
    match = _HHMM.match(hhmm)
    if match is None:
        raise ValueError(f"{hhmm!r} is not a time like 17:30")
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        raise ValueError(f"{hhmm!r} is not a time of day")
    local_now = datetime.fromtimestamp(now, zone(tz))
    candidate = local_now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if candidate.timestamp() <= now:
        # Adding a calendar day and re-resolving keeps the wall time across a DST change.
        candidate = (candidate.replace(tzinfo=None) + timedelta(days=1)).replace(tzinfo=zone(tz))
    return candidate.timestamp()


def short_time(ts: float | None, tz: str | None, now: float, *, with_zone: bool = False) -> str:
    """17:00 today, "Wed 09:00" within a week, else "2025-12-03 09:00"; optionally with the zone name."""
    if ts is None:
        return ""
    local = datetime.fromtimestamp(ts, zone(tz))
    today = datetime.fromtimestamp(now, zone(tz)).date()
    days = (local.date() - today).days
    if days == 0:
        text = local.strftime("%H:%M")
    elif -6 <= days <= 6:
        text = local.strftime("%a %H:%M")
    else:
        text = local.strftime("%Y-%m-%d %H:%M")
    if with_zone:
        text += " " + (local.tzname() or "UTC")
    return text


def hhmm(ts: float | None, tz: str | None) -> str:
    """The wall-clock time of *ts* in *tz* as HH:MM (what a time field shows), "" for None."""
    return "" if ts is None else datetime.fromtimestamp(ts, zone(tz)).strftime("%H:%M")
