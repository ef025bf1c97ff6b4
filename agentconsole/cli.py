"""The command line and composition root: the one place that wires core, connectors and screens."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from . import __version__, paths
from .clock import Clock, SystemClock
from .config import Config, ConfigError, load
from .store import Store

log = logging.getLogger(__name__)

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


@dataclass
class CliContext:
    """What every subcommand gets: config, clock, output streams, and the store on demand."""

    config: Config
    clock: Clock = field(default_factory=SystemClock)
    out: TextIO = sys.stdout
    err: TextIO = sys.stderr
    _stores: dict[bool, Store] = field(default_factory=dict)

    def store(self, demo: bool = False) -> Store:
        if demo not in self._stores:
            self._stores[demo] = Store(paths.database_path(demo), self.clock)
            if demo:
                ensure_demo_accounts(self._stores[demo])
        return self._stores[demo]

    def close(self) -> None:
        for store in self._stores.values():
            store.close()


def ensure_demo_accounts(store: Store) -> list[int]:
    from connectors.demo import DEMO_ACCOUNTS

    return [store.ensure_account(name, channel, "demo", handle=handle, display_name=display,
                                 is_demo=True)
            for name, channel, handle, display in DEMO_ACCOUNTS]


def use_demo(args: argparse.Namespace) -> bool:
    """The demo workspace when asked for, or when no real account has been configured yet."""
    if getattr(args, "demo", False):
        return True
    real = paths.database_path(False)
    if not real.exists():
        return True
    store = Store(real)
    try:
        return not any(not a.is_demo for a in store.accounts())
    finally:
        store.close()


def build_connectors(store: Store, clock: Clock):
    """A connector per account, and the reason for each account that could not get one."""
    import connectors

    built, unavailable = {}, {}
    for account in store.accounts():
        try:
            built[account.id] = connectors.build(account, clock)
        except Exception as exc:  # a missing secret or an unknown kind must not stop the others
            unavailable[account.id] = f"{type(exc).__name__}: {exc}"
    return built, unavailable


def run_console(args: argparse.Namespace, ctx: CliContext) -> int:
    from .engine import Engine

    demo = use_demo(args)
    store = ctx.store(demo)
    agent_name = args.agent or ctx.config.resolved_agent_name()
    agent_id = store.ensure_agent(agent_name, ctx.config.agent_initials, ctx.config.timezone)
    connectors_, unavailable = build_connectors(store, ctx.clock)
    engine = Engine(store, connectors_, clock=ctx.clock, unavailable=unavailable)

    from screens.app import AgentConsoleApp

    app = AgentConsoleApp(store, clock=ctx.clock, config=ctx.config, agent_id=agent_id, engine=engine,
                          demo=demo)
    app.run()
    return app.return_code or EXIT_OK


def run_sync(args: argparse.Namespace, ctx: CliContext) -> int:
    from .engine import Engine

    store = ctx.store(use_demo(args))
    connectors_, unavailable = build_connectors(store, ctx.clock)
    engine = Engine(store, connectors_, clock=ctx.clock, unavailable=unavailable)
    names = {a.id: a.name for a in store.accounts()}
    failed = bool(unavailable)
    for account_id, why in unavailable.items():
        print(f"{names[account_id]}: not connected: {why}", file=ctx.err)

    async def sync_all() -> None:
        nonlocal failed
        for account_id in connectors_:
            try:
                count = await engine.sync_once(account_id)
                print(f"{names[account_id]}: {count} new message(s)", file=ctx.out)
            except Exception as exc:
                failed = True
                print(f"{names[account_id]}: sync failed: {type(exc).__name__}: {exc}", file=ctx.err)
        await engine.reconcile()
        sent = await engine.dispatch_once()
        if sent:
            print(f"outbox: {sent} sent", file=ctx.out)
        for connector in connectors_.values():
            await connector.close()

    asyncio.run(sync_all())
    return EXIT_ERROR if failed else EXIT_OK


def run_config(args: argparse.Namespace, ctx: CliContext) -> int:
    print(ctx.config.path or paths.config_path(), file=ctx.out)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="agentconsole",
                                     description="One keyboard-driven inbox for social networks and email.")
    parser.add_argument("--version", action="version", version=f"agentconsole {__version__}")
    parser.add_argument("--demo", action="store_true", help="open the demo workspace (its own database)")
    parser.add_argument("--agent", help="your agent name (default: config [agent] name, else your login)")
    parser.set_defaults(func=run_console)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sync = sub.add_parser("sync", help="fetch every account once and send what is queued")
    sync.add_argument("--once", action="store_true", required=True, help="one pass, then exit")
    sync.add_argument("--demo", action="store_true", help="the demo workspace")
    sync.set_defaults(func=run_sync)
    config = sub.add_parser("config", help="configuration")
    config_sub = config.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    config_sub.add_parser("path", help="print the config file's path").set_defaults(func=run_config)
    for module in _COMMAND_MODULES:
        module.register(sub)
    return parser


_COMMAND_MODULES: list = []


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        config = load(paths.config_path())
    except ConfigError as exc:
        print(f"agentconsole: config error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    ctx = CliContext(config)
    try:
        return args.func(args, ctx)
    except KeyboardInterrupt:
        return EXIT_ERROR
    finally:
        ctx.close()


if __name__ == "__main__":
    sys.exit(main())
