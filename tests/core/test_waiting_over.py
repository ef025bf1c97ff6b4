"""Store.waiting_over: the over-target count per kind and when it next changes."""

from __future__ import annotations

from agentconsole.models import Channel, InboundMessage, Kind, Person


def test_counts_over_target_per_kind_and_reports_the_next_crossing(store, clock):
    x = store.ensure_account("x", Channel.X, "demo")
    mail = store.ensure_account("mail", Channel.EMAIL, "demo")
    now = clock.now()
    who = Person("p", "@p", "P")
    store.ingest(x, [InboundMessage("a", "ta", Kind.PUBLIC, who, "late", now - 3700),
                     InboundMessage("b", "tb", Kind.PUBLIC, who, "soon", now - 3000),
                     InboundMessage("c", "tc", Kind.DM, who, "fresh", now - 60)])
    store.ingest(mail, [InboundMessage("d", "td", Kind.EMAIL, who, "mail", now - 7200)])
    cutoffs = {"public": now - 3600, "dm": now - 3600, "email": now - 86400}
    over, next_in = store.waiting_over(cutoffs)
    assert over == 1
    assert next_in == 600  # "soon" crosses the public target in ten minutes
    over, _ = store.waiting_over({"public": now - 2000, "dm": now - 3600, "email": now - 86400})
    assert over == 2
    assert store.waiting_over({}) == (0, None)
