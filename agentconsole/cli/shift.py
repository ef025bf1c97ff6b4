"""`agentconsole shift start|end|status|history`: the shift hand-off from the command line."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from agentconsole.domain.models import Channel
from agentconsole.shifts.banner import build_banner, describe_posts, history_line
from agentconsole.shifts.times import next_at, short_time
from agentconsole.shifts.service import ASSIGNMENTS, Shifts, ShiftError
from agentconsole.response.sla import format_wait
from agentconsole.replies.templates import TemplateError

if TYPE_CHECKING:
    from agentconsole.cli import CliContext
    from agentconsole.domain.clock import Clock
    from agentconsole.domain.models import Capabilities
    from agentconsole.storage.store import Store

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    shift = subparsers.add_parser("shift", help="start or end a shift, see who is on shift and the history")
    sub = shift.add_subparsers(dest="shift_command", required=True, metavar="ACTION")
    start = sub.add_parser("start", help="start your shift: read the hand-off note, post the hello")
    start.add_argument("--until", metavar="HH:MM", help="planned end, in your timezone")
    start.add_argument("--accounts", metavar="A,B", help="accounts that get the hello (default: settings)")
    start.add_argument("--no-post", action="store_true", help="post nothing")
    end = sub.add_parser("end", help="end your shift: goodbye post and hand-off note")
    end.add_argument("--next", metavar="NAME", help="who takes over")
    end.add_argument("--next-start", metavar="HH:MM", help="when the next shift starts, in your timezone")
    end.add_argument("--note", metavar="TEXT", help="free text added to the automatic hand-off note")
    end.add_argument("--assign", choices=ASSIGNMENTS, default="keep",
                     help="your open assignments: keep them, hand them to --next, or unassign them")
    end.add_argument("--accounts", metavar="A,B", help="accounts that get the goodbye (default: the hello's)")
    end.add_argument("--no-post", action="store_true", help="post nothing")
    sub.add_parser("status", help="who is on shift now")
    nxt = sub.add_parser("next", help="say who takes over after you (shown in the banner)")
    nxt.add_argument("name", help="the next agent's name")
    nxt.add_argument("--at", metavar="HH:MM", help="when they start, in your timezone")
    settings = sub.add_parser("settings", help="per account: hello by default, templates, away reply")
    settings.add_argument("account", nargs="?", help="the account to show or change (default: list all)")
    settings.add_argument("--hello", choices=("on", "off"), help="gets the hello by default")
    settings.add_argument("--away", choices=("on", "off"), help="away reply while nobody is on shift")
    settings.add_argument("--hello-template", metavar="TEXT")
    settings.add_argument("--goodbye-template", metavar="TEXT", help="empty restores the default")
    settings.add_argument("--away-template", metavar="TEXT")
    history = sub.add_parser("history", help="past shifts with answers and median first response")
    history.add_argument("--limit", type=int, default=20, help="how many shifts (default 20)")
    for parser in (start, end, sub.choices["status"], nxt, history, settings):
        parser.add_argument("--demo", action="store_true", default=argparse.SUPPRESS, help="the demo workspace")
        parser.set_defaults(func=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from agentconsole.cli import use_demo

    store = ctx.store(use_demo(args))
    shifts = Shifts(store, _capabilities(store, ctx.clock))
    name = getattr(args, "agent", None) or ctx.config.resolved_agent_name()
    agent_id = store.ensure_agent(name, ctx.config.agent_initials, ctx.config.timezone)
    timezone = store.agent(agent_id).timezone
    try:
        if args.shift_command == "start":
            return _start(args, ctx, shifts, agent_id, timezone)
        if args.shift_command == "end":
            return _end(args, ctx, shifts, agent_id, timezone)
        if args.shift_command == "history":
            return _history(args, ctx, shifts, timezone)
        if args.shift_command == "settings":
            return _settings(args, ctx, shifts)
        if args.shift_command == "next":
            return _next(args, ctx, shifts, agent_id, timezone)
        print(build_banner(shifts, timezone).text(), file=ctx.out)
        return EXIT_OK
    except ShiftError as exc:
        print(f"agentconsole: error: shift: {exc}", file=ctx.err)
        return EXIT_ERROR


def _capabilities(store: Store, clock: Clock) -> dict[int, Capabilities]:
    """What each account can do, from its plug-in's declaration: no connector is built, no secret read."""
    from agentconsole.channels import registry

    found: dict[int, Capabilities] = {}
    for account in store.accounts():
        try:
            found[account.id] = registry.capabilities(account)
        except registry.UnknownPlugin:  # judged by channel, like an account whose plug-in is missing
            continue
    return found


def _chosen(spec: str | None, shifts: Shifts, default: set[int]) -> set[int]:
    if spec is None:
        return default
    by_name = {s.account.name: s.account.id for s in shifts.accounts()}
    names = [n.strip() for n in spec.split(",") if n.strip()]
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise _Usage(f"unknown account(s): {', '.join(unknown)}; known: {', '.join(sorted(by_name))}")
    return {by_name[n] for n in names}


class _Usage(Exception):
    pass


