"""`agentconsole account add email`: an IMAP + SMTP mailbox, its password kept out of config and DB."""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from agentconsole import secrets
from agentconsole.accounts import EmailDraft, account_by_name
from agentconsole.domain.clock import Clock
from agentconsole.domain.errors import PermanentError
from agentconsole.domain.models import Channel
from agentconsole.storage.store import Store

HELP = "an email mailbox (IMAP to receive, SMTP to send)"
EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


class SetupError(Exception):
    """The account cannot be saved as it is; the message says why and what to do."""

    def __init__(self, message: str, usage: bool = False) -> None:
        super().__init__(message)
        self.usage = usage


def validate(draft: EmailDraft) -> None:
    from connectors.email.settings import EmailSettings

    if not draft.name.strip():
        raise SetupError("the account needs a name", usage=True)
    try:
        EmailSettings.from_mapping(draft.settings())
    except (PermanentError, ValueError) as exc:
        raise SetupError(str(exc), usage=True) from exc


def save_email_account(store: Store, draft: EmailDraft, password: str | None) -> str:
    """Check *draft*, put the password where it belongs, add the account; returns where the password
    lives. Raises SetupError (nothing saved) when any of it cannot be done."""
    validate(draft)
    if account_by_name(store, draft.name) is not None:
        raise SetupError(f"an account named {draft.name!r} exists; remove it first "
                         f"(agentconsole account remove {draft.name})")
    settings = draft.settings()
    if draft.password_command:
        try:
            secrets.load_secret(draft.name, settings)
        except secrets.SecretUnavailable as exc:
            raise SetupError(str(exc)) from exc
        where = f"from the command {draft.password_command!r}"
    elif password:
        try:
            where = secrets.store_secret(draft.name, password)
        except secrets.SecretUnavailable as exc:
            raise SetupError(f"the password was not saved: {exc}") from exc
    elif os.environ.get(secrets.env_var_name(draft.name)):
        where = f"from ${secrets.env_var_name(draft.name)}"
    else:
        raise SetupError("no password given: use --password-stdin, --password-command CMD, "
                         f"export {secrets.env_var_name(draft.name)}, or run interactively to be asked")
    store.ensure_account(draft.name, Channel.EMAIL, "email", handle=settings["address"].lower(),
                         display_name=draft.display_name, settings=settings)
    return where


async def check_email_account(draft: EmailDraft, password: str | None, clock: Clock) -> str:
    """Log in over IMAP and SMTP with *draft* before it is saved; raises the connector's typed errors
    (or SetupError) naming exactly what failed."""
    from connectors.email.connector import EmailConnector
    from connectors.email.settings import EmailSettings

    validate(draft)
    settings = draft.settings()
    if not password:
        try:
            password = secrets.load_secret(draft.name, settings)
        except secrets.SecretUnavailable as exc:
            raise SetupError(str(exc)) from exc
    connector = EmailConnector(EmailSettings.from_mapping(settings), clock, lambda: password,
                               account_name=draft.name)
    try:
        return await connector.check()
    finally:
        await connector.close()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", required=True, help="a short name for the account, e.g. support")
    parser.add_argument("--address", required=True, help="the mailbox's address, e.g. support@shop.example")
    parser.add_argument("--display-name", default="", help="the name shown on replies")
    parser.add_argument("--imap-host", required=True)
    parser.add_argument("--imap-port", type=int, default=993, help="993 (TLS, default) or 143 (STARTTLS)")
    parser.add_argument("--imap-tls", choices=("implicit", "starttls", "plain"),
                        help="default: implicit on 993, else starttls")
    parser.add_argument("--smtp-host", required=True)
    parser.add_argument("--smtp-port", type=int, default=587, help="587 (STARTTLS, default) or 465 (TLS)")
    parser.add_argument("--smtp-tls", choices=("implicit", "starttls", "plain"),
                        help="default: implicit on 465, else starttls")
    parser.add_argument("--username", help="login name (default: the address)")
    parser.add_argument("--folders", default="INBOX", help="comma-separated folders to read (default INBOX)")
    parser.add_argument("--sent-folder", default="",
                        help="where sent replies are filed (default: the server's Sent folder)")
    parser.add_argument("--no-append-sent", action="store_true",
                        help="do not file a copy of each reply in the sent folder (the server does it)")
    parser.add_argument("--quote", choices=("none", "below"), default="",
                        help="quote the customer's message below each reply (default: none)")
    parser.add_argument("--tls-ca-file", default="", help="trust this CA certificate (private servers)")
    parser.add_argument("--allow-plain", action="store_true",
                        help="allow unencrypted connections (only to localhost; for testing)")
    secret = parser.add_mutually_exclusive_group()
    secret.add_argument("--password-stdin", action="store_true",
                        help="read the password from standard input (first line)")
    secret.add_argument("--password-command", metavar="CMD",
                        help="run CMD to get the password each time, e.g. 'pass show shop/imap'")


def add(args: argparse.Namespace, ctx) -> int:
    draft = EmailDraft(
        name=args.name, address=args.address, imap_host=args.imap_host, smtp_host=args.smtp_host,
        username=args.username or "", imap_port=args.imap_port, smtp_port=args.smtp_port,
        imap_tls=args.imap_tls or "", smtp_tls=args.smtp_tls or "", display_name=args.display_name,
        folders=tuple(args.folders.split(",")), sent_folder=args.sent_folder,
        append_sent=not args.no_append_sent, tls_ca_file=args.tls_ca_file, allow_plain=args.allow_plain,
        password_command=args.password_command or "", quote=args.quote)
    try:
        validate(draft)
        password = None
        if args.password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
            if not password:
                raise SetupError("the password read from standard input is empty")
        elif not args.password_command and sys.stdin.isatty():
            password = getpass.getpass(f"Password for {draft.username or draft.address}: ")
        where = save_email_account(ctx.store(), draft, password)
    except SetupError as exc:
        print(f"agentconsole: {exc}", file=ctx.err)
        return EXIT_USAGE if exc.usage else EXIT_ERROR
    print(f"added email account {args.name!r} ({draft.address.strip()}); password: {where}", file=ctx.out)
    print(f"check it with: agentconsole account test {args.name}", file=ctx.out)
    return EXIT_OK
