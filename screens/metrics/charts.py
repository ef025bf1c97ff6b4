"""The metrics screen's charts: opened and resolved per day (or hour) beside the week's busiest hours, drawn
as text by one widget of a fixed height, so new figures repaint it without a screen-wide layout."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Self

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip
from textual.widget import Widget

from agentconsole import metrics

if TYPE_CHECKING:
    from textual.geometry import Region

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


def busiest_rows(busiest: tuple[int, ...]) -> list[str]:
    """A week of hours under a title and an hour ruler, one line per weekday, each hour a block as tall
    as its share of the busiest."""
    top = max(busiest) if busiest else 0
    rows = ["Busiest hours (customers)", "     0     6     12    18"]
    for day, name in enumerate(metrics.WEEKDAY_NAMES):
        hours = busiest[day * 24:day * 24 + 24]
        rows.append(f"{name}  " + "".join(LEVELS[0] if not top or not n else LEVELS[max(1, round(n / top * 8))]
                                          for n in hours))
    return rows


def busiest_grid(busiest: tuple[int, ...]) -> Text:
    """The busiest-hours grid as text, in bold."""
    return Text("\n".join(busiest_rows(busiest)), style="bold")


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
    """Opened and resolved per day (or hour), each under its caption, beside the busiest-hours grid.

    Its lines are made as segments straight from the figures (no Text to lay out), once per size and
    figures, and it never changes height."""

    COMPONENT_CLASSES = {"charts--bars", "charts--caption"}
    HEIGHT = 9

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.opened = BarChart()
        self.resolved = BarChart()
        self.captions = {"opened": "", "resolved": ""}
        self.busiest: tuple[int, ...] | None = None
        self._strips: tuple[int, list[Strip]] | None = None

    @property
    def chart_width(self) -> int:
        """The day charts' columns: what the busiest grid leaves, less a column of margin each side."""
        return max(1, self.size.width - BUSIEST_WIDTH - 2)

    def show(self, name: str, values: tuple[int, ...], labels: tuple[str, ...], caption: str) -> None:
        (self.opened if name == "opened" else self.resolved).show(values, labels)
        self.captions[name] = caption
        self._changed()

    def show_busiest(self, busiest: tuple[int, ...] | None) -> None:
        self.busiest = busiest
        self._changed()

    def clear(self) -> None:
        self.opened.show(())
        self.resolved.show(())
        self.captions = {"opened": "", "resolved": ""}
        self.show_busiest(None)

    def _changed(self) -> None:
        self.refresh()  # a fixed height: no layout

    def refresh(self, *regions: Region, repaint: bool = True, layout: bool = False,
                recompose: bool = False) -> Self:
        self._strips = None  # new figures, or new styles (a theme may change only the bars' colour)
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    def _rows(self) -> list[list[tuple[str, str]]]:
        """Each line as (words, part) pieces; a part names the style: caption, bars, axis, grid or ''."""
        width = self.chart_width
        left: list[tuple[str, str]] = []
        for name, chart in (("opened", self.opened), ("resolved", self.resolved)):
            left.append((self.captions[name], "caption"))
            rows = BarChart.HEIGHT - (1 if chart.labels else 0)
            left.extend((line, "bars") for line in bar_lines(chart.values, width, rows))
            if chart.labels:
                left.append((axis_line(chart.labels, width), "axis"))
        right = busiest_rows(self.busiest) if self.busiest is not None else []
        lines = []
        for row in range(self.HEIGHT):
            words, part = left[row] if row < len(left) else ("", "")
            words = words[:width]
            line = [(" ", ""), (words, part), (" " * (width - len(words)) + " ", "")]
            if row < len(right):
                line.append((right[row], "grid"))
            lines.append(line)
        return lines

    def render(self) -> Text:
        """The lines as shown, as plain text."""
        return Text("\n".join("".join(words for words, _ in line) for line in self._rows()), no_wrap=True)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if self._strips is None or self._strips[0] != width:
            base = self.rich_style
            bars = base + self.get_component_rich_style("charts--bars")
            styles = {"": base, "grid": base + Style(bold=True), "bars": bars, "axis": bars + DIM,
                      "caption": base + self.get_component_rich_style("charts--caption")}
            strips = [Strip([Segment(words, styles[part]) for words, part in line if words]).adjust_cell_length(
                width, base) for line in self._rows()]
            self._strips = (width, strips)
        lines = self._strips[1]
        return lines[y] if y < len(lines) else Strip.blank(width, self.rich_style)
