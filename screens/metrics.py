"""The metrics screen: response-time figures for a period, charts, and per-channel and per-agent tables."""

from __future__ import annotations

import logging

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Sparkline, Static

from agentconsole import metrics
from agentconsole.clock import Clock
from agentconsole.hours import HoursConfig
from agentconsole.sanitize import one_line
from agentconsole.store import Store

log = logging.getLogger(__name__)

PERIOD_NAMES = {"today": "Today", "7d": "7 days", "30d": "30 days"}
LEVELS = " ▁▂▃▄▅▆▇█"
TABLE_COLUMNS = ("", "conv", "rate", "repeat", "1st", "median", "p90", "done", "median", "canned")


def busiest_grid(busiest: tuple[int, ...]) -> Text:
    """A week of hours as one line per weekday, each hour a block as tall as its share of the busiest."""
    top = max(busiest) if busiest else 0
    text = Text("Busiest hours (customers)\n", style="bold")
    text.append("     0     6     12    18\n", style="")
    for day, name in enumerate(metrics.WEEKDAY_NAMES):
        text.append(f"{name}  ")
        for hour in range(24):
            n = busiest[day * 24 + hour]
            text.append(LEVELS[0] if not top or not n else LEVELS[max(1, round(n / top * 8))])
        if day < 6:
            text.append("\n")
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


class MetricsScreen(Screen):
    """Figures for today, 7 or 30 days or a custom period, computed in a thread worker."""

    CSS_PATH = "metrics.tcss"
    AUTO_FOCUS = "#metrics-by-channel"
    BINDINGS = [
        Binding("1", "period('today')", "Today", id="metrics.today", tooltip="Figures for today"),
        Binding("2", "period('7d')", "7 days", id="metrics.week", tooltip="Today and the six days before"),
        Binding("3", "period('30d')", "30 days", id="metrics.month", tooltip="The last 30 days"),
        Binding("c", "custom", "Custom", id="metrics.custom",
                tooltip="Type a period: 14d, 2026-11-01 or 2026-11-01..2026-11-15"),
        Binding("escape", "close", "Back", id="metrics.close", tooltip="Back to the inbox"),
    ]

    class Computed(Message):
        """A worker finished the report of one period."""

        def __init__(self, report: metrics.Report) -> None:
            super().__init__()
            self.report = report

    class Failed(Message):
        def __init__(self, spec: str, reason: str) -> None:
            super().__init__()
            self.spec = spec
            self.reason = reason

    def __init__(self, store: Store, clock: Clock, timezone: str = "UTC", hours: HoursConfig | None = None,
                 period: str = "today") -> None:
        super().__init__()
        self.store = store
        self.clock = clock
        self.timezone = timezone
        self.hours = hours
        self.period_spec = period
        self.report: metrics.Report | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="metrics-title")
        with VerticalScroll(id="metrics-body"):
            yield Static(id="metrics-summary")
            with Horizontal(id="metrics-charts"):
                with Vertical(id="metrics-days"):
                    yield Static(id="metrics-opened-label", classes="chart-label")
                    yield Sparkline([], id="metrics-opened")
                    yield Static(id="metrics-resolved-label", classes="chart-label")
                    yield Sparkline([], id="metrics-resolved")
                yield Static(id="metrics-busiest")
            yield Static(Text("Per channel", style="bold"), classes="table-title")
            yield DataTable(id="metrics-by-channel", cursor_type="row", zebra_stripes=True)
            yield Static(Text("Per agent", style="bold"), classes="table-title")
            yield DataTable(id="metrics-by-agent", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        for table in self.query(DataTable):
            table.add_columns(*(Text(c) for c in TABLE_COLUMNS))
        self.load(self.period_spec)

    def load(self, spec: str) -> None:
        self.period_spec = spec
        self.query_one("#metrics-title", Static).update(
            Text(f"Metrics · {PERIOD_NAMES.get(spec, spec)} · computing…"))
        self.compute(spec)

    @work(thread=True, exclusive=True, exit_on_error=False, group="metrics")
    def compute(self, spec: str) -> None:
        try:
            report = metrics.compute(self.store, spec, self.clock.now(), self.timezone, self.hours)
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
        self.report = report = message.report
        per = report.period
        first, last = per.days[0].day, per.days[-1].day
        span = first.isoformat() if first == last else f"{first.isoformat()} – {last.isoformat()}"
        self.query_one("#metrics-title", Static).update(Text(
            f"Metrics · {PERIOD_NAMES.get(per.label, per.label)} · {span} ({per.timezone})"))
        show_open = self.hours is not None and self.hours.any
        self.query_one("#metrics-summary", Static).update(summary_text(report.total, show_open))
        self._chart("opened", report.opened_per_day)
        self._chart("resolved", report.resolved_per_day)
        self.query_one("#metrics-busiest", Static).update(busiest_grid(report.busiest))
        self._fill("#metrics-by-channel", report.by_channel)
        self._fill("#metrics-by-agent", report.by_agent)

    def on_metrics_screen_failed(self, message: Failed) -> None:
        self.query_one("#metrics-title", Static).update(Text(f"Metrics · {message.spec}: {message.reason}"))
        self.notify(message.reason, title="No metrics", severity="error")

    def _chart(self, name: str, values: tuple[int, ...]) -> None:
        self.query_one(f"#metrics-{name}", Sparkline).data = list(values)
        peak = max(values) if values else 0
        self.query_one(f"#metrics-{name}-label", Static).update(
            Text(f"{name.capitalize()} per day: {sum(values)} in all, at most {peak}"))

    def _fill(self, selector: str, rows: tuple[metrics.Figures, ...]) -> None:
        table = self.query_one(selector, DataTable)
        table.clear()
        for f in rows:
            table.add_row(*(Text(cell) for cell in (
                one_line(f.label, 24), metrics.fmt_count(f.conversations), metrics.fmt_pct(f.response_rate),
                metrics.fmt_count(f.repeat_contacts), str(f.first_responses), metrics.fmt_duration(f.first_response_median),
                metrics.fmt_duration(f.first_response_p90), str(f.resolved), metrics.fmt_duration(f.resolution_median),
                metrics.fmt_pct(f.share("canned")))))

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
        event.input.remove_class("shown")
        self.query_one("#metrics-by-channel", DataTable).focus()
        if event.value.strip():
            self.load(event.value.strip().lower())

    def action_close(self) -> None:
        found = self.query("#metrics-custom")
        if found and (box := found.first(Input)).has_class("shown"):
            box.remove_class("shown")
            self.query_one("#metrics-by-channel", DataTable).focus()
            return
        self.dismiss()


