"""Measure agentconsole against the budgets of DESIGN §6 and print the figures as JSON.

Builds (once) a workspace of 100k conversations / 1M messages through the store API, then measures:
ingest rate, launch to first painted inbox and the metrics screen's first open in a real terminal
(tmux), keypress-to-repaint p95 inside the app, full-text search, the metrics SQL per period, idle CPU
with the counters ticking, and memory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.build_db import build  # noqa: E402

BUDGETS = {
    "launch_to_first_paint_ms": ("<=", 400),
    "keypress_repaint_p95_ms": ("<=", 10),
    "search_first50_max_ms": ("<=", 50),
    "ingest_messages_per_second": (">=", 25_000),
    "idle_cpu_percent_of_one_core": ("<=", 1.0),
    "rss_mb": ("<=", 150),
    "metrics_screen_open_ms": ("<=", 200),
}
QUERIES = ["order", "refund", "arrived", "never arrived", "invoice 4", "dana", "李娜", "x", "zzzz",
           "thanks for", "tracking link", "sunday", "parcel", "photo box", "WINTER1"]


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def measure_search(db: Path) -> dict:
    from agentconsole.storage.store import Store

    store = Store(db)
    times = []
    for _ in range(3):
        for query in QUERIES:
            t = time.perf_counter()
            store.search(query, 50)
            times.append((time.perf_counter() - t) * 1000)
    store.close()
    return {"search_first50_max_ms": round(max(times), 2), "search_first50_p50_ms": round(statistics.median(times), 2)}


def _tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=False).stdout


def _first_row_name(db: Path) -> str:
    from agentconsole.storage.store import Store

    store = Store(db)
    ids = store.conversation_ids("all")
    row = store.conversations_by_ids([ids[0]])[ids[0]]
    store.close()
    return (row.contact_name or row.handle)[:12]


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


BARE_APP = """
from textual.app import App
from textual.widgets import Static
class Bare(App):
    def compose(self):
        yield Static("bare textual first paint")
