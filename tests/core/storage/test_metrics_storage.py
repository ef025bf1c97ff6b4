"""The metrics storage, the same on every backend: each pass of a report over a period."""

from __future__ import annotations

from agentconsole.domain.models import Channel, Kind, Status

HOUR = 3600.0


def test_first_responses_resolutions_and_opened(backend):
    store, now = backend.store, backend.clock.now()
    x = store.ensure_account("shop-x", Channel.X, "demo")
    mail = store.ensure_account("shop-mail", Channel.EMAIL, "demo")
    agent = store.ensure_agent("Alice Ng")
    asked = now - 2 * HOUR
    cid = backend.message(x, "t1", "where is my order", asked)
    backend.message(x, "t1", "hello??", asked + 60)  # a repeat contact before our answer
    backend.message(x, "t1", "on its way", asked + 1800, who="shop", out=True)
    backend.message(mail, "t2", "invoice", now - HOUR, kind=Kind.EMAIL, who="li")
    store.set_status(cid, Status.DONE, agent)
    m = backend.metrics()
    start, end = now - 3 * HOUR, now + 1
    assert m.agents() == {agent: "Alice Ng"}
    assert m.first_responses(start, end, False) == [("x", None, 1800.0, 1800.0)]
    assert m.first_responses(now, end, False) == []
    [(channel, who, wall, counted)] = m.resolutions(start, end)
    assert (channel, who, wall, counted) == ("x", agent, 2 * HOUR, 2 * HOUR)
    assert m.opened(start, end, True) == {"x": 1, "email": 1}
    assert m.opened(start, end, False) == {"": 2}
    assert m.contacts(start, end) == {"x": (1, 1, 1), "email": (1, 0, 0)}
    assert m.replies(start, end) == []  # a reply seen on the platform has no source
    assert m.events_per_span("opened", [(start, now - 1.5 * HOUR), (now - 1.5 * HOUR, end)]) == (1, 1)
    assert m.events_per_span("resolved", [(start, end)]) == (1,)


def test_counted_seconds_come_from_the_given_counter(backend):
    store, now = backend.store, backend.clock.now()
    x = store.ensure_account("shop-x", Channel.X, "demo")
    backend.message(x, "t1", "hi", now - HOUR)
    backend.message(x, "t1", "hello", now - HOUR / 2, who="shop", out=True)
    calls = []

    def half(account_id: int, start: float, end: float) -> float:
        calls.append(account_id)
        return (end - start) / 2

    [(_, _, wall, counted)] = backend.metrics(half).first_responses(now - 2 * HOUR, now, False)
    assert (wall, counted, calls) == (HOUR / 2, HOUR / 4, [x])


def test_incoming_messages_by_hour_of_the_week(backend):
    store, now = backend.store, backend.clock.now()  # the clock starts on a Tuesday at 09:00 UTC
    x = store.ensure_account("shop-x", Channel.X, "demo")
    for n in range(3):
        backend.message(x, f"t{n}", "hi", now + n * 60, who=f"p{n}")
    backend.message(x, "t9", "later", now + HOUR, who="q")
    m = backend.metrics()
    tuesday_9 = 24 + 9
    assert sorted(m.incoming_by_week_hour(now, now + 2 * HOUR, 0)) == [(tuesday_9, 3), (tuesday_9 + 1, 1)]
    assert sorted(m.incoming_by_week_hour(now, now + 2 * HOUR, 3600)) == [(tuesday_9 + 1, 3), (tuesday_9 + 2, 1)]
    with m.snapshot():  # reads inside one snapshot agree; nothing is written
        assert m.opened(now, now + 2 * HOUR, False) == {"": 4}


def test_repeats_per_span_sum_to_the_contacts_pass(backend):
    store, now = backend.store, backend.clock.now()
    x = store.ensure_account("shop-x", Channel.X, "demo")
    backend.message(x, "t1", "where is my order", now - 30 * HOUR)
    backend.message(x, "t1", "hello??", now - 26 * HOUR)  # a repeat, the day before
    backend.message(x, "t1", "anyone?", now - 2 * HOUR)  # and one today
    backend.message(x, "t1", "on its way", now - HOUR, who="shop", out=True)
    backend.message(x, "t1", "thanks", now - HOUR / 2)  # after our reply: not a repeat
    m = backend.metrics()
    start, mid, end = now - 48 * HOUR, now - 12 * HOUR, now + 1
    assert m.contacts(start, end)["x"][2] == 2
    assert m.repeats(start, mid) == {"x": 1} and m.repeats(mid, end) == {"x": 1}
    assert m.contacts(start, end, repeats=False) == {"x": (1, 1, 0)}


def test_cached_days_are_dropped_from_the_time_of_a_later_message(backend):
    store, now = backend.store, backend.clock.now()
    x = store.ensure_account("shop-x", Channel.X, "demo")
    backend.message(x, "t1", "hi", now - 50 * HOUR)
    m = backend.metrics()
    assert m.caching
    m.forget_changed_days()  # the first mark
    days = [(now - 72 * HOUR, now - 48 * HOUR), (now - 48 * HOUR, now - 24 * HOUR), (now - 24 * HOUR, now)]
    for lo, hi in days:
        m.cache_day("UTC|wall", lo, hi, f"day {lo}")
    m.cache_day("Europe/Berlin|wall", days[0][0], days[0][1], "elsewhere")
    m.cache_day("UTC|wall", days[0][0], days[0][1], "again")  # a recomputed day replaces the old one
    assert m.cached_days("UTC|wall", [lo for lo, _ in days]) == {
        days[0][0]: "again", days[1][0]: f"day {days[1][0]}", days[2][0]: f"day {days[2][0]}"}
    m.forget_changed_days()  # nothing new: every day stays
    assert len(m.cached_days("UTC|wall", [lo for lo, _ in days])) == 3
    backend.message(x, "t2", "late", now - 30 * HOUR)  # arrives now, sent on the second day
    m.forget_changed_days()
    assert m.cached_days("UTC|wall", [lo for lo, _ in days]) == {days[0][0]: "again"}
    assert m.cached_days("Europe/Berlin|wall", [days[0][0]]) == {days[0][0]: "elsewhere"}
    store.set_status(backend.message(x, "t3", "new", now - 60 * HOUR), Status.DONE, None)  # an event now
    m.forget_changed_days()
    assert m.cached_days("UTC|wall", [lo for lo, _ in days]) == {}
