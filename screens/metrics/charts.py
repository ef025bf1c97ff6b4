"""The metrics screen's charts: opened and resolved per day (or hour) beside the week's busiest hours, drawn
as text by one widget of a fixed height, so new figures repaint it without a screen-wide layout."""

from __future__ import annotations

from datetime import date

from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from agentconsole import metrics

LEVELS = " ▁▂▃▄▅▆▇█"
HOUR_LABELS = tuple(str(h) for h in range(24))
BUSIEST_WIDTH = 31  # the busiest-hours grid: "Mon  " and 24 hours, with room to spare
DIM = Style(dim=True)


def _columns(count: int, width: int) -> tuple[int, int]:
    """(values per column, columns per value) for *count* values across *width* columns."""
    run = -(-count // width) if count > width else 1  # more values than columns: a column sums a run
    groups = -(-count // run)
    return run, max(1, min(6, width // groups))  # columns per value, with a gap when there is room


def bar_lines(values: tuple[int, ...], width: int, height: int) -> list[str]:
    """Columns as tall as each value's share of the largest, eighth-blocks stacked *height* rows high;
    a zero stays empty and any other value shows at least one eighth."""
    if not values or width < 1:
        return [""] * height
    run, step = _columns(len(values), width)
    values = tuple(sum(values[i:i + run]) for i in range(0, len(values), run))
    top = max(values)
    bar = step - 1 if step > 2 else step
    units = [0 if not top or not v else max(1, round(v / top * height * 8)) for v in values]
    lines = []
    for row in range(height):
        floor = (height - 1 - row) * 8
        line = "".join((LEVELS[min(8, max(0, u - floor))] * bar).ljust(step) for u in units)
        lines.append(line[:width].rstrip())
    return lines


def axis_line(labels: tuple[str, ...], width: int) -> str:
    """Each label under the first column of its bar, skipping labels that would touch the one before."""
    if not labels or width < 1:
        return ""
    run, step = _columns(len(labels), width)
    cells = [" "] * width
    free = 0
    for i, label in enumerate(labels[::run]):
        col = i * step
        if col < free or col + len(label) > width:
            continue
        cells[col:col + len(label)] = label
        free = col + len(label) + 1
    return "".join(cells).rstrip()


def day_labels(days: list[date]) -> tuple[str, ...]:
    """Day-of-month labels, with the month named at the start and where a new month begins."""
    return tuple(f"{d:%b} {d.day}" if i == 0 or d.day == 1 else str(d.day) for i, d in enumerate(days))


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


class BarChart:
    """Counts per day (or per hour) as text bars over a line of day or hour labels."""

    HEIGHT = 3  # two rows of bars and the labels

    def __init__(self) -> None:
        self.values: tuple[int, ...] = ()
        self.labels: tuple[str, ...] = ()

    def show(self, values: tuple[int, ...], labels: tuple[str, ...] = ()) -> None:
        self.values = values
        self.labels = labels

    def render(self, width: int, height: int = HEIGHT) -> Text:
        rows = max(1, height - (1 if self.labels else 0))
        text = Text("\n".join(bar_lines(self.values, width, rows)), no_wrap=True)
        if self.labels:
            text.append("\n" + axis_line(self.labels, width), style="dim")
        return text


class Charts(Widget):
    """Opened and resolved per day (or hour), each under its caption, beside the busiest-hours grid."""

    COMPONENT_CLASSES = {"charts--bars", "charts--caption"}
    HEIGHT = 9

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.opened = BarChart()
        self.resolved = BarChart()
        self.captions = {"opened": "", "resolved": ""}
        self.busiest: tuple[int, ...] | None = None

    @property
    def chart_width(self) -> int:
        """The day charts' columns: what the busiest grid leaves, less a column of margin each side."""
        return max(1, self.size.width - BUSIEST_WIDTH - 2)

    def show(self, name: str, values: tuple[int, ...], labels: tuple[str, ...], caption: str) -> None:
        (self.opened if name == "opened" else self.resolved).show(values, labels)
        self.captions[name] = caption
        self.refresh()  # a fixed height: no layout

    def show_busiest(self, busiest: tuple[int, ...] | None) -> None:
        self.busiest = busiest
        self.refresh()

    def clear(self) -> None:
        self.opened.show(())
        self.resolved.show(())
        self.captions = {"opened": "", "resolved": ""}
        self.show_busiest(None)

    def render(self) -> Text:
        width = self.chart_width
        bars = self.get_component_rich_style("charts--bars", partial=True)
        caption = self.get_component_rich_style("charts--caption", partial=True)
        left: list[Text] = []
        for name, chart in (("opened", self.opened), ("resolved", self.resolved)):
            left.append(Text(self.captions[name], style=caption))
            drawn = chart.render(width)
            drawn.stylize(bars)
            lines = drawn.split("\n", allow_blank=True)
            left.extend(lines[:BarChart.HEIGHT])
            left.extend(Text() for _ in range(BarChart.HEIGHT - len(lines)))
        right = busiest_grid(self.busiest).split("\n", allow_blank=True) if self.busiest is not None else []
        text = Text(no_wrap=True, overflow="crop", end="")
        for row in range(self.HEIGHT):
            line = left[row] if row < len(left) else Text()
            line.truncate(width, pad=True)
            text.append(" ")
            text.append_text(line)
            text.append(" ")
            if row < len(right):
                text.append_text(right[row])
            if row < self.HEIGHT - 1:
                text.append("\n")
        return text
