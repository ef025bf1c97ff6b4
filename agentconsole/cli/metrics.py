"""`agentconsole metrics`: the metrics screen's figures as a text table or CSV, for scripts."""

from __future__ import annotations

import argparse
import csv
from datetime import datetime
from typing import TYPE_CHECKING, TextIO
from zoneinfo import ZoneInfo

from agentconsole import metrics
from agentconsole.domain.sanitize import one_line

if TYPE_CHECKING:
    from agentconsole.cli import CliContext
    from agentconsole.storage.store import Store

EXIT_OK, EXIT_USAGE = 0, 2

CSV_FIELDS = (
    "period_start", "period_end", "group", "key", "label", "conversations", "answered", "response_rate",
    "repeat_contacts", "opened", "first_responses", "first_response_median_s", "first_response_p90_s",
    "first_response_median_open_s", "first_response_p90_open_s", "resolved", "resolution_median_s",
    "resolution_median_open_s", "canned", "edited", "personal",
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "metrics", help="print response-time metrics",
        description="First response, resolution, response rate, repeat contacts and canned replies "
                    "for a period, in total or per channel or agent.")
    parser.add_argument("--since", default="7d", metavar="PERIOD",
                        help="today, 7d, 30d (any 1-366d), a date 2026-11-01, or 2026-11-01..2026-11-15")
    parser.add_argument("--by", choices=("channel", "agent"), help="add a row per channel or per agent")
    parser.add_argument("--csv", action="store_true", help="write CSV (durations in seconds)")
    parser.add_argument("--demo", action="store_true", default=argparse.SUPPRESS,
                        help="report on the demo workspace (the default until a real account exists)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from agentconsole.cli import use_demo  # the composition root; imported here so the core never loads it

    tz = ctx.config.timezone or "UTC"
    try:
        per = metrics.period(args.since, ctx.clock.now(), tz)
    except metrics.PeriodError as exc:
        print(f"agentconsole: error: metrics: {exc}", file=ctx.err)
        return EXIT_USAGE
    groups = (args.by,) if args.by else ()
    report = metrics.report(ctx.store(use_demo(args)), per, ctx.config.hours, groups)
    rows = [("all", report.total)] + [(args.by, f) for f in
                                      (report.by_channel if args.by == "channel" else report.by_agent)]
    if args.csv:
        write_csv(ctx.out, report, rows)
    else:
        write_text(ctx.out, report, rows, show_open=ctx.config.hours.any)
        write_csat(ctx.out, ctx.store(use_demo(args)), per)
    return EXIT_OK


def write_csat(out: TextIO, store: Store, per: metrics.Period) -> None:
    """CSAT in total and per channel, agent and week, beside the surveyed conversations' first response,
    so speed and satisfaction are read together (nothing when no survey was answered in the period)."""
    from agentconsole.cli.survey import csat_lines
    from agentconsole.satisfaction.service import Surveys

    surveys = Surveys(store)
    rows = surveys.csat(per.start, per.end)
    if not rows:
        return
    for by in ("channel", "agent", "week"):
        rows += surveys.csat(per.start, per.end, by)
    print("", file=out)
    print("satisfaction (survey answers)", file=out)
    for line in csat_lines(rows):
        print(line, file=out)


def write_csv(out: TextIO, report: metrics.Report, rows: list[tuple[str, metrics.Figures]]) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    start, end = (_iso(report.period.start, report.period.timezone), _iso(report.period.end,
                                                                           report.period.timezone))
    for group, f in rows:
        writer.writerow([
            start, end, group, f.key, one_line(f.label, 80), _n(f.conversations), _n(f.answered),
            _n(None if f.response_rate is None else round(f.response_rate, 4)), _n(f.repeat_contacts),
            _n(f.opened), f.first_responses, _n(f.first_response_median), _n(f.first_response_p90),
            _n(f.first_response_median_open), _n(f.first_response_p90_open), f.resolved,
            _n(f.resolution_median), _n(f.resolution_median_open), f.canned, f.edited, f.personal,
        ])


def write_text(out: TextIO, report: metrics.Report, rows: list[tuple[str, metrics.Figures]],
               show_open: bool) -> None:
    per = report.period
    first, last = per.days[0].day, per.days[-1].day
    span = first.isoformat() if first == last else f"{first.isoformat()} – {last.isoformat()}"
    print(f"Metrics {per.label}: {span} ({per.timezone})", file=out)
    header = ["", "conv", "rate", "repeat", "opened", "1st resp", "median", "p90"]
    if show_open:
        header += ["median*", "p90*"]
    header += ["resolved", "median", "canned", "edited", "personal"]
    table = [header]
    for _, f in rows:
        line = [one_line(f.label, 24), metrics.fmt_count(f.conversations), metrics.fmt_pct(f.response_rate),
                metrics.fmt_count(f.repeat_contacts), metrics.fmt_count(f.opened), str(f.first_responses),
                metrics.fmt_duration(f.first_response_median), metrics.fmt_duration(f.first_response_p90)]
        if show_open:
            line += [metrics.fmt_duration(f.first_response_median_open), metrics.fmt_duration(f.first_response_p90_open)]
        line += [str(f.resolved), metrics.fmt_duration(f.resolution_median), metrics.fmt_pct(f.share("canned")),
                 metrics.fmt_pct(f.share("edited")), metrics.fmt_pct(f.share("personal"))]
        table.append(line)
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for r in table:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
                        ).rstrip(), file=out)
    if show_open:
        print("* counted in business hours only", file=out)
    print("", file=out)
    print("day         opened  resolved", file=out)
    for day, opened, resolved in zip(per.days, report.opened_per_day, report.resolved_per_day, strict=True):
        print(f"{day.day.isoformat()}  {opened:6d}  {resolved:8d}", file=out)
    busiest = report.busiest_hours(3)
    if busiest:
        print("", file=out)
        print("busiest hours: " + ", ".join(f"{d} {h:02d}:00 ({n})" for d, h, n in busiest), file=out)


def _iso(ts: float, tz: str) -> str:
    return datetime.fromtimestamp(ts, ZoneInfo(tz)).isoformat(timespec="seconds")


def _n(value: object) -> object:
    return "" if value is None else value