Bare().run()
"""


def _time_to_screen(session: str, command: str, marker: str, timeout: float = 15) -> float | None:
    _tmux("kill-session", "-t", session)
    start = time.perf_counter()
    _tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "36", command)
    while time.perf_counter() - start < timeout:
        if marker in _tmux("capture-pane", "-p", "-t", session):
            return (time.perf_counter() - start) * 1000
        time.sleep(0.002)
    return None


def measure_bare_textual() -> dict:
    """The floor on this machine: a one-widget Textual app from launch to its first painted frame."""
    script = Path(os.environ.get("TMPDIR", "/tmp")) / "agentconsole_bare_app.py"
    script.write_text(BARE_APP)
    session = f"acbare{os.getpid()}"
    runs = [_time_to_screen(session, f"exec env -u PYTHONDONTWRITEBYTECODE {sys.executable} {script}",
                            "bare textual first paint") for _ in range(3)]
    _tmux("kill-session", "-t", session)
    runs = [r for r in runs if r is not None]
    return {"bare_textual_first_paint_ms": round(min(runs)) if runs else None}


def measure_terminal(data_dir: Path, idle_seconds: float) -> dict:
    """Launch the console in tmux three times; time until the first conversation is on screen, then from
    the key m until the metrics screen shows today's figures (its first open in that process, the slow
    one); then sample the last launch idle on the inbox."""
    if shutil.which("tmux") is None:
        return {"launch_error": "tmux is not installed"}
    marker = _first_row_name(data_dir / "agentconsole.db")
    exe = Path(sys.executable).with_name("agentconsole")
    session = f"acbench{os.getpid()}"
    # A normal host caches bytecode; this sandbox sets PYTHONDONTWRITEBYTECODE, which would make every
    # launch compile our modules again.
    env = (f"-u PYTHONDONTWRITEBYTECODE AGENTCONSOLE_DATA_DIR={data_dir} "
           f"AGENTCONSOLE_CONFIG={data_dir / 'none.toml'} TERM=xterm-256color")
    launches, metrics_opens = [], []
    pid = None
    for attempt in range(3):
        _tmux("kill-session", "-t", session)
        start = time.perf_counter()
        _tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "36", f"exec env {env} {exe}")
        painted = _poll(session, lambda screen: marker in screen and "Waiting" in screen, start, 15)
        if painted is None:
            return {"launch_error": "the inbox never appeared", "screen": _tmux("capture-pane", "-p", "-t", session)}
        launches.append(painted)
        pid = int(_tmux("list-panes", "-t", session, "-F", "#{pane_pid}").split()[0])
        time.sleep(2)  # past the first sync, as a person would open it
        start = time.perf_counter()
        _tmux("send-keys", "-t", session, "m")
        # "Response rate" only follows a computed figure; before that the title says "computing…".
        opened = _poll(session, lambda screen: "Response rate" in screen and "Per channel" in screen, start, 10)
        if opened is None:
            return {"metrics_error": "the metrics screen never showed figures",
                    "screen": _tmux("capture-pane", "-p", "-t", session)}
        metrics_opens.append(opened)
        _tmux("send-keys", "-t", session, "Escape")
        if attempt < 2:
            _tmux("kill-session", "-t", session)
            time.sleep(0.5)
    time.sleep(5)  # let the first sync settle
    cpu0, wall0 = _cpu_seconds(pid), time.perf_counter()
    time.sleep(idle_seconds)
    cpu = (_cpu_seconds(pid) - cpu0) / (time.perf_counter() - wall0) * 100
    rss = _rss_mb(pid)
    screen = _tmux("capture-pane", "-p", "-t", session)
    _tmux("kill-session", "-t", session)
    return {"launch_to_first_paint_ms": round(min(launches)), "launch_runs_ms": [round(x) for x in launches],
            "metrics_screen_open_ms": round(max(metrics_opens)),
            "metrics_screen_open_runs_ms": [round(x) for x in metrics_opens],
            "idle_cpu_percent_of_one_core": round(cpu, 2), "idle_seconds": idle_seconds, "rss_mb": round(rss, 1),
            "screen_lines_with_content": sum(1 for line in screen.splitlines() if line.strip())}


def _poll(session: str, seen, start: float, timeout: float) -> float | None:
    """Milliseconds from *start* until the pane shows what *seen* looks for; polled every 5 ms, which
    leaves the app most of a core on this 2-core machine."""
    while time.perf_counter() - start < timeout:
        if seen(_tmux("capture-pane", "-p", "-t", session)):
            return (time.perf_counter() - start) * 1000
        time.sleep(0.005)
    return None


async def _keypress(db: Path) -> dict:
    """Keys sent to the running app as a terminal would send them, at a person's pace: runs of a held
    key at auto-repeat rate (30 a second) and single presses a quarter second apart, so the conversation
    pane loads between them as it does in use. The list records each key's time to its repaint."""
    from textual import events

    from agentconsole.domain.clock import SystemClock
    from agentconsole.config import Config
    from agentconsole.storage.store import Store
    from screens.app import AgentConsoleApp
    from screens.inbox.conversation_list import ConversationList

    store = Store(db, SystemClock())
    agent = store.ensure_agent("Bench")
    from agentconsole.session.session import Session

    app = AgentConsoleApp(Session(store, clock=SystemClock(), config=Config(), agent_id=agent),
                          freeze_startup_objects=True)  # as `agentconsole` runs it
    held = [("j", 60), ("k", 30), ("ctrl+d", 10), ("j", 40), ("ctrl+u", 5)]
    single = ["j"] * 40 + ["k"] * 20 + ["G", "g"] * 5 + ["ctrl+d"] * 10 + ["ctrl+u"] * 10

    async def send(key: str, gap: float) -> None:
        app._driver.send_message(events.Key(key, key if len(key) == 1 else None))
        await asyncio.sleep(gap)

    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause(1.0)
        await app.workers.wait_for_complete()
        await pilot.pause(0.5)
        widget = app.screen.query_one(ConversationList)
        widget.focus()
        widget.render_timings.clear()
        for key, count in held:
            for _ in range(count):
                await send(key, 1 / 30)
            await asyncio.sleep(0.3)
        held_timings = [t * 1000 for t in widget.render_timings]
        widget.render_timings.clear()
        for key in single:
            await send(key, 0.25)
        await pilot.pause(0.5)
        single_timings = [t * 1000 for t in widget.render_timings]
    store.close()
    timings = held_timings + single_timings
    if not timings:
        return {"keypress_error": "no timings recorded"}
    return {"keypress_repaint_p95_ms": round(percentile(timings, 0.95), 2),
            "keypress_repaint_p50_ms": round(statistics.median(timings), 2), "keypress_samples": len(timings),
            "keypress_held_p95_ms": round(percentile(held_timings, 0.95), 2) if held_timings else None,
            "keypress_single_p95_ms": round(percentile(single_timings, 0.95), 2) if single_timings else None}


def measure_metrics_figures(db: Path) -> dict:
    """The SQL behind the metrics screen, per period, on a fresh connection as the screen's worker has."""
    from agentconsole import metrics
    from agentconsole.domain.clock import SystemClock
    from agentconsole.storage.store import Store

    figures = {}
    now = SystemClock().now()
    for spec in ("today", "7d", "30d"):
        store = Store(db, SystemClock())
        t = time.perf_counter()
        metrics.compute(store, spec, now)
        figures[f"metrics_{spec}_ms"] = round((time.perf_counter() - t) * 1000)
        store.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=ROOT / "benchmarks" / "out")
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    args = parser.parse_args()
    from agentconsole.cli import FRAME_RATE

    os.environ.setdefault("TEXTUAL_FPS", FRAME_RATE)  # the in-app measures run Textual as `agentconsole` does
    data = args.dir / "data"
    db = data / "agentconsole.db"
    stamp = args.dir / "build.json"
    results: dict = {}
    if args.rebuild or not db.exists() or not stamp.exists():
        data.mkdir(parents=True, exist_ok=True)
        built = build(db, args.conversations, 1000)
        stamp.write_text(json.dumps(built))
    results.update(json.loads(stamp.read_text()))
    results.update(measure_search(db))
    results.update(asyncio.run(_keypress(db)))
    results.update(measure_metrics_figures(db))
    results.update(measure_bare_textual())
    results.update(measure_terminal(data, args.idle_seconds))
    verdicts = {}
    for key, (op, budget) in BUDGETS.items():
        if key in results:
            value = results[key]
            verdicts[key] = "ok" if (value <= budget if op == "<=" else value >= budget) else "OVER BUDGET"
    results["budgets"] = {k: f"{BUDGETS[k][0]} {BUDGETS[k][1]}: {v}" for k, v in verdicts.items()}
    json.dump(results, sys.stdout, indent=2, ensure_ascii=False)
    print()


if __name__ == "__main__":
    main()
