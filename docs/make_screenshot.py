"""Save docs/screenshot.svg: the console on the demo workspace, as a newcomer first sees it."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agentconsole.cli import build_connectors, ensure_demo_accounts  # noqa: E402
from agentconsole.domain.clock import FrozenClock  # noqa: E402
from agentconsole.config import Config  # noqa: E402
from agentconsole.sync.engine import Engine  # noqa: E402
from agentconsole.storage.store import Store  # noqa: E402

NOW = 1_764_061_200.0 + 7 * 3600  # a Tuesday, 16:00 UTC


async def main() -> None:
    from screens.app import AgentConsoleApp

    with tempfile.TemporaryDirectory() as tmp:
        clock = FrozenClock(NOW)
        store = Store(Path(tmp) / "demo.db", clock)
        ensure_demo_accounts(store)
        agent = store.ensure_agent("Alice Ng", "AN")
        connectors, _ = build_connectors(store, clock, Config())
        engine = Engine(store, connectors, clock=clock)
        for account_id in connectors:
            await engine.sync_once(account_id)
        app = AgentConsoleApp(store, clock=clock, config=Config(), agent_id=agent, engine=engine, demo=True)
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.pause(1.5)  # the engine's worker runs until quit: wait by time, not for it
            await pilot.press("j", "j", "j")
            await pilot.pause(1.0)
            app.save_screenshot(filename="screenshot.svg", path=str(ROOT / "docs"))
        store.close()


if __name__ == "__main__":
    asyncio.run(main())
