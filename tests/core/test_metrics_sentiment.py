"""The CSAT panel's sentiment per day read through the day cache equals the direct read: first look,
later looks from the cache, and after a late message lands on a cached day."""

from __future__ import annotations

import pytest

from agentconsole.domain.models import Channel, Direction, InboundMessage, Kind, Person
from agentconsole.metrics.sentiment import DAY, SCOPE
from agentconsole.storage import triage as storage
from agentconsole.triage.service import Triage

pytestmark = pytest.mark.both_backends

DANA = Person("u1", "@dana", "Dana")
SAM = Person("u2", "@sam", "Sam")
US = Person("brand", "@brand", "Brand")
TEXTS = ("this is terrible, I hate it", "thank you, great service", "where is my order?",
         "not happy at all", "love it!!", "Wo ist meine Rechnung?")


def _week(store, now: float) -> tuple[int, int]:
    """English and German customer messages on two channels over the last six days, and our replies."""
    x = store.ensure_account("x", Channel.X, "demo")
    mail = store.ensure_account("m", Channel.EMAIL, "demo")
    n = 0
    for day in range(6, -1, -1):
        for hour in (1, 7, 13, 19):
            at = now - day * DAY - hour * 3600
            n += 1
            account, kind = (x, Kind.PUBLIC) if n % 3 else (mail, Kind.EMAIL)
            store.ingest(account, [
                InboundMessage(f"in{n}", f"t{n % 5}", kind, DANA if n % 2 else SAM, TEXTS[n % len(TEXTS)], at),
                InboundMessage(f"out{n}", f"t{n % 5}", kind, US, "on it", at + 60, Direction.OUT)])
    return x, mail


def _cached(store) -> int:
    return store.conn.execute("SELECT count(*) FROM metrics_days WHERE scope = ?", (SCOPE,)).fetchone()[0]


def test_sentiment_days_from_the_cache_equal_the_direct_read(store, clock) -> None:
    now = clock.now()
    x, _ = _week(store, now)
    triage = Triage(store)
    since, until = now - 5.5 * DAY, now + 1  # both edges inside a UTC day
    direct = storage.sentiment_by_day(store.conn, since, until)
    assert len({d.day for d in direct}) >= 6 and {d.channel for d in direct} == {"x", "email"}

    assert triage.sentiment_by_day(since, until) == direct  # the first look fills the days
    filled = _cached(store)
    assert filled >= 4  # the complete UTC days between the edges
    assert triage.sentiment_by_day(since, until) == direct  # the next look reads them back
    assert _cached(store) == filled

    # A late message dated on a cached day: that day (and those after it) are read again.
    store.ingest(x, [InboundMessage("late", "t-late", Kind.PUBLIC, DANA, "awful, the worst ever",
                                    now - 3 * DAY - 1800)])
    moved = storage.sentiment_by_day(store.conn, since, until)
    assert moved != direct
    assert triage.sentiment_by_day(since, until) == moved
    assert triage.sentiment_by_day(now - 2 * DAY, now) == storage.sentiment_by_day(store.conn, now - 2 * DAY, now)


def test_a_period_without_a_complete_day_reads_directly(store, clock) -> None:
    now = clock.now()
    _week(store, now)
    since = (now // DAY) * DAY + 60  # today so far only
    assert Triage(store).sentiment_by_day(since, now + 1) == storage.sentiment_by_day(store.conn, since, now + 1)
    assert _cached(store) == 0
