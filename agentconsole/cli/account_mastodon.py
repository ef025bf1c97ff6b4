"""`agentconsole account add mastodon`: authorise an account, check it and save it with its secret."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from connectors.mastodon import connector as mastodon
from connectors.mastodon.client import normalise_instance

from agentconsole.domain.errors import ConnectorError
from agentconsole.domain.models import Channel
from agentconsole.domain.sanitize import one_line
from agentconsole.secrets import SecretUnavailable, env_var_name, load_secret, store_secret


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--instance", required=True, metavar="URL",
                        help="the Mastodon server, e.g. https://mastodon.social")
    parser.add_argument("--name", help="account name in agentconsole (default: user@host)")
    how = parser.add_mutually_exclusive_group()
    how.add_argument("--token-stdin", action="store_true",
                     help="read an existing access token from standard input instead of authorising")
    how.add_argument("--token-command", metavar="CMD",
                     help="a command that prints the access token (e.g. 'pass show social/mastodon'); "
                          "kept as the account's password_command, for hosts without a keyring")


def add(args: argparse.Namespace, ctx: Any) -> int:
    """Run the set-up; 0 when the account is saved, 1 when something failed, 2 on bad input."""
    try:
        instance = normalise_instance(args.instance)
    except ValueError as exc:
        _say(ctx.err, f"error: {exc}")
        return 2
    try:
        return asyncio.run(_add(args, ctx, instance))
    except (ConnectorError, SecretUnavailable) as exc:
        _say(ctx.err, f"error: {exc}")
        return 1


async def _add(args: argparse.Namespace, ctx: Any, instance: str) -> int:
    stdin = getattr(ctx, "stdin", None) or sys.stdin
    provisional = args.name or "mastodon"
    if args.token_command:
        token = load_secret(provisional, {"password_command": args.token_command})
    elif args.token_stdin:
        token = stdin.readline().strip()
        if not token:
            _say(ctx.err, "error: no token on standard input")
            return 1
    else:
        token = await _authorise(instance, ctx, stdin)
        if not token:
            return 1
    connector = mastodon.MastodonConnector(instance, token, ctx.clock)
    try:
        description = await connector.check()
    finally:
        await connector.close()
    acct = mastodon.full_acct(connector.own_acct, connector.local_host)
    name = args.name or acct
    settings: dict[str, Any] = {"instance": instance, "account_id": connector.own_id,
                                "max_characters": connector.capabilities.max_length}
    if args.token_command:
        settings["password_command"] = args.token_command
        where = "fetched by the token command (nothing stored)"
    else:
        try:
            where = store_secret(name, token)
        except SecretUnavailable as exc:
            _say(ctx.err, f"error: the token could not be stored: {exc}. Re-run with "
                          f"--token-command CMD, or export {env_var_name(name)} and use --token-stdin.")
            return 1
    store = ctx.store(demo=False)
    store.ensure_account(name, Channel.MASTODON, "mastodon", handle=one_line("@" + acct, 200),
                         display_name=one_line(connector.own_display_name, 200), settings=settings)
    _say(ctx.out, f"added Mastodon account '{name}': {description}; token: {where}")
    return 0


async def _authorise(instance: str, ctx: Any, stdin) -> str:
    client_id, client_secret = await mastodon.register_app(instance)
    _say(ctx.out, "Open this address in a browser, approve agentconsole, then paste the code shown:")
    _say(ctx.out, mastodon.authorize_url(instance, client_id))
    _say(ctx.out, "code: ", end="")
    code = stdin.readline().strip()
    if not code:
        _say(ctx.err, "error: no authorisation code entered")
        return ""
    return await mastodon.exchange_code(instance, client_id, client_secret, code)


def _say(stream: Any, text: str, end: str = "\n") -> None:
    if hasattr(stream, "write"):
        stream.write(text + end)
        if hasattr(stream, "flush"):
            stream.flush()
    else:  # a print-like callable
        stream(text)
