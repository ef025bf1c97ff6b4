"""`agentconsole survey`, `csat` and `sentiment`: the satisfaction question on or off per account, CSAT per
channel, agent or week beside the surveyed conversations' first response, and customer sentiment."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from agentconsole import metrics
from agentconsole.domain.sanitize import one_line

if TYPE_CHECKING:
    from agentconsole.cli import CliContext
    from agentconsole.domain.rows import AccountRow
    from agentconsole.satisfaction.service import CsatRow

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    survey = subparsers.add_parser(
        "survey", help="the satisfaction question after a conversation is done, per account",
        description="One short question on the same channel after a conversation is marked done: DMs and "
                    "email only unless --public, at most once per customer per N days, never within a "
                    "day of crisis mode.")
    sub = survey.add_subparsers(dest="survey_command", required=True, metavar="ACTION")
    on = sub.add_parser("enable", help="ask after conversations of ACCOUNT are done")
    on.add_argument("account")
    on.add_argument("--every-days", type=int, default=None, help="at most once per customer in N days (30)")
    on.add_argument("--public", action="store_true", help="ask under public posts too")
    on.add_argument("--question", default=None, help="the question (default: a 1–5 / 👍 👎 question)")
    on.set_defaults(func=run_enable)
    off = sub.add_parser("disable", help="stop asking on ACCOUNT")
    off.add_argument("account")
    off.set_defaults(func=run_disable)
    sub.add_parser("status", help="which accounts ask").set_defaults(func=run_status)
    csat = subparsers.add_parser("csat", help="print customer satisfaction from the surveys",
                                 description="CSAT (share of answers 4 or 5 of 5), mean score and answers, "
                                             "beside the surveyed conversations' median first response.")
    csat.add_argument("--since", default="30d", metavar="PERIOD", help="as for `agentconsole metrics`")
    csat.add_argument("--by", choices=("channel", "agent", "week"), help="a row per channel, agent or week")
    csat.add_argument("--words", action="store_true", help="also print the newest answers' own words")
    csat.set_defaults(func=run_csat)
    mood = subparsers.add_parser("sentiment", help="print customer sentiment per channel and day",
                                 description="Mean sentiment of customers' English messages (VADER; other "
                                             "languages are not scored) per channel and day, and whether "
                                             "customers sounded better after our first reply.")
    mood.add_argument("--since", default="7d", metavar="PERIOD", help="as for `agentconsole metrics`")
    mood.set_defaults(func=run_sentiment)


def _account(ctx: CliContext, name: str) -> AccountRow | None:
    found = [a for a in ctx.store().accounts() if a.name == name]
    if not found:
        print(f"agentconsole: error: no account named {name!r} (see `agentconsole account list`)", file=ctx.err)
        return None
    return found[0]


def run_enable(args: argparse.Namespace, ctx: CliContext) -> int:
    from agentconsole.satisfaction.service import Surveys

    account = _account(ctx, args.account)
    if account is None:
        return EXIT_ERROR
    changes: dict[str, object] = {"enabled": True, "public": args.public}
    if args.every_days is not None:
        changes["every_days"] = args.every_days
    if args.question is not None:
        changes["question"] = one_line(args.question, 500)
    try:
        s = Surveys(ctx.store()).configure(account.id, **changes)
    except ValueError as exc:
        print(f"agentconsole: error: survey: {exc}", file=ctx.err)
        return EXIT_USAGE
    where = "DMs, email and public posts" if s.public else "DMs and email"
    print(f"{account.name}: asking in {where}, at most once per customer in {s.every_days} days", file=ctx.out)
    return EXIT_OK


def run_disable(args: argparse.Namespace, ctx: CliContext) -> int:
    from agentconsole.satisfaction.service import Surveys

    account = _account(ctx, args.account)
    if account is None:
        return EXIT_ERROR
    Surveys(ctx.store()).configure(account.id, enabled=False)
    print(f"{account.name}: not asking", file=ctx.out)
    return EXIT_OK


def run_status(args: argparse.Namespace, ctx: CliContext) -> int:
    from agentconsole.satisfaction.service import Surveys

    surveys = Surveys(ctx.store())
    for account in ctx.store().accounts():
        s = surveys.settings(account.id)
        state = (f"asks ({'public too' if s.public else 'DMs and email'}, every {s.every_days} days)"
                 if s.enabled else "off")
        print(f"{account.name}: {state}", file=ctx.out)
    return EXIT_OK


def run_csat(args: argparse.Namespace, ctx: CliContext) -> int:
    from agentconsole.satisfaction.service import Surveys

    try:
        per = metrics.period(args.since, ctx.clock.now(), ctx.config.timezone or "UTC")
    except metrics.PeriodError as exc:
        print(f"agentconsole: error: csat: {exc}", file=ctx.err)
        return EXIT_USAGE
    surveys = Surveys(ctx.store())
    rows = surveys.csat(per.start, per.end) + (surveys.csat(per.start, per.end, args.by) if args.by else [])
    print(f"Satisfaction {per.label} ({per.timezone})", file=ctx.out)
    if not rows:
        print("no survey answers in this period", file=ctx.out)
        return EXIT_OK
    for line in csat_lines(rows):
        print(line, file=ctx.out)
    if args.words:
        for score, channel, words in surveys.words(per.start, per.end):
            print(f"{score}/5 {channel}: {one_line(words, 200)}", file=ctx.out)
    return EXIT_OK


def csat_lines(rows: list[CsatRow]) -> list[str]:
    """CSAT rows (satisfaction.service.CsatRow) as a table: answers, CSAT, mean score and the surveyed
    conversations' median first response beside them; `csat` and `metrics` both print it."""
    table = [["", "answers", "CSAT", "mean", "1st resp"]]
    for r in rows:
        table.append([one_line(r.key, 24), str(r.answers), metrics.fmt_pct(r.csat), f"{r.mean:.1f}",
                      metrics.fmt_duration(r.first_response_median_s)])
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    return ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths)))
            .rstrip() for line in table]


def run_sentiment(args: argparse.Namespace, ctx: CliContext) -> int:
    from agentconsole.triage.service import Triage

    try:
        per = metrics.period(args.since, ctx.clock.now(), ctx.config.timezone or "UTC")
    except metrics.PeriodError as exc:
        print(f"agentconsole: error: sentiment: {exc}", file=ctx.err)
        return EXIT_USAGE
    triage = Triage(ctx.store())
    print(f"Sentiment {per.label} (English customer messages, UTC days)", file=ctx.out)
    days = triage.sentiment_by_day(per.start, per.end)
    if not days:
        print("no English customer messages in this period", file=ctx.out)
    for d in days:
        print(f"{d.day}  {one_line(d.channel, 12):<12} {d.messages:>6} messages  mean {d.mean:+.2f}"
              f"  negative {d.negative}", file=ctx.out)
    for a in triage.after_reply(per.start, per.end):
        print(f"after our first reply, {a.channel}: better in {a.improved} of {a.conversations}"
              f" ({a.before:+.2f} -> {a.after:+.2f})", file=ctx.out)
    return EXIT_OK
