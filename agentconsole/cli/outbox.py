"""`agentconsole outbox list|decide`: see unsettled sends and make the call on those that may have been sent."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, TextIO

from agentconsole.domain.sanitize import one_line
from agentconsole.replies.outbox import DECIDABLE, Outbox, OutboxRow, describe_state

if TYPE_CHECKING:
    from agentconsole.cli import CliContext

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
DECISIONS = {"resend": "resend", "mark-sent": "mark_sent", "discard": "discard"}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("outbox", help="list unsettled sends; decide about those that may have been sent")
    sub = parser.add_subparsers(dest="outbox_command", required=True, metavar="ACTION")
    listing = sub.add_parser("list", help="every send not settled yet (queued, sending, awaiting a decision)")
    listing.add_argument("--decide", action="store_true", help="only the sends awaiting your decision")
    listing.add_argument("--demo", action="store_true", help="the demo workspace")
    listing.set_defaults(func=run_list)
    decide = sub.add_parser("decide", help="settle a send that may have been sent, was refused or cancelled")
    decide.add_argument("id", type=int, help="the outbox item's number, as `outbox list` shows it")
    decide.add_argument("decision", choices=tuple(DECISIONS),
                        help="resend it, record it as sent (you saw it arrived), or discard it")
    decide.add_argument("--demo", action="store_true", help="the demo workspace")
    decide.set_defaults(func=run_decide)


def item_line(item: OutboxRow, account: str, now: float) -> str:
    """One item as a line: number, account, action, state in words, the reason, and the text's start."""
    line = f"#{item.id} {one_line(account, 40)} {item.action}: {describe_state(item, now)}"
    if item.last_error and item.state != "sent":
        line += f" ({one_line(item.last_error, 200)})"
    return line + f" \u2014 {one_line(item.text, 60)!r}"


def write_items(out: TextIO, items: list[OutboxRow], names: dict[int, str], now: float) -> None:
    for item in items:
        print(item_line(item, names.get(item.account_id, str(item.account_id)), now), file=out)


def run_list(args: argparse.Namespace, ctx: CliContext) -> int:
    from agentconsole.cli import use_demo  # the composition root; imported here so the core never loads it

    store = ctx.store(use_demo(args))
    outbox = Outbox(store)
    items = outbox.needing_decision() if args.decide else outbox.unsettled()
    names = {a.id: a.name for a in store.accounts()}
    if not items:
        print("nothing awaits a decision" if args.decide else "the outbox is empty: everything was sent",
              file=ctx.out)
        return EXIT_OK
    write_items(ctx.out, items, names, ctx.clock.now())
    if any(i.state in DECIDABLE for i in items):
        print("decide with: agentconsole outbox decide ID resend|mark-sent|discard", file=ctx.out)
    return EXIT_OK


def run_decide(args: argparse.Namespace, ctx: CliContext) -> int:
    from agentconsole.cli import use_demo

    store = ctx.store(use_demo(args))
    outbox = Outbox(store)
    try:
        item = outbox.item(args.id)
    except (KeyError, TypeError):
        print(f"agentconsole outbox: there is no outbox item #{args.id}", file=ctx.err)
        return EXIT_ERROR
    if item.state not in DECIDABLE:
        print(f"agentconsole outbox: #{item.id} is {describe_state(item, ctx.clock.now())}; only sends that "
              f"may have been sent, were refused or cancelled take a decision", file=ctx.err)
        return EXIT_ERROR
    agent = getattr(args, "agent", None) or ctx.config.resolved_agent_name()
    agent_id = store.ensure_agent(agent, ctx.config.agent_initials, ctx.config.timezone)
    outbox.decide(item.id, DECISIONS[args.decision], agent_id)
    after = outbox.item(item.id)
    print(f"#{item.id}: {describe_state(after, ctx.clock.now())}"
          + (" (the next sync sends it)" if after.state == "pending" else ""), file=ctx.out)
    return EXIT_OK
