"""The demo as the console builds it: the composition root keeps the shop's day unless a flat load is set."""

from __future__ import annotations

from agentconsole.cli import build_connectors
from connectors.demo.connector import DEMO_ACCOUNTS


def test_the_console_builds_the_demo_as_a_shop_day_unless_a_flat_load_is_configured(tmp_path):
    """The composition root used to give every demo account the config's interval (6 s by default), so
    the console flooded (~50 messages a minute) although the connector alone followed a shop's day."""
    from agentconsole.config import Config, load
    from agentconsole.domain.clock import FrozenClock
    from connectors.demo.shop_day import BUSIEST_INTERVAL
    from agentconsole.storage.store import Store

    clock = FrozenClock(1_764_072_000.0)
    store = Store(tmp_path / "shop.db", clock)
    for name, channel, handle, display in DEMO_ACCOUNTS:
        store.ensure_account(name, channel, "demo", handle=handle, display_name=display, is_demo=True)
    built, unavailable = build_connectors(store, clock, Config())
    assert not unavailable and len(built) == len(DEMO_ACCOUNTS)
    assert all(c.day is not None and c.interval == BUSIEST_INTERVAL for c in built.values())
    (tmp_path / "c.toml").write_text("[demo]\ninterval_seconds = 6\n")
    flat, _ = build_connectors(store, clock, load(tmp_path / "c.toml"))
    assert all(c.day is None and c.interval == 6 for c in flat.values())
    store.close()
