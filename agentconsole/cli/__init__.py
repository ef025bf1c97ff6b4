"""The command line and composition root: the one place that wires core, connectors and screens."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, NoReturn, TextIO, cast

from agentconsole import __version__, logs, paths
from agentconsole.domain.sanitize import clean
from agentconsole.failures import PREFIX, describe, short
from agentconsole.domain.clock import Clock, SystemClock
from agentconsole.domain.errors import TemporaryError
from agentconsole.config import Config, load
from agentconsole.storage.store import Store

if TYPE_CHECKING:
    from agentconsole.channels.contract import Connector
    from agentconsole.sync.engine import Engine
    from agentconsole.team.leases import Leases
    from screens.accounts.setup import AccountForm, SaveFn, TestFn

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
    log_path: Path | None = None
    storage_url: str = ""  # the workspace on a PostgreSQL server ([storage] url, --storage-url); "" for SQLite
    # The demo workspace on a server: only with --demo and --storage-url both on the command line (the
    # configured [storage] url is the team's workspace, which never gets the demo's accounts).
    demo_url: str = ""
    _stores: dict[bool, Store] = field(default_factory=dict)

    def store(self, demo: bool = False) -> Store:
        if demo not in self._stores:
            url = self.demo_url if demo else self.storage_url
            if url:
                from agentconsole.cli.db import storage_password

                store = self._stores[demo] = Store(url, self.clock, password=storage_password(url))
                new = not store.accounts() and not store.canned_storage().all()
            else:
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
    from connectors.demo.listen import demo_settings

    kept = {a.name: a.settings for a in store.accounts()}  # terms the agent changed stay theirs
    return [store.ensure_account(name, channel, "demo", handle=handle, display_name=display,
                                 settings=kept.get(name) or demo_settings(channel), is_demo=True)
            for name, channel, handle, display in DEMO_ACCOUNTS]


def use_demo(args: argparse.Namespace, ctx: CliContext | None = None) -> bool:
    """The demo workspace when asked for, or when no real account has been configured yet. With *ctx*,
    the real workspace opened to find out stays open as ctx.store(False): the start opens it once."""
    if getattr(args, "demo", False):
        return True
    if getattr(args, "storage_url", ""):
        return False  # a workspace on a server was asked for: that one, even while it has no account yet
    real = paths.database_path(False)
    if not real.exists():
        return True
    keep = ctx is not None and not ctx.storage_url  # else ctx.store(False) is a server, not this file
    if keep and ctx is not None and False in ctx._stores:
        return not any(not a.is_demo for a in ctx._stores[False].accounts())
    store = Store(real, ctx.clock if ctx is not None else None)
    demo = True
    try:
        demo = not any(not a.is_demo for a in store.accounts())
    finally:
        if demo or not keep:
            store.close()
        elif ctx is not None:
            ctx._stores[False] = store
    return demo


def build_connectors(store: Store, clock: Clock,
                     config: Config | None = None) -> tuple[dict[int, Connector], dict[int, str]]:
    """A connector per account, and the reason for each account that could not get one."""
    from agentconsole.channels import registry

    built: dict[int, Connector] = {}
    unavailable: dict[int, str] = {}
    for account in store.accounts():
        if (account.connector == "demo" and config is not None and config.demo_interval is not None
                and "interval" not in account.settings):
            account = account._replace(settings={**account.settings, "interval": config.demo_interval})
        try:
            built[account.id] = registry.build(account, clock)
        except Exception as exc:  # a missing secret or an unknown kind must not stop the others
            log.info("account %s cannot connect: %s", account.id, short(exc))
            unavailable[account.id] = short(exc)
    return built, unavailable


def run_console(args: argparse.Namespace, ctx: CliContext) -> int:
    import gc

    # Start-up builds hundreds of thousands of long-lived objects (modules, classes, styles) and the
    # cyclic collector would walk them again and again (~15% of the start's CPU); it is paused until
    # the inbox's first rows are painted, when the App turns it back on (start_background).
    gc.disable()
    try:
        return _run_console(args, ctx)
    finally:
        gc.enable()


def _run_console(args: argparse.Namespace, ctx: CliContext) -> int:
    from agentconsole.session.session import Session

    # Textual paints at most MAX_FPS frames a second and a key's repaint waits for the next frame:
    # 120 halves that wait (to at most 8 ms). Frames are only drawn when something changed, so an idle
    # console costs nothing more. Set before Textual is imported; the user's own setting wins.
    os.environ.setdefault("TEXTUAL_FPS", FRAME_RATE)
    from screens.app import AgentConsoleApp

    demo = use_demo(args, ctx)
    store = ctx.store(demo)
    agent_name = args.agent or ctx.config.resolved_agent_name()
    agent_id = store.ensure_agent(agent_name, ctx.config.agent_initials, ctx.config.timezone)

    def connect() -> Engine:
        """The connectors and the engine, built by the App right after its first paint (attach_engine)."""
        from agentconsole.sync.engine import Engine

        connectors_, unavailable = build_connectors(store, ctx.clock, ctx.config)
        return Engine(store, connectors_, clock=ctx.clock, unavailable=unavailable,
                      leases=_leases(store, f"{agent_name}'s console"))

    session = Session(store, clock=ctx.clock, config=ctx.config, agent_id=agent_id, connect=connect)
    app = AgentConsoleApp(session, demo=demo, setup_email=_account_setup(store, ctx.clock),
                          freeze_startup_objects=True, close_on_hangup=True)
    app.run()
    if app.failure:
        try:
            print(f"{PREFIX}{app.failure}", file=ctx.err)
        except OSError:  # the terminal hung up (SIGHUP): the log has the line
            pass
    return app.return_code or EXIT_OK


def _leases(store: Store, label: str) -> Leases:
    from agentconsole.team.console import console_id
    from agentconsole.team.leases import Leases

    return Leases(store, console_id(), label)


def _account_setup(store: Store, clock: Clock) -> tuple[SaveFn, TestFn]:
    """(save, test) for the console's account set-up dialog: the form's options are typed and checked
    by the channel's plug-in, then saved (or only logged in with) through the core. The plug-ins are
    read when the dialog is used, not at the start."""

    async def save(form: AccountForm) -> str:
        from agentconsole.accounts import save_account
        from agentconsole.channels import registry

        plugin = registry.get(form.kind)
        values = plugin.parse_options(form.raw)
        name, _, where = await save_account(store, plugin, form.name, values, form.secret, form.command, clock)
        assert plugin.setup is not None  # save_account refuses a plug-in without a set-up flow
        return f"saved {name!r}; {plugin.setup.secret.word}: {where}."

    async def test(form: AccountForm) -> str:
        from agentconsole.accounts import check_account
        from agentconsole.channels import registry

        plugin = registry.get(form.kind)
        return await check_account(plugin, form.name, plugin.parse_options(form.raw), form.secret,
                                   form.command, clock)

    return save, test


def run_sync(args: argparse.Namespace, ctx: CliContext) -> int:
    import sqlite3

    from agentconsole.session.session import Session
    from agentconsole.stop_signals import on_stop_signals
    from agentconsole.sync.engine import Engine

    store = ctx.store(use_demo(args))
    # A damaged file is never synced into: its writes would build on broken pages. A file sealed sound
    # by a clean close today is not read through again (cron runs this every few minutes).
    if store.check_unless_sealed():
        print(f"{PREFIX}{store.damaged}", file=ctx.err)
        return EXIT_ERROR
    try:
        store.backup_if_due()  # the daily backup, also on a host where no console runs
    except (OSError, sqlite3.Error) as exc:  # a full disk must not stop the sync: said, and tried again next run
        print(f"{PREFIX}the daily backup failed: {short(exc)}", file=ctx.err)
    connectors_, unavailable = build_connectors(store, ctx.clock, ctx.config)
    leases = _leases(store, "sync --once")
    engine = Engine(store, connectors_, clock=ctx.clock, unavailable=unavailable, leases=leases)
    session = Session(store, clock=ctx.clock, config=ctx.config, engine=engine)
    names = {a.id: clean(a.name) for a in store.accounts()}
    failed = bool(unavailable)
    for account_id, why in unavailable.items():
        print(f"{PREFIX}{names[account_id]}: not connected: {why}", file=ctx.err)
    # One engine per account: an account another process is syncing right now is left to it.
    from agentconsole.team.console import describe

    elsewhere = engine.take_leases()
    for account_id, holder in elsewhere.items():
        print(f"{names[account_id]}: synced by {clean(holder.label or describe(holder.owner))}; skipped",
              file=ctx.out)

    stopped_by = ""

    async def sync_all() -> None:
        # A cron job's `timeout`, a shutdown or a closed terminal stops the run here instead of killing
        # the process: the leases are released and the store closes cleanly (sealed), so the next run
        # neither waits for the leases to lapse nor reads the whole file through again. A send cut off
        # in flight is reconciled by the next run, as after any crash.
        task = asyncio.current_task()
        assert task is not None

        def stop(name: str) -> None:
            nonlocal stopped_by
            stopped_by = name
            task.cancel()

        on_stop_signals(asyncio.get_running_loop(), stop)
        try:
            await _sync_accounts()
        finally:
            for connector in connectors_.values():
                await connector.close()

    async def _sync_accounts() -> None:
        nonlocal failed
        for account_id in [a for a in connectors_ if a not in elsewhere]:
            try:
                count = await engine.sync_once(account_id)
                print(f"{names[account_id]}: {count} new message(s)", file=ctx.out)
                heard = await engine.listener.listen_once(account_id)  # brand talk without @us, for the Heard view
                if heard:
                    print(f"{names[account_id]}: {heard} heard (named without @us)", file=ctx.out)
            except Exception as exc:
                failed = True
                log.info("sync of account %s failed", account_id, exc_info=True)
                advice = (f"; check the server and the network, or try again later (`agentconsole account "
                          f"test {names[account_id]}` tries the sign-in)" if isinstance(exc, TemporaryError) else "")
                print(f"{PREFIX}{names[account_id]}: sync failed: {short(exc)}{advice}", file=ctx.err)
        await engine.reconcile()
        queued = await asyncio.to_thread(session.send_away_replies)
        if queued:
            print(f"away replies: {len(queued)} queued", file=ctx.out)
        sent = await engine.dispatch_once()
        if sent:
            print(f"outbox: {sent} sent", file=ctx.out)

    try:
        asyncio.run(sync_all())
    except asyncio.CancelledError:
        if not stopped_by:
            raise
        print(f"{PREFIX}stopped by {stopped_by} before the sync finished; the next run goes on from where this"
              " one stopped", file=ctx.err)
        return EXIT_ERROR
    finally:
        leases.release_all()
    # A refused send, or one that may have been sent, is left to a person: say which, and fail, so
    # that a cron job's owner hears of it.
    from agentconsole.cli.outbox import write_items

    undecided = session.needing_decision()
    if undecided:
        failed = True
        print(f"outbox: {len(undecided)} send(s) refused or awaiting your decision:", file=ctx.err)
        write_items(ctx.err, undecided, names, ctx.clock.now())
        print("decide with: agentconsole outbox decide ID resend|mark-sent|discard", file=ctx.err)
    return EXIT_ERROR if failed else EXIT_OK


def run_config(args: argparse.Namespace, ctx: CliContext) -> int:
    print(ctx.config.path or paths.config_path(), file=ctx.out)
    if ctx.log_path is not None:
        print(f"log: {ctx.log_path}", file=ctx.out)
    else:
        print(f"log: {paths.log_path()} (not written: its folder cannot be created or written here)",
              file=ctx.out)
    return EXIT_OK


class SafeStream:
    """The one door for CLI output: everything written is passed through the sanitiser (names, notes,
    subjects and errors may carry terminal escapes), and what the terminal's encoding cannot show is
    replaced rather than raised."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        text = "\r\n".join(clean(part) for part in text.split("\r\n"))  # CSV's CRLF is harmless; a lone CR is not
        try:
            return self.stream.write(text)
        except UnicodeEncodeError:
            encoding = getattr(self.stream, "encoding", None) or "ascii"
            return self.stream.write(text.encode(encoding, "replace").decode(encoding))

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return self.stream.isatty()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


