"""`agentconsole account add|list|test|remove`: set up channel accounts from the command line."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any, TextIO
import asyncio
import getpass
import os
import sys

from agentconsole import secrets
from agentconsole.accounts import AccountInUse, SetupError, account_by_name, remove_account, save_account
from agentconsole.channels import registry
from agentconsole.channels.plugin import ChannelPlugin, Option, OptionError, OptionType
from agentconsole.domain.errors import ConnectorError

if TYPE_CHECKING:
    from agentconsole.cli import CliContext

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    account = subparsers.add_parser("account", help="add, list, test and remove accounts")
    actions = account.add_subparsers(dest="account_command", required=True, metavar="ACTION")

    add = actions.add_parser("add", help="add an account")
    kinds = add.add_subparsers(dest="kind", required=True, metavar="KIND")
    for plugin in registry.with_setup():
        parser = kinds.add_parser(plugin.name, help=plugin.summary, description=plugin.summary)
        add_arguments(parser, plugin)
        parser.set_defaults(func=run_add)

    actions.add_parser("list", help="list the accounts").set_defaults(func=run_list)

    test = actions.add_parser("test", help="log in and report exactly what fails")
    test.add_argument("name")
    test.set_defaults(func=run_test)

    remove = actions.add_parser("remove", help="remove an account and its stored secret")
    remove.add_argument("name")
    remove.add_argument("--delete-messages", action="store_true",
                        help="also delete the account's conversations and messages")
    remove.set_defaults(func=run_remove)

    from agentconsole.cli import listen

    listen.register(actions)


def add_arguments(parser: argparse.ArgumentParser, plugin: ChannelPlugin) -> None:
    """The plug-in's options as flags; values are typed and validated afterwards, by the options."""
    flow = plugin.setup
    assert flow is not None
    if flow.name_required:
        parser.add_argument("--name", required=True, help="a short name for the account, e.g. support")
    else:
        parser.add_argument("--name", help="account name in agentconsole (default: user@host)")
    for option in plugin.options:
        _add_option(parser, option)
    word = flow.secret.word
    how = parser.add_mutually_exclusive_group()
    how.add_argument(f"--{word}-stdin", dest="secret_stdin", action="store_true",
                     help=f"read the {word} from standard input (first line)")
    how.add_argument(f"--{word}-command", dest="secret_command", metavar="CMD",
                     help=f"run CMD to get the {word} each time, e.g. 'pass show shop/{plugin.name}' "
                          "(kept as the account's password_command, for hosts without a keyring)")


def _add_option(parser: argparse.ArgumentParser, option: Option) -> None:
    text = option.help + (" (required)" if option.required else "")
    if option.type == OptionType.FLAG:
        action = "store_false" if option.default is True else "store_true"
        parser.add_argument(option.flag, dest=option.name, action=action, default=bool(option.default),
                            help=text)
        return
    metavar = "{" + ",".join(option.choices) + "}" if option.choices else _METAVARS.get(option.type, "TEXT")
    parser.add_argument(option.flag, dest=option.name, metavar=metavar, help=text)


_METAVARS = {OptionType.INT: "N", OptionType.PORT: "PORT", OptionType.HOST: "HOST", OptionType.EMAIL: "ADDRESS",
             OptionType.URL: "URL", OptionType.LIST: "A,B", OptionType.PATH: "FILE"}


class _CliIO:
    """The set-up flow's prompts on the command line's streams."""

    def __init__(self, ctx: CliContext) -> None:
        self.ctx = ctx
        self.stdin: TextIO = getattr(ctx, "stdin", None) or sys.stdin

    @property
    def interactive(self) -> bool:
        return bool(getattr(self.stdin, "isatty", lambda: False)())

    def say(self, text: str) -> None:
        print(text, file=self.ctx.out, flush=True)

    def ask(self, prompt: str, secret: bool = False) -> str:
        if secret and self.interactive:
            return getpass.getpass(prompt)
        print(prompt, end="", file=self.ctx.out, flush=True)
        return self.stdin.readline().rstrip("\r\n")


