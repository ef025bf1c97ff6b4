"""The metrics screen's satisfaction table: CSAT per channel, agent and week from the survey answers,
beside the surveyed conversations' median first response, so speed and satisfaction read together."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.message import Message
from textual.widgets import Static

from agentconsole import metrics
from agentconsole.domain.sanitize import one_line

if TYPE_CHECKING:
    from agentconsole.satisfaction.service import CsatRow
    from agentconsole.triage.service import AfterReply, SentimentDay


def titled(title: str, table: Text | None = None) -> Text:
    """A section's bold title over its table (plain text: the table's labels are data, not markup)."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(title, style="bold")
    if table is not None:
        text.append("\n")
        text.append_text(table)
    return text


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


def sentiment_table(days: list[SentimentDay], after: list[AfterReply]) -> Text:
    """Per channel: the English customer messages' mean sentiment and how many read negative, and
    whether customers sounded better after our first reply than before it."""
    text = Text("\nSentiment of customers' English messages (VADER; other languages are not scored)\n",
                style="bold")
    if not days:
        text.append("No English customer messages in this period.\n", style="dim")
        return text
    totals: dict[str, list[float]] = {}
    for d in days:
        t = totals.setdefault(d.channel, [0, 0.0, 0])
        t[0] += d.messages
        t[1] += d.mean * d.messages
        t[2] += d.negative
    later = {a.channel: a for a in after}
    text.append(f"{'':<14}{'messages':>9}{'mean':>7}{'negative':>9}  after our first reply\n", style="bold")
    for channel, (n, total, negative) in sorted(totals.items()):
        a = later.get(channel)
        better = (f"better in {a.improved} of {a.conversations} ({a.before:+.2f} → {a.after:+.2f})"
                  if a else "–")
        text.append(f"{one_line(channel, 13):<14}{int(n):>9}{total / n:>+7.2f}{int(negative):>9}  {better}\n")
    return text


class CsatPanel(Static):
    """Loads and shows the satisfaction figures of a period."""

    TITLE = "Satisfaction (surveys)"

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(titled(self.TITLE), id=id, classes=classes)

    class Loaded(Message):
        def __init__(self, rows: list[CsatRow], days: list[SentimentDay], after: list[AfterReply]) -> None:
            super().__init__()
            self.rows, self.days, self.after = rows, days, after

    def load(self, read: Callable[[float, float], tuple[list[CsatRow], list[SentimentDay], list[AfterReply]]],
             start: float, end: float) -> None:
        """*read* is the session's satisfaction read, run in a worker."""
        self._compute(read, start, end)

    @work(thread=True, exclusive=True, exit_on_error=False, group="csat", description="Computing the CSAT")
    def _compute(self, read: Callable[[float, float], tuple[list[CsatRow], list[SentimentDay], list[AfterReply]]],
                 start: float, end: float) -> None:
        self.post_message(self.Loaded(*read(start, end)))

    def on_csat_panel_loaded(self, message: Loaded) -> None:
        self.update(titled(self.TITLE, csat_table(message.rows) + sentiment_table(message.days, message.after)))
