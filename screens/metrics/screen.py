"""The metrics screen: response-time figures for a period, charts, and per-channel and per-agent tables."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual import work
from textual.worker import get_current_worker
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Input, Static

from agentconsole import metrics
from agentconsole.domain.clock import Clock
from agentconsole.response.hours import HoursConfig
from agentconsole.domain.sanitize import one_line

from screens.common.keybar import KeyBar
from screens.metrics.charts import HOUR_LABELS, Charts, day_labels
from screens.metrics.csat import CsatPanel, titled

log = logging.getLogger(__name__)


class _Closed(Exception):
    """The screen was left while its figures were being computed: the days done so far stay cached."""

PERIOD_NAMES = {"today": "Today", "7d": "7 days", "30d": "30 days"}
TABLE_COLUMNS = ("", "conv", "rate", "repeat", "1st", "median", "p90", "done", "median", "canned")


def figure_table(rows: tuple[metrics.Figures, ...]) -> Text:
    """The per-channel or per-agent figures as aligned plain-text columns (labels are data, not markup)."""
    table = [list(TABLE_COLUMNS)]
    for f in rows:
        table.append([
            one_line(f.label, 24), metrics.fmt_count(f.conversations), metrics.fmt_pct(f.response_rate),
            metrics.fmt_count(f.repeat_contacts), str(f.first_responses), metrics.fmt_duration(f.first_response_median),
            metrics.fmt_duration(f.first_response_p90), str(f.resolved), metrics.fmt_duration(f.resolution_median),
            metrics.fmt_pct(f.share("canned"))])
    widths = [max(cell_len(r[i]) for r in table) for i in range(len(TABLE_COLUMNS))]
    text = Text(no_wrap=True, overflow="ellipsis")
    for n, row in enumerate(table):
        line = "  ".join(cell + " " * (w - cell_len(cell)) for cell, w in zip(row, widths, strict=True)).rstrip()
        text.append(line, style="bold" if n == 0 else "")
        if n < len(table) - 1:
            text.append("\n")
    if len(table) == 1:
        text.append("\nnothing in this period", style="italic")
    return text


def summary_text(f: metrics.Figures, show_open: bool) -> Text:
    """The headline figures of the period, as plain text (no markup)."""
    text = Text()
    text.append("First response ", style="bold")
    text.append(f"median {metrics.fmt_duration(f.first_response_median)} · p90 {metrics.fmt_duration(f.first_response_p90)}"
                f" · {f.first_responses} answered")
    if show_open:
        text.append(f" · open hours {metrics.fmt_duration(f.first_response_median_open)} / {metrics.fmt_duration(f.first_response_p90_open)}")
    text.append("\nResolution ", style="bold")
    text.append(f"median {metrics.fmt_duration(f.resolution_median)} · {f.resolved} done")
    text.append("   Response rate ", style="bold")
    text.append(f"{metrics.fmt_pct(f.response_rate)} of {f.conversations or 0}")
    text.append("\nRepeat contacts ", style="bold")
    text.append(str(f.repeat_contacts or 0))
    text.append("   Replies ", style="bold")
    text.append(f"canned {metrics.fmt_pct(f.share('canned'))} · edited {metrics.fmt_pct(f.share('edited'))}"
                f" · personal {metrics.fmt_pct(f.share('personal'))}")
    return text


class Body(VerticalScroll, can_focus=False):
    """The sections, scrolled by the screen's keys (and the mouse)."""


