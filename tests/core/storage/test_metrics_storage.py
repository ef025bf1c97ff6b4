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
