"""`agentconsole account add|list|test|remove`: set up channel accounts from the command line."""

from __future__ import annotations

import argparse
import asyncio
import os
from importlib import import_module

from agentconsole import secrets
from agentconsole.accounts import AccountInUse, account_by_name, remove_account
from agentconsole.domain.errors import ConnectorError

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2

# account kind -> module exposing HELP, add_arguments(parser) and add(args, ctx) -> int.
KINDS: dict[str, str] = {
    "email": "agentconsole.cli.account_email",
    "mastodon": "agentconsole.cli.account_mastodon",
}


def register(subparsers) -> None:
    account = subparsers.add_parser("account", help="add, list, test and remove accounts")
    actions = account.add_subparsers(dest="account_command", required=True, metavar="ACTION")

    add = actions.add_parser("add", help="add an account")
    kinds = add.add_subparsers(dest="kind", required=True, metavar="KIND")
    for kind, module_name in KINDS.items():
        module = import_module(module_name)
        summary = (module.__doc__ or "").strip().split("\n")[0].partition("`: ")[2]
        parser = kinds.add_parser(kind, help=getattr(module, "HELP", None) or summary or kind)
        module.add_arguments(parser)
        parser.set_defaults(func=run_add, kind_module=module_name)

    actions.add_parser("list", help="list the accounts").set_defaults(func=run_list)

    test = actions.add_parser("test", help="log in and report exactly what fails")
    test.add_argument("name")
    test.set_defaults(func=run_test)

    remove = actions.add_parser("remove", help="remove an account and its stored secret")
    remove.add_argument("name")
    remove.add_argument("--delete-messages", action="store_true",
                        help="also delete the account's conversations and messages")
    remove.set_defaults(func=run_remove)


def run_add(args: argparse.Namespace, ctx) -> int:
    return import_module(args.kind_module).add(args, ctx)


def secret_source(name: str, settings: dict) -> str:
    """Where the account's secret would come from, without reading it."""
    if settings.get("password_command"):
        return "password command"
    if os.environ.get(secrets.env_var_name(name)):
        return f"${secrets.env_var_name(name)}"
    if secrets.keyring_backend() is not None:
        return "OS keyring"
    return f"none found (set a password command or ${secrets.env_var_name(name)})"


def run_list(args: argparse.Namespace, ctx) -> int:
    accounts = [a for a in ctx.store().accounts() if not a.is_demo]
    if not accounts:
        print("no accounts yet: add one with `agentconsole account add email ...`", file=ctx.out)
        return EXIT_OK
    for a in accounts:
        host = a.settings.get("imap_host") or a.settings.get("instance") or ""
        where = f" via {host}" if host else ""
        print(f"{a.name}\t{a.channel}\t{a.handle}{where}\tsecret: {secret_source(a.name, a.settings)}",
              file=ctx.out)
    return EXIT_OK


def run_test(args: argparse.Namespace, ctx) -> int:
    import connectors

    account = account_by_name(ctx.store(), args.name)
    if account is None:
        print(f"agentconsole: no account named {args.name!r}", file=ctx.err)
        return EXIT_ERROR

    async def check() -> str:
        connector = connectors.build(account, ctx.clock)
        try:
            return await connector.check()
        finally:
            await connector.close()

    try:
        what = asyncio.run(check())
    except (ConnectorError, secrets.SecretUnavailable) as exc:
        print(f"{account.name}: FAILED ({_kind(exc)}): {exc}", file=ctx.err)
        return EXIT_ERROR
    except KeyError:
        print(f"{account.name}: this build has no connector {account.connector!r}", file=ctx.err)
        return EXIT_ERROR
    print(f"{account.name}: ok: {what}", file=ctx.out)
    return EXIT_OK


def _kind(exc: Exception) -> str:
    names = {"AuthError": "sign-in", "TemporaryError": "connection", "PermanentError": "configuration",
             "RateLimited": "rate limited", "SecretUnavailable": "no secret"}
    return names.get(type(exc).__name__, type(exc).__name__)


def run_remove(args: argparse.Namespace, ctx) -> int:
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
