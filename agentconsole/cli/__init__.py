"""The command line and composition root: the one place that wires core, connectors and screens."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from dataclasses import dataclass, field
from typing import TextIO

from agentconsole import __version__, paths
from agentconsole.domain.clock import Clock, SystemClock
from agentconsole.config import Config, ConfigError, load
from agentconsole.storage.store import Store

log = logging.getLogger(__name__)

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
FRAME_RATE = "120"  # TEXTUAL_FPS for the console, see run_console


@dataclass
class CliContext:
    """What every subcommand gets: config, clock, output streams, and the store on demand."""

    config: Config
    clock: Clock = field(default_factory=SystemClock)
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)
    _stores: dict[bool, Store] = field(default_factory=dict)

    def store(self, demo: bool = False) -> Store:
        if demo not in self._stores:
            path = paths.database_path(demo)
            new = not path.exists()
            store = self._stores[demo] = Store(path, self.clock)
            if demo:
                ensure_demo_accounts(store)
            if new:  # a new workspace starts with the starter canned replies, to edit or delete
                from agentconsole.replies.canned import CannedLibrary

                CannedLibrary(store).install_starters()
        return self._stores[demo]

    def close(self) -> None:
        for store in self._stores.values():
            store.close()


def ensure_demo_accounts(store: Store) -> list[int]:
    from connectors.demo.connector import DEMO_ACCOUNTS

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
    from agentconsole.sync.engine import Engine

    # Textual paints at most MAX_FPS frames a second and a key's repaint waits for the next frame:
    # 120 halves that wait (to at most 8 ms). Frames are only drawn when something changed, so an idle
    # console costs nothing more. Set before Textual is imported; the user's own setting wins.
    os.environ.setdefault("TEXTUAL_FPS", FRAME_RATE)
    demo = use_demo(args)
    store = ctx.store(demo)
    agent_name = args.agent or ctx.config.resolved_agent_name()
    agent_id = store.ensure_agent(agent_name, ctx.config.agent_initials, ctx.config.timezone)
    connectors_, unavailable = build_connectors(store, ctx.clock)
    engine = Engine(store, connectors_, clock=ctx.clock, unavailable=unavailable,
                    leases=_leases(store, f"{agent_name}'s console"))

    from screens.app import AgentConsoleApp

    app = AgentConsoleApp(store, clock=ctx.clock, config=ctx.config, agent_id=agent_id, engine=engine,
                          demo=demo, setup_email=_email_setup(store, ctx.clock),
                          freeze_startup_objects=True)
    app.run()
    return app.return_code or EXIT_OK


def _leases(store: Store, label: str):
    from agentconsole.team.console import console_id
    from agentconsole.team.leases import Leases

    return Leases(store, console_id(), label)


def _email_setup(store: Store, clock: Clock):
    """(save, test) for the console's email set-up dialog: saving is core, testing logs in."""
    def save(draft, password):
        from agentconsole.cli.account_email import save_email_account

        return save_email_account(store, draft, password)

    async def test(draft, password):
        from agentconsole.cli.account_email import check_email_account

        return await check_email_account(draft, password, clock)

    return save, test


def run_sync(args: argparse.Namespace, ctx: CliContext) -> int:
    from agentconsole.sync.engine import Engine

    store = ctx.store(use_demo(args))
    connectors_, unavailable = build_connectors(store, ctx.clock)
    engine = Engine(store, connectors_, clock=ctx.clock, unavailable=unavailable,
                    leases=_leases(store, "sync --once"))
    names = {a.id: a.name for a in store.accounts()}
    failed = bool(unavailable)
    for account_id, why in unavailable.items():
        print(f"{names[account_id]}: not connected: {why}", file=ctx.err)
    # One engine per account: an account another process is syncing right now is left to it.
    from agentconsole.team.console import describe

    elsewhere = engine.take_leases()
    for account_id, holder in elsewhere.items():
        print(f"{names[account_id]}: synced by {holder.label or describe(holder.owner)}; skipped", file=ctx.out)

    async def sync_all() -> None:
        nonlocal failed
        for account_id in [a for a in connectors_ if a not in elsewhere]:
            try:
                count = await engine.sync_once(account_id)
                print(f"{names[account_id]}: {count} new message(s)", file=ctx.out)
            except Exception as exc:
                failed = True
                print(f"{names[account_id]}: sync failed: {type(exc).__name__}: {exc}", file=ctx.err)
        await engine.reconcile()
        from agentconsole.shifts.away import AwayReplies
        from agentconsole.shifts.service import Shifts

        shifts = Shifts(store, {aid: c.capabilities for aid, c in connectors_.items()})
        queued = await asyncio.to_thread(AwayReplies(shifts).send_due)
        if queued:
            print(f"away replies: {len(queued)} queued", file=ctx.out)
        sent = await engine.dispatch_once()
        if sent:
            print(f"outbox: {sent} sent", file=ctx.out)
        for connector in connectors_.values():
            await connector.close()

    try:
        asyncio.run(sync_all())
    finally:
        engine.leases.release_all()
    return EXIT_ERROR if failed else EXIT_OK


def run_config(args: argparse.Namespace, ctx: CliContext) -> int:
    print(ctx.config.path or paths.config_path(), file=ctx.out)
    return EXIT_OK


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
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
    for module in _command_modules(sys.argv[1:] if argv is None else argv):
        module.register(sub)
    return parser


# Subcommands whose modules are imported only when named, so that opening the console stays fast.
LAZY_COMMANDS = {
    "canned": "agentconsole.cli.canned",
    "account": "agentconsole.cli.account",
    "shift": "agentconsole.cli.shift",
    "metrics": "agentconsole.cli.metrics",
}


def _command_modules(argv: list[str]) -> list:
    from importlib import import_module

    words = [a for a in argv if not a.startswith("-")]
    wanted = [LAZY_COMMANDS[words[0]]] if words and words[0] in LAZY_COMMANDS else []
    if not wanted and ("-h" in argv or "--help" in argv or words):
        wanted = list(LAZY_COMMANDS.values())  # help, or an unknown word: argparse lists them all
    return [import_module(name) for name in wanted]


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = build_parser(argv)
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
