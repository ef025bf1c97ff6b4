"""`agentconsole metrics`: the text table and the CSV carry the same figures as the report."""

from __future__ import annotations

import argparse
import csv
import io
import subprocess
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from agentconsole import metrics

from agentconsole.cli import metrics as cli_metrics
from agentconsole.domain.clock import FrozenClock
from agentconsole.config import Config
from agentconsole.response.hours import BusinessHours, HoursConfig
from agentconsole.storage.store import Store

from tests.core.metrics_timeline import NOW, build


@dataclass
class FakeContext:
    config: Config
    clock: FrozenClock
    the_store: Store
    out: io.StringIO = field(default_factory=io.StringIO)
    err: io.StringIO = field(default_factory=io.StringIO)
    asked_demo: list[bool] = field(default_factory=list)

    def store(self, demo: bool = False) -> Store:
        self.asked_demo.append(demo)
        return self.the_store


@pytest.fixture
def ctx(tmp_path: Path):
    t = build(tmp_path / "cli.db")
    yield FakeContext(Config(), t.clock, t.store)
    t.store.close()


def run(ctx: FakeContext, *argv: str) -> int:
    parser = argparse.ArgumentParser()
    cli_metrics.register(parser.add_subparsers())
    args = parser.parse_args(["metrics", *argv])
    return args.func(args, ctx)


def test_csv_by_channel_matches_the_report(ctx: FakeContext) -> None:
    assert run(ctx, "--since", "7d", "--by", "channel", "--csv") == 0
    rows = list(csv.DictReader(io.StringIO(ctx.out.getvalue())))
    assert [r["label"] for r in rows] == ["All", "Email", "Mastodon", "X"]
    report = metrics.report(ctx.the_store, metrics.period("7d", NOW, "UTC"), groups=("channel",))
    for row, fig in zip(rows, (report.total, *report.by_channel), strict=True):
        assert int(row["conversations"]) == fig.conversations
        assert int(row["first_responses"]) == fig.first_responses
        assert row["first_response_median_s"] == ("" if fig.first_response_median is None
                                                  else str(fig.first_response_median))
        assert int(row["resolved"]) == fig.resolved
    total = rows[0]
    assert (float(total["first_response_median_s"]), float(total["first_response_p90_s"])) == (1800, 86400)
    assert (total["conversations"], total["answered"], total["response_rate"]) == ("5", "4", "0.8")
    assert (total["repeat_contacts"], total["opened"], total["resolved"]) == ("2", "5", "3")
    assert (total["canned"], total["edited"], total["personal"]) == ("2", "1", "2")
    assert total["period_start"] == "2026-11-19T00:00:00+00:00"
    assert rows[2]["first_response_median_s"] == "" and rows[2]["response_rate"] == "0.0"
    assert ctx.asked_demo == [True]  # no real workspace yet: the demo one, as `sync` does


def test_csv_by_agent_leaves_unattributed_figures_empty(ctx: FakeContext) -> None:
    assert run(ctx, "--by", "agent", "--csv") == 0
    rows = list(csv.DictReader(io.StringIO(ctx.out.getvalue())))
    assert [r["label"] for r in rows] == ["All", "Alice Ng", "Bob Stone"]
    bob = rows[2]
    assert (bob["first_responses"], float(bob["first_response_median_s"]), bob["resolved"]) == ("1", 86400, "1")
    assert (bob["conversations"], bob["response_rate"], bob["opened"]) == ("", "", "")


def test_text_table(ctx: FakeContext) -> None:
    assert run(ctx, "--since", "today", "--by", "channel") == 0
    text = ctx.out.getvalue()
    lines = text.splitlines()
    assert lines[0] == "Metrics today: 2026-11-25 (UTC)"
    all_row = next(line for line in lines if line.startswith("All "))
    # Today: 3 conversations, 67% answered, no repeats, 3 opened, 3 first answers, median 20m, p90 24h.
    assert all_row.split() == ["All", "3", "67%", "0", "3", "3", "20m", "1d0h", "1", "1h00m", "33%", "33%", "33%"]
    assert "2026-11-25       3         1" in text
    assert "busiest hours: Wed 08:00 (1), Wed 12:00 (1), Wed 17:00 (1)" in text


def test_text_shows_business_hours_columns_when_configured(ctx: FakeContext) -> None:
    ctx.config = replace(ctx.config, hours=HoursConfig(by_account={"shop-mail": BusinessHours()}))
    assert run(ctx, "--since", "7d") == 0
    all_row = next(line for line in ctx.out.getvalue().splitlines() if line.startswith("All "))
    assert all_row.split()[6:10] == ["30m", "1d0h", "30m", "8h00m"]
    assert "* counted in business hours only" in ctx.out.getvalue()


def test_the_real_workspace_once_it_has_an_account(ctx: FakeContext) -> None:
    from agentconsole import paths
    real = Store(paths.database_path(False), ctx.clock)
    real.ensure_account("x-main", "x", "demo")
    real.close()
    assert run(ctx, "--csv") == 0 and run(ctx, "--demo", "--csv") == 0
    assert ctx.asked_demo == [False, True]


def test_through_the_command_line_on_an_empty_workspace() -> None:
    # A subprocess: CliContext binds sys.stdout when agentconsole.cli is first imported.
    def agentconsole(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "agentconsole.cli", *argv], capture_output=True,
                              text=True, timeout=60)

    done = agentconsole("metrics", "--since", "today", "--csv")
    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines()
    assert out[0].split(",") == list(cli_metrics.CSV_FIELDS)
    assert out[1].split(",")[2:8] == ["all", "", "All", "0", "0", ""]
    assert agentconsole("metrics", "--since", "soon").returncode == 2


def test_bad_period_is_a_usage_error(ctx: FakeContext) -> None:
    assert run(ctx, "--since", "last week") == 2
    assert "use today, 7d" in ctx.err.getvalue()
    assert ctx.out.getvalue() == ""
