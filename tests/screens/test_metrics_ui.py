"""The metrics screen in a tiny app: figures arrive from the worker, periods switch, text stays text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from textual.app import App
from textual.widgets import Static

from agentconsole.domain.models import Kind
from screens.metrics.charts import Charts, bar_lines, busiest_grid
from screens.metrics.screen import MetricsScreen

from tests.core.metrics_timeline import at, build


class MetricsApp(App):
    def __init__(self, screen: MetricsScreen) -> None:
        super().__init__()
        self.metrics_screen = screen

    def on_mount(self) -> None:
        self.push_screen(self.metrics_screen)


@pytest.fixture
def timeline(tmp_path: Path):
    t = build(tmp_path / "ui.db")
    yield t
    t.store.close()


def reports(timeline, hours=None):
    """What the session hands the screen: the report for a period spec, in the workspace's zone."""
    from agentconsole import metrics

    return lambda spec, progress=None: metrics.compute(timeline.store, spec, timeline.clock.now(), "UTC", hours,
                                                       progress=progress)


def text_of(screen: MetricsScreen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


def table_rows(screen: MetricsScreen, selector: str) -> list[list[str]]:
    """The body rows of a figures table as shown (under its title and header), cut at runs of two or more
    spaces."""
    lines = text_of(screen, selector).splitlines()
    return [re.split(r"\s{2,}", line.strip()) for line in lines[2:]]


def charts_text(screen: MetricsScreen) -> str:
    return str(screen.query_one("#metrics-charts", Charts).render())


async def settle(pilot) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def test_opens_on_today_and_switches_periods(timeline) -> None:
    screen = MetricsScreen(reports(timeline), timeline.clock, "UTC")
    async with MetricsApp(screen).run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "Today · 2026-11-25 (UTC)" in text_of(screen, "#metrics-title")
        summary = text_of(screen, "#metrics-summary")
        assert "median 20m · p90 1d0h · 3 answered" in summary
        assert "67% of 3" in summary
        assert table_rows(screen, "#metrics-by-channel")[1][:7] == ["Mastodon", "1", "0%", "0", "0", "–", "–"]
        await pilot.press("2")
        await settle(pilot)
        assert "7 days · 2026-11-19 – 2026-11-25" in text_of(screen, "#metrics-title")
        assert "median 30m · p90 1d0h · 4 answered" in text_of(screen, "#metrics-summary")
        assert screen.query_one("#metrics-charts", Charts).opened.values == (0, 0, 0, 0, 0, 2, 3)
        assert screen.query_one("#metrics-charts", Charts).resolved.values == (0, 0, 0, 0, 0, 2, 1)
        assert "Opened per day: 5 in all, at most 3" in charts_text(screen)
        agents = table_rows(screen, "#metrics-by-agent")
        assert [r[0] for r in agents] == ["Alice Ng", "Bob Stone"]
        assert agents[0][1:] == ["–", "–", "–", "3", "20m", "40m", "2", "1h00m", "67%"]
        await pilot.press("3")
        await settle(pilot)
        assert "30 days" in text_of(screen, "#metrics-title")
        assert "median 20m · p90 1d0h · 5 answered" in text_of(screen, "#metrics-summary")


async def test_custom_period_and_a_bad_one(timeline) -> None:
    screen = MetricsScreen(reports(timeline), timeline.clock, "UTC")
    async with MetricsApp(screen).run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await pilot.press(*"2026-11-10")
        await pilot.press("enter")
        await settle(pilot)
        assert "2026-11-10 – 2026-11-25" in text_of(screen, "#metrics-title")
        # E from the 10th joins the week: 5m, 5m, 20m, 40m, 24h.
        assert "median 20m · p90 1d0h · 5 answered" in text_of(screen, "#metrics-summary")
        assert "83% of 6" in text_of(screen, "#metrics-summary")
        await pilot.press("c", *"soon", "enter")
        await settle(pilot)
        # A typo keeps the figures it would otherwise hide, says why, and leaves the box open to fix.
        assert "2026-11-10 – 2026-11-25" in text_of(screen, "#metrics-title")
        assert "83% of 6" in text_of(screen, "#metrics-summary")
        box = screen.query_one("#metrics-custom")
        assert box.has_class("shown") and box.has_focus
        assert any("use today" in n.message for n in pilot.app._notifications)
        await pilot.press(*["backspace"] * 4, *"7d", "enter")
        await settle(pilot)
        assert "7 days" in text_of(screen, "#metrics-title") and not box.has_class("shown")


async def test_names_from_the_database_are_never_markup(timeline) -> None:
    eve = timeline.store.ensure_agent("[bold red]Eve[/] \x1b[31m")
    timeline.customer("G", "x", at(25, 13), Kind.PUBLIC)
    timeline.reply("G", "x", at(25, 13, 10), eve, "personal")
    screen = MetricsScreen(reports(timeline), timeline.clock, "UTC")
    async with MetricsApp(screen).run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        labels = [r[0] for r in table_rows(screen, "#metrics-by-agent")]
        assert any(label.startswith("[bold red]Eve[/]") for label in labels)
        assert not any("\x1b" in label for label in labels)


async def test_the_week_view_labels_its_days_at_80x24(timeline) -> None:
    from tests.screens.helpers import screen_text

    screen = MetricsScreen(reports(timeline), timeline.clock, "UTC")
    async with MetricsApp(screen).run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        shown = screen_text(pilot.app)
        assert "Nov 19" in shown and "Opened per day" in shown and "Resolved per day" in shown


async def test_escape_goes_back(timeline) -> None:
    screen = MetricsScreen(reports(timeline), timeline.clock, "UTC")
    async with MetricsApp(screen).run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("escape")
        await pilot.pause()
        assert pilot.app.screen is not screen


def test_busiest_grid_scales_to_the_busiest_hour() -> None:
    counts = [0] * 168
    counts[24 + 9] = 4  # Tuesday 09:00
    counts[24 + 10] = 1
    lines = busiest_grid(tuple(counts)).plain.splitlines()
    assert lines[0] == "Busiest hours (customers)" and lines[1].startswith("     0")
    assert lines[3] == "Tue  " + " " * 9 + "█▂" + " " * 13
    assert lines[2].strip() == "Mon"
    assert len(lines) == 9


async def test_business_hours_figures_are_shown_when_configured(timeline) -> None:
    from agentconsole.response.hours import BusinessHours, HoursConfig
    hours = HoursConfig(by_account={"shop-mail": BusinessHours()})
    screen = MetricsScreen(reports(timeline, hours), timeline.clock, "UTC", hours, period="7d")
    async with MetricsApp(screen).run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "open hours 30m / 8h00m" in text_of(screen, "#metrics-summary")


async def test_a_database_error_is_shown_not_swallowed(timeline) -> None:
    timeline.store.conn.execute("DROP INDEX messages_metrics")
    screen = MetricsScreen(reports(timeline), timeline.clock, "UTC")
    async with MetricsApp(screen).run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "OperationalError" in text_of(screen, "#metrics-title")


def test_bars_keep_zero_empty_and_scale_to_the_largest() -> None:
    assert bar_lines((0, 4, 1), width=9, height=2) == ["   ██", "   ██ ▄▄"]
    assert bar_lines((0, 0), width=10, height=2) == ["", ""]
    assert bar_lines((), width=10, height=2) == ["", ""]
    # Thirty days in 20 columns: pairs of days share a column, so the last days still show.
    assert bar_lines((0,) * 29 + (8,), width=20, height=1) == [" " * 14 + "█"]


async def test_today_is_charted_per_hour(timeline) -> None:
    screen = MetricsScreen(reports(timeline), timeline.clock, "UTC")
    async with MetricsApp(screen).run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "Opened per hour, 0–23h: 3 in all, at most 1" in charts_text(screen)
        charts = screen.query_one("#metrics-charts", Charts)
        chart, width = charts.opened, charts.chart_width
        assert [h for h, n in enumerate(chart.values) if n] == [8, 12, 17]
        *bars, axis = str(chart.render(width)).splitlines()
        grid = busiest_grid(screen.report.busiest).plain.splitlines()
        shown = charts_text(screen).splitlines()  # under its caption, beside the busiest hours
        assert shown[1:4] == [f" {line.ljust(width)} {hours}" for line, hours in zip(bars + [axis], grid[1:4])]
        bottom = bars[-1]
        step = width // 24
        assert [i // step for i, c in enumerate(bottom) if c != " " and i % step == 0] == [8, 12, 17]
        assert axis == "0 2 4 6 8 10 13 16 19 22"  # each label at its hour's column, none touching


def test_axis_labels_sit_under_their_bars_and_never_touch() -> None:
    from datetime import date

    from screens.metrics.charts import axis_line, day_labels

    days = [date(2026, 11, 24 + n) if n < 7 else date(2026, 12, n - 6) for n in range(9)]
    labels = day_labels(days)
    assert labels[:3] == ("Nov 24", "25", "26") and labels[7] == "Dec 1"
    line = axis_line(labels, 54)  # 6 columns a day
    assert line.startswith("Nov 24") and line.index("26") == 12 and "Dec 1" in line
    assert axis_line(tuple(str(h) for h in range(24)), 24).split()[:4] == ["0", "2", "4", "6"]
    assert axis_line(("a",) * 30, 15) == " ".join("a" * 8)  # two days a column, one label each


async def test_a_period_not_cached_yet_says_how_far_it_got(timeline) -> None:
    import threading

    from agentconsole import metrics
    from tests.screens.helpers import screen_text

    gate, titles = threading.Event(), []

    def slow(spec, progress=None):
        def told(share):
            if progress is not None:
                progress(share)
            if share >= 0.5:
                gate.wait(5)  # hold the fill half way until the title has been read

        return metrics.compute(timeline.store, spec, timeline.clock.now(), "UTC", progress=told)

    screen = MetricsScreen(slow, timeline.clock, "UTC", period="30d")
    async with MetricsApp(screen).run_test(size=(80, 24)) as pilot:
        half = re.compile(r"30 days · computing the days not seen before… (5[0-9]|[6-9][0-9])%")
        for _ in range(250):  # the fill waits at half way, so the title must come to say so
            await pilot.pause(0.02)
            titles.append(text_of(screen, "#metrics-title"))
            if half.search(titles[-1]):
                break
        assert half.search(titles[-1]), titles[-3:]
        assert half.search(screen_text(pilot.app))  # painted, not hidden behind anything
        gate.set()
        await settle(pilot)
        assert "30 days · 2026-10-27 – 2026-11-25" in text_of(screen, "#metrics-title")
        assert "median 20m · p90 1d0h · 5 answered" in screen_text(pilot.app)
        assert "median 20m · p90 1d0h · 5 answered" in text_of(screen, "#metrics-summary")
        screen.load("30d")  # every past day is cached now: no progress, the same figures
        await settle(pilot)
        assert "median 20m · p90 1d0h · 5 answered" in text_of(screen, "#metrics-summary")


async def test_leaving_the_screen_stops_the_days_still_to_compute(timeline) -> None:
    """Installed and kept, as the inbox keeps it: back in the inbox, its worker stops at the next day
    instead of filling the rest of the period for nobody (seconds of a core at 300k conversations)."""
    import threading

    from agentconsole import metrics

    gate, days = threading.Event(), []

    def held(spec, progress=None):
        def told(share):
            if progress is not None:
                progress(share)  # the screen's own: raises once the screen was left
            days.append(share)
            if len(days) == 3:
                gate.wait(5)  # hold the fill until the screen has been left

        return metrics.compute(timeline.store, spec, timeline.clock.now(), "UTC", progress=told)

    class InstalledApp(App):
        def on_mount(self) -> None:
            self.install_screen(MetricsScreen(held, timeline.clock, "UTC", period="30d"), "metrics")
            self.push_screen("metrics")

    async with InstalledApp().run_test(size=(80, 24)) as pilot:
        for _ in range(250):
            await pilot.pause(0.02)
            if len(days) == 3:
                break
        await pilot.press("escape")
        await pilot.pause()
        gate.set()
        for _ in range(10):
            await pilot.pause(0.02)
        assert len(days) == 3, len(days)  # 29 days were missing: none after the screen was left


async def test_the_keys_scroll_the_figures_at_80x24_with_nothing_focused(timeline) -> None:
    screen = MetricsScreen(reports(timeline), timeline.clock, "UTC")
    async with MetricsApp(screen).run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        body = screen.query_one("#metrics-body")
        assert screen.focused is None and body.max_scroll_y > 0
        await pilot.press("end")
        await pilot.pause()
        assert body.scroll_y == body.max_scroll_y
        await pilot.press("up", "home")
        await pilot.pause()
        assert body.scroll_y == 0
        await pilot.press("down")
        await pilot.pause()
        assert body.scroll_y == 1