class Parser(argparse.ArgumentParser):
    """argparse that names the one problem first, then the short usage, never the whole help."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{PREFIX}{message}\n{self.format_usage()}"
                              f"run `{self.prog} --help` for every option\n")


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    parser = Parser(prog="agentconsole",
                    description="One keyboard-driven inbox for social networks and email.")
    parser.add_argument("--version", action="version", version=f"agentconsole {__version__}")
    parser.add_argument("--demo", action="store_true", help="open the demo workspace (its own database)")
    parser.add_argument("--agent", help="your agent name (default: config [agent] name, else your login)")
    parser.add_argument("--storage-url", metavar="URL", default=None,
                        help="the workspace on a PostgreSQL server, postgresql://user@host:port/database "
                             "(default: config [storage] url, else the SQLite file; with --demo, where the demo "
                             "inbox goes); the password comes from `agentconsole db set-password`, PGPASSWORD "
                             "or ~/.pgpass")
    parser.add_argument("--log-level", choices=logs.LEVELS, default=logs.DEFAULT_LEVEL,
                        help=f"how much goes to the log file (default: {logs.DEFAULT_LEVEL})")
    parser.set_defaults(func=run_console)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sync = sub.add_parser("sync", help="fetch every account once and send what is queued")
    sync.add_argument("--once", action="store_true", required=True, help="one pass, then exit")
    sync.add_argument("--demo", action="store_true", help="the demo workspace")
    sync.set_defaults(func=run_sync)
    config = sub.add_parser("config", help="configuration")
    config_sub = config.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    config_sub.add_parser("path", help="print the config file's and the log's paths").set_defaults(
        func=run_config)
    for module in _command_modules(sys.argv[1:] if argv is None else argv):
        module.register(sub)
    return parser


# Subcommands whose modules are imported only when named, so that opening the console stays fast.
LAZY_COMMANDS = {
    "canned": "agentconsole.cli.canned",
    "account": "agentconsole.cli.account",
    "shift": "agentconsole.cli.shift",
    "metrics": "agentconsole.cli.metrics",
    "outbox": "agentconsole.cli.outbox",
    "db": "agentconsole.cli.db",
    "completion": "agentconsole.cli.completion",
    "survey": "agentconsole.cli.survey",
    "csat": "agentconsole.cli.survey",
    "sentiment": "agentconsole.cli.survey",
}


def _command_modules(argv: list[str]) -> list[ModuleType]:
    from importlib import import_module

    words = [a for a in argv if not a.startswith("-")]
    wanted = [LAZY_COMMANDS[words[0]]] if words and words[0] in LAZY_COMMANDS else []
    if not wanted and ("-h" in argv or "--help" in argv or words):
        wanted = list(dict.fromkeys(LAZY_COMMANDS.values()))  # help, or an unknown word: all of them
    return [import_module(name) for name in wanted]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser(argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    log_file = logs.setup(args.log_level)
    ctx: CliContext | None = None
    try:
        config = load(paths.config_path())
        if config.keymap or config.theme != Config.theme:
            # What only the UI knows (theme names, binding ids and their keys) is checked for every
            # command too, so a mistake is never accepted silently by `sync --once` and met later.
            from screens.app import check_config

            check_config(config)
        given = args.storage_url
        args.storage_url = storage_url(args.storage_url, config)
        from agentconsole.storage import db

        db.set_cache_mb(config.storage_cache_mb)  # before any store opens a connection
        # SafeStream is a TextIO in all but name: it writes through the sanitiser and forwards the rest.
        ctx = CliContext(config, out=cast(TextIO, SafeStream(sys.stdout)), err=cast(TextIO, SafeStream(sys.stderr)),
                         log_path=log_file,
                         storage_url=args.storage_url,
                         demo_url=args.storage_url if given and getattr(args, "demo", False) else "")
        code: int = args.func(args, ctx)
        return code
    except KeyboardInterrupt:
        return EXIT_ERROR
    except BrokenPipeError:  # `agentconsole metrics | head`: the reader left; nothing to say to anyone
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the final flush is quiet
        except (OSError, ValueError, AttributeError):  # stdout is no file (captured, closed)
            pass
        return EXIT_ERROR
    except Exception as exc:
        return report(exc, log_file)
    finally:
        if ctx is not None:
            try:
                ctx.close()
            except Exception:
                log.exception("closing the store failed")


def storage_url(given: str | None, config: Config) -> str:
    """The workspace's PostgreSQL URL (--storage-url, else [storage] url), "" for the SQLite file; one with
    a password in it is refused."""
    if given is None:
        return config.storage_url
    if not given:
        return ""
    from agentconsole.domain.database_url import PasswordInUrl, refuse_password
    from agentconsole.storage.integrity import DatabaseProblem
    from agentconsole.storage.postgres import is_url

    if not is_url(given):
        raise DatabaseProblem(f"--storage-url {given!r} is not a postgresql://user@host:port/database URL")
    try:
        return refuse_password(given)
    except PasswordInUrl as exc:
        raise DatabaseProblem(str(exc)) from None


def report(exc: BaseException, log_file: Path | None, err: TextIO | None = None) -> int:
    """Print the one line for *exc*; a bug's traceback goes to the log, never to the terminal."""
    err = err or sys.stderr
    sentence = describe(exc)
    if sentence is not None:
        log.warning("%s", sentence)
        print(f"{PREFIX}{sentence}", file=err)
    else:
        log.error("unexpected error", exc_info=exc)
        where = f"the details are in {log_file}" if log_file else "no log file could be written"
        print(f"{PREFIX}unexpected {type(exc).__name__}: {clean(str(exc), keep_newlines=False)[:200]}; {where} "
              "(please report it)", file=err)
    return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
