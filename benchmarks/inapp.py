"""In-app measures against their floors, interleaved: a keypress in the inbox list against a bare
100k-row Line-API list, and the metrics screen against the push of a bare 12-Static screen."""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.geometry import Size
from textual.screen import Screen
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Static

from benchmarks.ratios import PAIRS, percentile

HELD = [("j", 30), ("k", 15), ("ctrl+d", 4), ("ctrl+u", 2)]
SINGLE = ["j"] * 10 + ["k"] * 5 + ["G", "g"] + ["ctrl+d"] * 3 + ["ctrl+u"] * 3
SINGLE_GAP = 0.2


class BareList(ScrollView, can_focus=True):
    """The floor: a Line-API list of plain rows with the same cursor moves and the same timing point."""

    BINDINGS = [Binding("j,down", "move(1)"), Binding("k,up", "move(-1)"), Binding("ctrl+d", "page(1)"),
                Binding("ctrl+u", "page(-1)"), Binding("g", "jump(0)"), Binding("G", "jump(-1)")]

    def __init__(self, rows: int) -> None:
        super().__init__()
        self.rows = rows
        self.cursor = 0
        self.render_timings: list[float] = []
        self.virtual_size = Size(100, rows)

    def render_line(self, y: int) -> Strip:
        row = int(self.scroll_y) + y
        if row >= self.rows:
            return Strip.blank(self.size.width)
        style = Style(reverse=True) if row == self.cursor else Style()
        text = f"{row:>7}  42m  X   @customer{row % 977:<6} my order {row} never arrived and nobody answers"
        return Strip([Segment(text[: self.size.width].ljust(self.size.width), style)])

    def _timed(self, index: int) -> None:
        started = time.perf_counter()
        previous, self.cursor = self.cursor, max(0, min(self.rows - 1, index))
        top, height = int(self.scroll_y), self.size.height
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)
        else:
            for y in {previous, self.cursor}:
                if top <= y < top + height:
                    self.refresh_line(y)  # a virtual line: refresh_line subtracts the scroll itself
        self.call_after_refresh(lambda: self.render_timings.append(time.perf_counter() - started))

    def action_move(self, step: int) -> None:
        self._timed(self.cursor + step)

    def action_page(self, step: int) -> None:
        self._timed(self.cursor + step * max(1, self.size.height // 2))

    def action_jump(self, where: int) -> None:
        self._timed(0 if where == 0 else self.rows - 1)


class BareListApp(App):
    def __init__(self, rows: int) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        yield BareList(self.rows)


async def _settle(app: App, widget_of, timeout: float = 20) -> None:
    """Wait until the list shows rows and the start-up loads had time to land."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        try:
            widget = widget_of(app)
        except Exception:  # not mounted yet
            widget = None
        if widget is not None and len(getattr(widget, "ids", (1,))) > 0:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)


async def _keys(app: App, widget_of, cpu: list[float] | None = None) -> list[float]:
    """Key-to-repaint times in ms; *cpu* gets the process's CPU time per key sent, in ms (steadier than
    wall time on a loaded machine: other processes do not inflate it)."""
    async def send(key: str, gap: float) -> None:
        app._driver.send_message(events.Key(key, key if len(key) == 1 else None))
        await asyncio.sleep(gap)

    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause(0.5)
        await _settle(app, widget_of)
        await pilot.pause(0.3)
        widget = widget_of(app)
        widget.focus()
        await pilot.pause(0.1)
        widget.render_timings.clear()
        cpu_started = time.process_time()
        for key, count in HELD:
            for _ in range(count):
                await send(key, 1 / 30)
            await asyncio.sleep(0.3)
        for key in SINGLE:
            await send(key, SINGLE_GAP)
        await pilot.pause(0.3)
        if cpu is not None:
            cpu.append((time.process_time() - cpu_started) * 1000 / (sum(n for _, n in HELD) + len(SINGLE)))
        return [t * 1000 for t in widget.render_timings]


async def keypress(db: Path, rows: int, pairs: int = PAIRS) -> dict:
    """p50 and p95 of key-to-repaint per run, the console's inbox list against the bare list; medians
    over the interleaved runs and their ratios."""
    from agentconsole.config import Config
    from agentconsole.domain.clock import SystemClock
    from agentconsole.storage.store import Store
    from screens.app import AgentConsoleApp
    from screens.inbox.conversation_list import ConversationList

    async def ours() -> list[float]:
        store = Store(db, SystemClock())
        agent = store.ensure_agent("Bench")
        from agentconsole.session.session import Session

        app = AgentConsoleApp(Session(store, clock=SystemClock(), config=Config(), agent_id=agent),
                              freeze_startup_objects=True)  # as `agentconsole` runs it
        try:
            return await _keys(app, lambda a: a.screen.query_one(ConversationList), cpu["ours"])
        finally:
            store.close()

    async def bare() -> list[float]:
        return await _keys(BareListApp(rows), lambda a: a.query_one(BareList), cpu["floor"])

    cpu: dict[str, list[float]] = {"ours": [], "floor": []}
    runs: dict[str, list[list[float]]] = {"ours": [], "floor": []}
    for i in range(pairs):
        order = (("ours", ours), ("floor", bare)) if i % 2 == 0 else (("floor", bare), ("ours", ours))
        for name, run in order:
            runs[name].append(await run())
    out: dict = {}
    for q, label in ((0.5, "p50"), (0.95, "p95")):
        a = statistics.median(percentile(r, q) for r in runs["ours"] if r)
        b = statistics.median(percentile(r, q) for r in runs["floor"] if r)
        out[f"keypress_{label}_ms"] = round(a, 2)
        out[f"keypress_{label}_floor_ms"] = round(b, 2)
        out[f"keypress_{label}_ratio"] = round(a / b, 2) if b else None
    a, b = statistics.median(cpu["ours"]), statistics.median(cpu["floor"])
    out["keypress_cpu_ms"], out["keypress_cpu_floor_ms"] = round(a, 2), round(b, 2)
    out["keypress_cpu_ratio"] = round(a / b, 2) if b else None
    out["keypress_samples"] = sum(len(r) for r in runs["ours"])
    return out


class TwelveStatics(Screen):
    """The metrics screen's floor: a screen of twelve Statics, pushed and painted."""

    def compose(self) -> ComposeResult:
        for i in range(12):
            yield Static(f"figure {i}: 42")


class Host(App):
    def compose(self) -> ComposeResult:
        yield Static("host")


async def metrics_screen(db: Path, specs: tuple[str, ...], pairs: int = PAIRS) -> dict:
    """From pushing the metrics screen for a period to its figures painted, against pushing a bare
    12-Static screen to its first paint; both fresh screens each time, interleaved."""
    from agentconsole import metrics
    from agentconsole.domain.clock import SystemClock
    from agentconsole.storage.store import Store
    from screens.metrics.screen import MetricsScreen

    store = Store(db, SystemClock())

    def report(spec: str, progress: metrics.Progress | None = None) -> metrics.Report:
        return metrics.compute(store, spec, SystemClock().now(), progress=progress)

    app = Host()
    out: dict = {}
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause(0.2)

        async def painted(screen: Screen, ready) -> float:
            started = time.perf_counter()
            done = asyncio.get_running_loop().create_future()
            await app.push_screen(screen)
            while not ready(screen):
                if time.perf_counter() - started > 60:
                    raise RuntimeError(f"{type(screen).__name__} showed no figures in 60 s")
                await asyncio.sleep(0.001)
            screen.call_after_refresh(lambda: done.set_result(time.perf_counter()))
            elapsed = (await done - started) * 1000
            await app.pop_screen()
            await pilot.pause(0.05)
            return elapsed

        for spec in specs:
            # The first look at a period computes and caches the days it lacks (once per workspace):
            # timed on its own, then the pairs time the screen as every later look finds it.
            out[f"metrics_screen_{spec}_first_ms"] = round(await painted(
                MetricsScreen(report, SystemClock(), period=spec), lambda s: s.report is not None), 1)
            a, b = [], []
            for i in range(pairs):
                jobs = [("a", lambda spec=spec: painted(MetricsScreen(report, SystemClock(), period=spec),
                                              lambda s: s.report is not None)),
                        ("b", lambda: painted(TwelveStatics(), lambda s: True))]
                for name, job in (jobs if i % 2 == 0 else jobs[::-1]):
                    (a if name == "a" else b).append(await job())
            ma, mb = statistics.median(a), statistics.median(b)
            out[f"metrics_screen_{spec}_ms"] = round(ma, 1)
            out[f"metrics_screen_{spec}_floor_ms"] = round(mb, 1)
            out[f"metrics_screen_{spec}_ratio"] = round(ma / mb, 2)
    store.close()
    return out
