"""`agentconsole account add email`: an IMAP + SMTP mailbox, its password kept out of config and DB."""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from . import secrets
from .errors import PermanentError
from .models import Channel

HELP = "an email mailbox (IMAP to receive, SMTP to send)"
EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


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
    parser.add_argument("--tls-ca-file", default="", help="trust this CA certificate (private servers)")
    parser.add_argument("--allow-plain", action="store_true",
                        help="allow unencrypted connections (only to localhost; for testing)")
    secret = parser.add_mutually_exclusive_group()
    secret.add_argument("--password-stdin", action="store_true",
                        help="read the password from standard input (first line)")
    secret.add_argument("--password-command", metavar="CMD",
                        help="run CMD to get the password each time, e.g. 'pass show shop/imap'")


def add(args: argparse.Namespace, ctx) -> int:
    from connectors.email.settings import EmailSettings

    settings: dict = {
        "address": args.address.strip(),
        "imap_host": args.imap_host, "imap_port": args.imap_port,
        "smtp_host": args.smtp_host, "smtp_port": args.smtp_port,
        "username": args.username or args.address.strip(),
        "folders": [f.strip() for f in args.folders.split(",") if f.strip()] or ["INBOX"],
        "append_sent": not args.no_append_sent,
    }
    if args.sent_folder:
        settings["sent_folder"] = args.sent_folder
    for key in ("imap_tls", "smtp_tls"):
        if getattr(args, key):
            settings[key] = getattr(args, key)
    if args.display_name:
        settings["display_name"] = args.display_name
    if args.tls_ca_file:
        settings["tls_ca_file"] = args.tls_ca_file
    if args.allow_plain:
        settings["allow_plain"] = True
    try:
        EmailSettings.from_mapping(settings)
    except (PermanentError, ValueError) as exc:
        print(f"agentconsole: {exc}", file=ctx.err)
        return EXIT_USAGE

    store = ctx.store()
    if any(a.name == args.name for a in store.accounts()):
        print(f"agentconsole: an account named {args.name!r} exists; remove it first "
              f"(agentconsole account remove {args.name})", file=ctx.err)
        return EXIT_ERROR

    where = _keep_secret(args, settings, ctx)
    if where is None:
        return EXIT_ERROR
    store.ensure_account(args.name, Channel.EMAIL, "email", handle=settings["address"].lower(),
                         display_name=args.display_name, settings=settings)
    print(f"added email account {args.name!r} ({settings['address']}); password: {where}", file=ctx.out)
    print(f"check it with: agentconsole account test {args.name}", file=ctx.out)
    return EXIT_OK


def _keep_secret(args: argparse.Namespace, settings: dict, ctx) -> str | None:
    """Put the password where it belongs and say where; None (after explaining) when it cannot be."""
    if args.password_command:
        settings["password_command"] = args.password_command
        try:
            secrets.load_secret(args.name, settings)
        except secrets.SecretUnavailable as exc:
            print(f"agentconsole: {exc}", file=ctx.err)
            return None
        return f"from the command {args.password_command!r}"
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = getpass.getpass(f"Password for {settings['username']}: ")
    elif secrets.env_var_name(args.name) in os.environ:
        return f"from ${secrets.env_var_name(args.name)}"
    else:
        print("agentconsole: no password given: use --password-stdin, --password-command CMD, "
              f"export {secrets.env_var_name(args.name)}, or run interactively to be asked",
              file=ctx.err)
        return None
    if not password:
        print("agentconsole: the password is empty", file=ctx.err)
        return None
    try:
        return secrets.store_secret(args.name, password)
    except secrets.SecretUnavailable as exc:
        print(f"agentconsole: the password was not saved: {exc}", file=ctx.err)
        return None

