"""Sentiment per channel and UTC day from the day cache: each complete past UTC day's rows are read once and
kept, so a period reads its edges live and the days between from the cache, whatever their volume.

A day's rows depend only on the messages (and their scores, written in the same transaction) sent that
day, and a message stored at t drops the cached days ending after t (MetricsStorage.forget_changed_days),
so a cached day holds the rows the direct read gives: the same messages in the same order (the time
index), the same sums, exactly.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from agentconsole.storage import triage

if TYPE_CHECKING:
    from agentconsole.storage.store import Store

SCOPE = "sentiment|s1"  # the payload's layout; UTC days, so no timezone or hours
DAY = 86400.0


def by_day(store: Store, since: float, until: float) -> list[triage.SentimentDay]:
    """What triage.sentiment_by_day(since, until) returns, its complete past UTC days from the cache."""
    first = -(-since // DAY) * DAY  # the first UTC midnight at or after since
    last = min(until, store.clock.now()) // DAY * DAY  # the end of the last complete day in the period
    q = store.metrics_storage()
    if last - first < DAY or not q.caching:
        return triage.sentiment_by_day(store.conn, since, until)
    q.forget_changed_days()  # before any day is read or computed, so a later change drops it again
    starts = [first + n * DAY for n in range(int((last - first) // DAY))]
    cached = q.cached_days(SCOPE, starts)
    rows = triage.sentiment_by_day(store.conn, since, first) if since < first else []
    for start in starts:
        payload = cached.get(start)
        if payload is None:
            day = triage.sentiment_by_day(store.conn, start, start + DAY)
            q.cache_day(SCOPE, start, start + DAY, json.dumps(
                [[d.channel, d.day, d.messages, d.mean, d.negative] for d in day], separators=(",", ":")))
        else:
            day = [triage.SentimentDay(*d) for d in json.loads(payload)]
        rows += day
    if last < until:
        rows += triage.sentiment_by_day(store.conn, last, until)
    return sorted(rows, key=lambda d: (d.channel, d.day))
