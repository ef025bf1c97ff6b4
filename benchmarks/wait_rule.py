"""The response rule's per-row cost as the conversation list pays it on every repaint: microseconds
per row for ResponseRule.row_wait, with and without business hours (run: uv run python benchmarks/wait_rule.py)."""

from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo

from agentconsole.domain.rows import ConversationRow
from agentconsole.response.hours import BusinessHours, HoursConfig
from agentconsole.response.rule import ResponseRule
from agentconsole.response.sla import Targets

NOW = datetime(2026, 11, 23, 10, tzinfo=ZoneInfo("Europe/Berlin")).timestamp()


def row(i: int) -> ConversationRow:
    account = i % 3  # account 0 is an email account; a fifth of the rows are answered
    return ConversationRow(i, account, f"acct{account}", "email" if account == 0 else "x",
                           "email" if account == 0 else "public", "", "open", i % 5 != 0, NOW - 60 * i, NOW,
                           "", "in", 1, None, "", "", None, "", None, False, None, None, None, False)


def per_row(rule: ResponseRule, rows: list[ConversationRow], repeats: int = 7) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for r in rows:
            rule.row_wait(r, NOW)
        best = min(best, time.perf_counter() - started)
    return best / len(rows) * 1e6


def main() -> None:
    rows = [row(i) for i in range(1000)]
    office = HoursConfig(by_account={"acct0": BusinessHours(timezone="Europe/Berlin")})
    for label, hours in (("no business hours", None), ("one account in three with hours", office)):
        print(f"{label}: {per_row(ResponseRule(Targets(), hours), rows):.2f} µs per row")


if __name__ == "__main__":
    main()
