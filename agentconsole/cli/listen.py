"""`agentconsole account listen NAME`: the keywords and hashtags an account follows beyond its @mentions."""

from __future__ import annotations

import argparse
from typing import Any

from agentconsole.accounts import account_by_name
from agentconsole.domain.sanitize import one_line
from agentconsole.listening import terms as listen_terms
from agentconsole.listening.service import set_terms

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
# Channels whose plug-ins listen (the Listens extra); the others say why not.
CANNOT = {"email": "email has no public posts to search", "facebook": "Meta's Graph API has no public post search",
          "instagram": "Meta's Graph API has no public post search"}


def register(actions: Any) -> None:
    listen = actions.add_parser(
        "listen", help="show or set the keywords and hashtags an account follows beyond its @mentions",
        description="Brand talk that does not tag the account lands in the console's Heard view (H), never in "
                    "the waiting counts. Without options, shows what the account follows.")
    listen.add_argument("name")
    listen.add_argument("--keywords", metavar="A,B", help="words or phrases to search for, e.g. 'Acme,Acme Shoes'")
    listen.add_argument("--hashtags", metavar="A,B", help="hashtags to follow, with or without the #")
    listen.add_argument("--interval", metavar="SECONDS", type=float,
                        help=f"seconds between rounds (at least {listen_terms.MIN_INTERVAL:.0f}; default: "
                             f"{listen_terms.DEFAULT_INTERVAL:.0f}, X 900: each post it reads is billed)")
    listen.add_argument("--off", action="store_true", help="stop listening (forget the terms)")
    listen.set_defaults(func=run_listen)


def run_listen(args: argparse.Namespace, ctx: Any) -> int:
    store = ctx.store()
    account = account_by_name(store, args.name)
    if account is None:
        print(f"agentconsole: no account named {args.name!r}", file=ctx.err)
        return EXIT_ERROR
    name = one_line(account.name, 80)
    changing = args.off or args.keywords is not None or args.hashtags is not None or args.interval is not None
    if changing and account.channel in CANNOT and not args.off:
        print(f"agentconsole: {name} cannot listen: {CANNOT[account.channel]}", file=ctx.err)
        return EXIT_USAGE
    if args.off:
        set_terms(store, account.id, listen_terms.parse((), ()))
    elif changing:
        current = listen_terms.of_settings(account.settings)
        try:
            terms = listen_terms.parse(current.keywords if args.keywords is None else args.keywords,
                                       current.hashtags if args.hashtags is None else args.hashtags)
        except listen_terms.TermError as exc:
            print(f"agentconsole: {exc}", file=ctx.err)
            return EXIT_USAGE
        if args.interval is not None and not args.interval >= listen_terms.MIN_INTERVAL:
            print(f"agentconsole: --interval: at least {listen_terms.MIN_INTERVAL:.0f} seconds", file=ctx.err)
            return EXIT_USAGE
        old = (account.settings.get("listen") or {}).get("interval") if isinstance(account.settings.get("listen"),
                                                                                    dict) else None
        set_terms(store, account.id, terms, args.interval if args.interval is not None else old)
    account = account_by_name(store, args.name) or account
    terms = listen_terms.of_settings(account.settings)
    listen = account.settings.get("listen")
    chosen = listen.get("interval") if isinstance(listen, dict) else None
    when = (f", every {float(chosen) / 60:g} min" if chosen else ", at the channel's own pace") if terms else ""
    print(f"{name} ({one_line(account.connector, 40)}) listens for: {listen_terms.describe(terms)}{when}",
          file=ctx.out)
    return EXIT_OK