def _start(args: argparse.Namespace, ctx: CliContext, shifts: Shifts, agent_id: int, timezone: str) -> int:
    now = shifts.clock.now()
    try:
        planned_end = next_at(args.until, timezone, now) if args.until else None
        settings = shifts.accounts()
        chosen = set() if args.no_post else _chosen(args.accounts, shifts,
                                                     {s.account.id for s in settings if s.hello})
    except (ValueError, _Usage) as exc:
        print(f"agentconsole: error: shift start: {exc}", file=ctx.err)
        return EXIT_USAGE
    notes = shifts.pending_handoffs()
    for shift in notes:
        print(f"Hand-off from {shift.agent_name} (shift ended {short_time(shift.ended_at, timezone, now)}):",
              file=ctx.out)
        print(shift.handoff_note, file=ctx.out)
        print("", file=ctx.out)
    hello = {s.account.id: s.hello_template for s in settings if s.account.id in chosen}
    result = shifts.start(agent_id, planned_end=planned_end, hello=hello, acknowledge=[s.id for s in notes])
    until = f" until {short_time(planned_end, timezone, now)}" if planned_end else ""
    print(f"Shift started at {short_time(now, timezone, now)}{until}.", file=ctx.out)
    _print_posts(ctx, shifts, result.shift.id, "hello")
    return EXIT_OK


def _end(args: argparse.Namespace, ctx: CliContext, shifts: Shifts, agent_id: int, timezone: str) -> int:
    now = shifts.clock.now()
    current = shifts.current(agent_id)
    if current is None:
        raise ShiftError("you are not on shift")
    try:
        next_start = next_at(args.next_start, timezone, now) if args.next_start else None
        chosen = set() if args.no_post else _chosen(args.accounts, shifts, set(shifts.hello_accounts(current.id)))
    except (ValueError, _Usage) as exc:
        print(f"agentconsole: error: shift end: {exc}", file=ctx.err)
        return EXIT_USAGE
    goodbye = {s.account.id: s.goodbye_for(bool(args.next)) for s in shifts.accounts()
               if s.account.id in chosen}
    note = shifts.draft_note()
    if args.note:
        note += "\n\n" + args.note
    result = shifts.end(agent_id, goodbye=goodbye, next_agent=args.next, next_start=next_start, note=note,
                        assignments=args.assign)
    print(f"Shift ended at {short_time(now, timezone, now)}"
          f" ({format_wait(now - result.shift.started_at)}).", file=ctx.out)
    _print_posts(ctx, shifts, result.shift.id, "goodbye")
    if args.assign != "keep":
        target = f"to {result.shift.next_agent}" if args.assign == "next" else "unassigned"
        if result.held:  # nobody is assigned work while off shift
            target = f"wait unassigned until {result.shift.next_agent} starts a shift, then go to them"
        print(f"{result.reassigned} assigned conversation(s) {target}.", file=ctx.out)
    print("Hand-off note:", file=ctx.out)
    print(result.shift.handoff_note, file=ctx.out)
    return EXIT_OK


def _print_posts(ctx: CliContext, shifts: Shifts, shift_id: int, kind: str) -> None:
    posts = shifts.posts(shift_id, kind)
    print("".join(text for text, _ in describe_posts(kind, posts)) + ".", file=ctx.out)
    for post in posts:
        if post.outbox_id is not None:
            print(f"  {post.account_name}: {shifts.outbox.item(post.outbox_id).text}", file=ctx.out)
    if any(p.state in ("pending", "sending") for p in posts):
        print("  (queued posts go out from the running console or `agentconsole sync --once`)", file=ctx.out)


def _history(args: argparse.Namespace, ctx: CliContext, shifts: Shifts, timezone: str) -> int:
    now = shifts.clock.now()
    records = shifts.history(max(1, args.limit))
    if not records:
        print("No shifts yet.", file=ctx.out)
        return EXIT_OK
    for record in records:
        print(history_line(record, timezone, now), file=ctx.out)
    return EXIT_OK


def _settings(args: argparse.Namespace, ctx: CliContext, shifts: Shifts) -> int:
    by_name = {s.account.name: s for s in shifts.accounts()}
    if args.account is not None and args.account not in by_name:
        print(f"agentconsole: error: shift settings: unknown account {args.account!r}; known: "
              f"{', '.join(sorted(by_name)) or 'none'}", file=ctx.err)
        return EXIT_USAGE
    changes = {"hello": None if args.hello is None else args.hello == "on",
               "away": None if args.away is None else args.away == "on",
               "hello_template": args.hello_template, "goodbye_template": args.goodbye_template,
               "away_template": args.away_template}
    if any(v is not None for v in changes.values()):
        if args.account is None:
            print("agentconsole: error: shift settings: name the account to change", file=ctx.err)
            return EXIT_USAGE
        try:
            shifts.configure(by_name[args.account].account.id, **changes)
        except TemplateError as exc:
            print(f"agentconsole: error: shift settings: {exc}", file=ctx.err)
            return EXIT_USAGE
        by_name = {s.account.name: s for s in shifts.accounts()}
    for name, s in sorted(by_name.items()):
        if args.account is not None and name != args.account:
            continue
        hello = ("hello on" if s.hello else "hello off") if s.can_post else f"no posts ({s.why_not})"
        print(f"{name} ({Channel(s.account.channel).label}): {hello} · away {'on' if s.away else 'off'}",
              file=ctx.out)
        if s.can_post:
            print(f"  hello: {s.hello_template}", file=ctx.out)
            print(f"  goodbye: {s.goodbye_template or 'the default, naming the next agent when known'}",
                  file=ctx.out)
        print(f"  away: {s.away_template}", file=ctx.out)
    return EXIT_OK


def _next(args: argparse.Namespace, ctx: CliContext, shifts: Shifts, agent_id: int, timezone: str) -> int:
    try:
        at = next_at(args.at, timezone, shifts.clock.now()) if args.at else None
    except ValueError as exc:
        print(f"agentconsole: error: shift next: {exc}", file=ctx.err)
        return EXIT_USAGE
    shifts.set_next(agent_id, args.name, at)
    print(build_banner(shifts, timezone).text(), file=ctx.out)
    return EXIT_OK
