"""The workspace's PostgreSQL server goes away under a running console (a TCP proxy the test stops):
the banner says so, the inbox keeps what it shows, and both come back on their own."""

from __future__ import annotations

import asyncio

from agentconsole.config import Config
from agentconsole.session.session import Session
from agentconsole.storage.store import Store

from tests.core import pg_team
from tests.screens.conftest import seed
from tests.screens.helpers import screen_text

SIZE = (120, 36)


async def until(app, pilot, condition, seconds: float = 40.0) -> None:
    """Wait for what the screen shows; the workers are not waited for: while the server is away they
    fail (the app tells the agent once) or wait for a connection, and that is part of what is tested."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        await pilot.pause()
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition never became true:\n" + screen_text(app))


def banner(app) -> str:
    return next(line for line in screen_text(app).splitlines() if line.startswith("Agent:"))


async def test_the_banner_says_while_the_server_is_away_and_the_console_keeps_its_rows(monkeypatch, tmp_path):
    from agentconsole.sync.engine import Engine
    from screens.app import AgentConsoleApp

    from tests.screens.conftest import START
    from agentconsole.domain.clock import FrozenClock

    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")
    monkeypatch.setenv("AGENTCONSOLE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("AGENTCONSOLE_CONFIG", str(tmp_path / "config.toml"))
    clock = FrozenClock(START)
    proxy = pg_team.Proxy()
    proxy.start()
    with pg_team.database() as name:
        store = Store(pg_team.url(name, proxy.port), clock)
        try:
            seeded = seed(store, clock)
            engine = Engine(store, {}, clock=clock)  # as the console runs: the banner shows its states
            app = AgentConsoleApp(Session(store, clock=clock, config=Config(timezone="Europe/Berlin"),
                                          agent_id=seeded.agent_id, engine=engine))
            async with app.run_test(size=SIZE) as pilot:
                await until(app, pilot, lambda: "Dana Kim" in screen_text(app))
                assert "UNREACHABLE" not in banner(app)
                proxy.stop()
                await until(app, pilot, lambda: "WORKSPACE SERVER UNREACHABLE" in banner(app))
                assert "Dana Kim" in screen_text(app)  # what was loaded stays on screen
                await pilot.press("j")  # and the console still answers keys
                await pilot.pause()
                assert "Dana Kim" in screen_text(app)
                proxy.start()
                await until(app, pilot, lambda: "UNREACHABLE" not in banner(app))
                assert "Dana Kim" in screen_text(app)
        finally:
            store.close()
            proxy.stop()