class MetricsScreen(Screen):
    """Figures for today, 7 or 30 days or a custom period, computed in a thread worker."""

    CSS_PATH = "metrics.tcss"
    AUTO_FOCUS = ""  # nothing takes focus: focusing the body restyled it and every section at each open
    BINDINGS = [
        Binding("1", "period('today')", "Today", id="metrics.today", tooltip="Figures for today"),
        Binding("2", "period('7d')", "7 days", id="metrics.week", tooltip="Today and the six days before"),
        Binding("3", "period('30d')", "30 days", id="metrics.month", tooltip="The last 30 days"),
        Binding("c", "custom", "Custom", id="metrics.custom",
                tooltip="Type a period: 14d, 2026-11-01 or 2026-11-01..2026-11-15"),
        Binding("escape", "close", "Back", id="metrics.close", tooltip="Back to the inbox"),
        *(Binding(key, f"scroll('{how}')", words, id=f"metrics.{how}", show=False, tooltip=words)
          for key, how, words in (("up", "scroll_up", "Scroll up"), ("down", "scroll_down", "Scroll down"),
                                  ("pageup", "page_up", "Page up"), ("pagedown", "page_down", "Page down"),
                                  ("home", "scroll_home", "To the top"), ("end", "scroll_end", "To the end"))),
    ]

    class Computed(Message):
        """A worker finished the report of one period."""

        def __init__(self, report: metrics.Report) -> None:
            super().__init__()
            self.report = report

    class Progress(Message):
        """The worker computed a share of the period's days that were not cached yet."""

        def __init__(self, spec: str, share: float) -> None:
            super().__init__()
            self.spec = spec
            self.share = share

    class Failed(Message):
        def __init__(self, spec: str, reason: str) -> None:
            super().__init__()
            self.spec = spec
            self.reason = reason

    def __init__(self, report: Callable[[str, metrics.Progress], metrics.Report], clock: Clock, timezone: str = "UTC",
                 hours: HoursConfig | None = None, period: str = "today",
                 satisfaction: Callable[[float, float], Any] | None = None) -> None:
        super().__init__()
        # The session's metrics for a period spec ("today", "7d", a date range), telling its progress
        # while it computes days the cache does not hold yet (the first look at a period).
        self.report_for = report
        self.satisfaction = satisfaction  # the session's CSAT and sentiment read, when there are surveys
        self.clock = clock
        self.timezone = timezone
        self.hours = hours
        self.period_spec = period
        self.report: metrics.Report | None = None
        self.computing: str | None = None  # the period being computed

    def compose(self) -> ComposeResult:
        # One widget a section, each drawn as text: every widget costs its styling, layout and strips at
        # each open, and the body holds focus, so each one more is also restyled when it takes it.
        yield Static(id="metrics-title")
        body = Body(id="metrics-body")
        body.display = False  # shown with the first figures: an empty frame of every section costs as much
        with body:
            yield Static(id="metrics-summary")
            yield Charts(id="metrics-charts")
            yield Static(titled("Per channel"), id="metrics-by-channel", classes="figures")
            yield Static(titled("Per agent"), id="metrics-by-agent", classes="figures")
            yield CsatPanel(id="metrics-csat", classes="figures")
        yield KeyBar()

    def on_screen_resume(self) -> None:
        # The screen is kept between visits: each one shows fresh figures for the period last looked at.
        self.load(self.period_spec)

    def load(self, spec: str) -> None:
        self.period_spec = self.computing = spec
        self._title(f"Metrics · {PERIOD_NAMES.get(spec, spec)} · computing…")
        self.compute(spec)

    def on_screen_suspend(self) -> None:
        # Back in the inbox, a period's days still to compute (seconds at 300k conversations) would keep
        # a core busy for figures nobody sees: the worker stops at the next day (see compute).
        self.workers.cancel_group(self, "metrics")
        self.computing = None

    @work(thread=True, exclusive=True, exit_on_error=False, group="metrics", description="Computing the metrics")
    def compute(self, spec: str) -> None:
        worker = get_current_worker()

        def progress(share: float) -> None:  # called before each day not cached yet
            if worker.is_cancelled:
                raise _Closed
            self.post_message(self.Progress(spec, share))

        try:
            report = self.report_for(spec, progress)
        except _Closed:
            return
        except metrics.PeriodError as exc:
            self.post_message(self.Failed(spec, str(exc)))
            return
        except Exception as exc:  # a locked or damaged database: say so instead of "computing…" forever
            log.exception("metrics for %s failed", spec)
            self.post_message(self.Failed(spec, f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(self.Computed(report))

    def on_metrics_screen_computed(self, message: Computed) -> None:
        if message.report.period.label != self.period_spec:
            return  # an older period's figures arriving after the switch
        self.computing = None
        self.report = report = message.report
        self.query_one("#metrics-body").display = True
        per = report.period
        first, last = per.days[0].day, per.days[-1].day
        span = first.isoformat() if first == last else f"{first.isoformat()} – {last.isoformat()}"
        self._title(f"Metrics · {PERIOD_NAMES.get(per.label, per.label)} · {span} ({per.timezone})")
        show_open = self.hours is not None and self.hours.any
        self.query_one("#metrics-summary", Static).update(summary_text(report.total, show_open))
        hourly = bool(report.opened_per_hour)
        labels = HOUR_LABELS if hourly else day_labels([d.day for d in per.days])
        self._chart("opened", report.opened_per_hour if hourly else report.opened_per_day, hourly, labels)
        self._chart("resolved", report.resolved_per_hour if hourly else report.resolved_per_day, hourly,
                    labels)
        self.query_one(Charts).show_busiest(report.busiest)
        self.query_one("#metrics-by-channel", Static).update(titled("Per channel", figure_table(report.by_channel)))
        self.query_one("#metrics-by-agent", Static).update(titled("Per agent", figure_table(report.by_agent)))
        if self.satisfaction is not None:
            self.query_one(CsatPanel).load(self.satisfaction, per.start, per.end)

    def on_metrics_screen_progress(self, message: Progress) -> None:
        if message.spec != self.computing:
            return  # another period's worker, or its figures already shown
        self._title(f"Metrics · {PERIOD_NAMES.get(message.spec, message.spec)} · computing the days not seen"
                    f" before… {message.share * 100:.0f}%")

    def on_metrics_screen_failed(self, message: Failed) -> None:
        self._title(f"Metrics · {message.spec}: {message.reason}")
        # The previous period's figures would read as this one's: clear them.
        self.query_one("#metrics-summary", Static).update("")
        self.query_one(Charts).clear()
        self.query_one("#metrics-by-channel", Static).update(titled("Per channel"))
        self.query_one("#metrics-by-agent", Static).update(titled("Per agent"))
        self.notify(message.reason, title="No metrics", severity="error")

    def _title(self, words: str) -> None:
        self.query_one("#metrics-title", Static).update(Text(words, no_wrap=True, overflow="ellipsis"),
                                                        layout=False)  # one line, always

    def _chart(self, name: str, values: tuple[int, ...], hourly: bool, labels: tuple[str, ...]) -> None:
        peak = max(values) if values else 0
        unit = "hour, 0–23h" if hourly else "day"
        self.query_one(Charts).show(name, values, labels,
                                    f"{name.capitalize()} per {unit}: {sum(values)} in all, at most {peak}")

    def action_scroll(self, how: str) -> None:
        getattr(self.query_one(Body), f"action_{how}")()

    def action_period(self, spec: str) -> None:
        self.load(spec)

    def action_custom(self) -> None:
        # Mounted on first use: most visits never type a period, and every widget costs at open.
        found = self.query("#metrics-custom")
        if found:
            box = found.first(Input)
            box.value = ""
        else:
            box = Input(placeholder="period: 14d, 2026-11-01 or 2026-11-01..2026-11-15 (enter)",
                        id="metrics-custom")
            self.mount(box, after="#metrics-title")
        box.add_class("shown")
        box.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        spec = event.value.strip().lower()
        if spec:
            try:  # checked before switching, so a typo keeps the figures on screen and the box open
                metrics.period(spec, self.clock.now(), self.timezone)
            except metrics.PeriodError as exc:
                self.notify(str(exc), title=f"No period {spec!r}", severity="error")
                return
        event.input.remove_class("shown")
        self.set_focus(None)
        if spec:
            self.load(spec)

    def action_close(self) -> None:
        found = self.query("#metrics-custom")
        if found and (box := found.first(Input)).has_class("shown"):
            box.remove_class("shown")
            self.set_focus(None)
            return
        self.dismiss()


