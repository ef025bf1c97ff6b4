"""The metrics screen's satisfaction table: CSAT per channel, agent and week from the survey answers,
beside the surveyed conversations' median first response, so speed and satisfaction read together."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.message import Message
from textual.widgets import Static

from agentconsole import metrics
from agentconsole.domain.sanitize import one_line
from agentconsole.storage.store import Store
from agentconsole.storage.surveys import CsatRow


def csat_table(rows: list[CsatRow]) -> Text:
    if not rows:
        return Text("No survey answers in this period (agentconsole survey enable ACCOUNT to ask).",
                    style="dim")
    text = Text()
    text.append(f"{'':<14}{'answers':>8}{'CSAT':>7}{'mean':>6}{'1st resp':>10}\n", style="bold")
    group = ""
    for r in rows:
        if r.group != group and r.group != "all":
            text.append(f"per {r.group}\n", style="dim")
        group = r.group
        text.append(f"{one_line(r.key, 13):<14}{r.answers:>8}{metrics.fmt_pct(r.csat):>7}{r.mean:>6.1f}"
                    f"{metrics.fmt_duration(r.first_response_median_s):>10}\n")
    return text


class CsatPanel(Static):
    """Loads and shows the satisfaction figures of a period."""

    class Loaded(Message):
        def __init__(self, rows: list[CsatRow]) -> None:
            super().__init__()
            self.rows = rows

    def load(self, store: Store, start: float, end: float) -> None:
        self._compute(store, start, end)

    @work(thread=True, exclusive=True, exit_on_error=False, group="csat", description="Computing the CSAT")
    def _compute(self, store: Store, start: float, end: float) -> None:
        from agentconsole.satisfaction.service import Surveys

        surveys = Surveys(store)
        rows = surveys.csat(start, end)
        if rows:
            for by in ("channel", "agent", "week"):
                rows += surveys.csat(start, end, by)
        self.post_message(self.Loaded(rows))

    def on_csat_panel_loaded(self, message: Loaded) -> None:
        self.update(csat_table(message.rows))