def run_add(args: argparse.Namespace, ctx: CliContext) -> int:
    plugin = registry.get(args.kind)
    try:
        values = plugin.parse_options({o.name: getattr(args, o.name) for o in plugin.options})
    except OptionError as exc:
        print(f"agentconsole: {exc}", file=ctx.err)
        return EXIT_USAGE
    setup = plugin.setup
    assert setup is not None, "only plugins with a set-up flow have `account add KIND`"  # registry.with_setup
    io = _CliIO(ctx)
    name = (args.name or "").strip()
    word = setup.secret.word

    async def add() -> tuple[str, str, str]:
        secret = None
        if args.secret_stdin:
            secret = io.stdin.readline().rstrip("\r\n")
            if not secret:
                raise SetupError(f"the {word} read from standard input is empty")
        elif not args.secret_command and not (name and os.environ.get(secrets.env_var_name(name))):
            secret = await setup.obtain_secret(values, io)
        return await save_account(ctx.store(), plugin, name, values, secret, args.secret_command or "",
                                  ctx.clock)

    try:
        saved, description, where = asyncio.run(add())
    except SetupError as exc:
        print(f"agentconsole: {exc}", file=ctx.err)
        return EXIT_USAGE if exc.usage else EXIT_ERROR
    except (ConnectorError, secrets.SecretUnavailable) as exc:
        print(f"agentconsole: {exc}", file=ctx.err)
        return EXIT_ERROR
    print(f"added {plugin.title} account {saved!r} ({description}); {word}: {where}", file=ctx.out)
    print(f"check it with: agentconsole account test {saved}", file=ctx.out)
    return EXIT_OK


def secret_source(name: str, settings: dict[str, Any]) -> str:
    """Where the account's secret would come from, without reading it."""
    if settings.get("password_command"):
        return "password command"
    if os.environ.get(secrets.env_var_name(name)):
        return f"${secrets.env_var_name(name)}"
    if secrets.keyring_backend() is not None:
        return "OS keyring"
    return f"none found (set a password command or ${secrets.env_var_name(name)})"


def run_list(args: argparse.Namespace, ctx: CliContext) -> int:
    accounts = [a for a in ctx.store().accounts() if not a.is_demo]
    if not accounts:
        kinds = "|".join(p.name for p in registry.with_setup())
        print(f"no accounts yet: add one with `agentconsole account add {kinds} ...`", file=ctx.out)
        return EXIT_OK
    for a in accounts:
        try:
            host = registry.get(a.connector).describe(a.settings)
        except registry.UnknownPlugin:
            host = ""
        where = f" via {host}" if host else ""
        print(f"{a.name}\t{a.channel}\t{a.handle}{where}\tsecret: {secret_source(a.name, a.settings)}",
              file=ctx.out)
    return EXIT_OK


def run_test(args: argparse.Namespace, ctx: CliContext) -> int:
    account = account_by_name(ctx.store(), args.name)
    if account is None:
        print(f"agentconsole: no account named {args.name!r}", file=ctx.err)
        return EXIT_ERROR

    async def check() -> str:
        connector = registry.build(account, ctx.clock)
        try:
            return await connector.check()
        finally:
            await connector.close()

    try:
        what = asyncio.run(check())
    except (ConnectorError, secrets.SecretUnavailable) as exc:
        print(f"{account.name}: FAILED ({_kind(exc)}): {exc}", file=ctx.err)
        return EXIT_ERROR
    except registry.UnknownPlugin:
        print(f"{account.name}: this build has no connector {account.connector!r}", file=ctx.err)
        return EXIT_ERROR
    print(f"{account.name}: ok: {what}", file=ctx.out)
    return EXIT_OK


def _kind(exc: Exception) -> str:
    from agentconsole.domain.errors import AuthError, PermanentError, RateLimited, TemporaryError

    names = ((AuthError, "sign-in"), (RateLimited, "rate limited"), (TemporaryError, "connection"),
             (PermanentError, "configuration"), (secrets.SecretUnavailable, "no secret"))
    return next((label for kind, label in names if isinstance(exc, kind)), type(exc).__name__)


def run_remove(args: argparse.Namespace, ctx: CliContext) -> int:
    try:
        removed = remove_account(ctx.store(), args.name, delete_messages=args.delete_messages)
    except AccountInUse as exc:
        print(f"agentconsole: {exc}; add --delete-messages to delete them with it", file=ctx.err)
        return EXIT_ERROR
    if not removed:
        print(f"agentconsole: no account named {args.name!r}", file=ctx.err)
        return EXIT_ERROR
    secrets.delete_secret(args.name)
    print(f"removed account {args.name!r}", file=ctx.out)
    return EXIT_OK
