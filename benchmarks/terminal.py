"""Launch, memory and idle CPU in a real terminal (tmux), against a bare one-Static Textual app."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.ratios import PAIRS

BARE_APP = """
from textual.app import App
from textual.widgets import Static
class Bare(App):
    def compose(self):
        yield Static("bare textual first paint")
Bare().run()
"""


def _tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=False).stdout


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _first_row_name(db: Path) -> str:
    from agentconsole.storage.store import Store

    store = Store(db)
    ids = store.conversation_ids("all")
    row = store.conversations_by_ids([ids[0]])[ids[0]]
    store.close()
    return (row.contact_name or row.handle)[:12]


def _launch(session: str, command: str, seen, timeout: float = 20) -> tuple[float | None, int | None]:
    _tmux("kill-session", "-t", session)
    start = time.perf_counter()
    _tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "36", command)
    while time.perf_counter() - start < timeout:
        if seen(_tmux("capture-pane", "-p", "-t", session)):
            elapsed = (time.perf_counter() - start) * 1000
            return elapsed, int(_tmux("list-panes", "-t", session, "-F", "#{pane_pid}").split()[0])
        time.sleep(0.005)  # leaves the app most of a core on this 2-core machine
    return None, None


Seen = Callable[[str], bool]


def _commands(data_dir: Path, root: Path | None = None) -> tuple[tuple[str, Seen], tuple[str, Seen], Path]:
    """The console's tmux command and when its first inbox is painted (its first row and the wait line),
    the bare app's and when its text is, and the bare app's script (the caller removes it). *root*: the
    tree under test, ahead of any installed copy (default: this one)."""
    marker = _first_row_name(data_dir / "agentconsole.db")
    script = Path(os.environ.get("TMPDIR", "/tmp")) / f"agentconsole_bare_app_{os.getpid()}.py"
    script.write_text(BARE_APP)
    exe = Path(sys.executable).with_name("agentconsole")
    root = root or Path(__file__).resolve().parents[1]
    # A normal host caches bytecode; this sandbox sets PYTHONDONTWRITEBYTECODE, which would make every
    # launch compile our modules again.
    env = (f"-u PYTHONDONTWRITEBYTECODE PYTHONPATH={root} AGENTCONSOLE_DATA_DIR={data_dir} "
           f"AGENTCONSOLE_CONFIG={data_dir / 'none.toml'} TERM=xterm-256color")
    ours = (f"exec env {env} {exe}", lambda s: marker in s and "Waiting" in s)
    bare = (f"exec env -u PYTHONDONTWRITEBYTECODE TERM=xterm-256color {sys.executable} {script}",
            lambda s: "bare textual first paint" in s)
    return ours, bare, script


def _idle(pid: int, seconds: float, window: float = 5.0) -> dict:
    """CPU of *pid* over *seconds*, as a share of one core, and per *window* seconds (a burst, such as
    a minute's work landing in the measure, shows as one high window)."""
    windows = []
    cpu0, wall0 = _cpu_seconds(pid), time.perf_counter()
    end = wall0 + seconds
    while (left := end - time.perf_counter()) > 0.01:
        c, w = _cpu_seconds(pid), time.perf_counter()
        time.sleep(min(window, left))
        windows.append(round((_cpu_seconds(pid) - c) / (time.perf_counter() - w) * 100, 1))
    return {"idle_cpu_percent_of_one_core": round((_cpu_seconds(pid) - cpu0) / (time.perf_counter() - wall0) * 100, 2),
            "idle_seconds": seconds, "idle_windows_percent": windows}


def measure(data_dir: Path, idle_seconds: float, pairs: int = PAIRS, settle: float = 3.0) -> dict:
    """Interleaved launches of the console and the bare app: time to the first painted inbox (its first
    row and the wait line) and to the bare app's text, then RSS once settled; then the console idle."""
    if shutil.which("tmux") is None:
        return {"launch_error": "tmux is not installed"}
    ours, bare, script = _commands(data_dir)
    session = f"acbench{os.getpid()}"
    runs: dict[str, list[float]] = {"ours": [], "bare": []}
    rss: dict[str, list[float]] = {"ours": [], "bare": []}
    for i in range(pairs):
        for name in (("ours", "bare") if i % 2 == 0 else ("bare", "ours")):
            command, seen = ours if name == "ours" else bare
            painted, pid = _launch(session, command, seen)
            if painted is None or pid is None:
                screen = _tmux("capture-pane", "-p", "-t", session)
                _tmux("kill-session", "-t", session)
                return {"launch_error": f"{name}: never painted", "screen": screen}
            runs[name].append(painted)
            time.sleep(settle)  # past the first sync and the loads after the first paint
            rss[name].append(_rss_mb(pid))
            _tmux("kill-session", "-t", session)
            time.sleep(0.3)
    out = {}
    a, b = statistics.median(runs["ours"]), statistics.median(runs["bare"])
    out.update(launch_ms=round(a), launch_floor_ms=round(b), launch_ratio=round(a / b, 2),
               launch_runs_ms=[round(x) for x in runs["ours"]], launch_floor_runs_ms=[round(x) for x in runs["bare"]])
    out.update(rss_mb=round(max(rss["ours"]), 1), rss_floor_mb=round(statistics.median(rss["bare"]), 1))
    painted, pid = _launch(session, *ours)
    if pid is not None:
        time.sleep(5)  # let the first sync settle
        out.update(_idle(pid, idle_seconds))
        out["rss_after_idle_mb"] = round(_rss_mb(pid), 1)
    _tmux("kill-session", "-t", session)
    script.unlink(missing_ok=True)
    return out


BROWSE_QUERIES = ("refund", "order", "shipping", "password", "invoice", "thanks", "delivery", "account", "help",
                  "late")


def _rss_peak_mb(pid: int) -> float:
    """VmHWM: the most the process has ever held resident, so a peak between two samples is not missed."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _quiet(pid: int, limit: float = 120.0) -> None:
    """Until *pid* has used under 5 % of a core for two seconds running (its start-up check is over)."""
    end, calm = time.perf_counter() + limit, 0
    while time.perf_counter() < end and calm < 2:
        cpu = _cpu_seconds(pid)
        time.sleep(1.0)
        calm = calm + 1 if _cpu_seconds(pid) - cpu < 0.05 else 0


def close_cleanly(data_dir: Path, root: Path | None = None) -> bool:
    """An earlier session of the day: the console started, left until its start-up check is done, quit
    with `q` (a clean close, which seals a checked file). True when it quit by itself."""
    ours, _bare, script = _commands(data_dir, root)
    script.unlink(missing_ok=True)
    session = f"acprime{os.getpid()}"
    _painted, pid = _launch(session, *ours)
    if pid is None:
        _tmux("kill-session", "-t", session)
        return False
    time.sleep(3.0)
    _quiet(pid)
    _tmux("send-keys", "-t", session, "q")
    end = time.perf_counter() + 20
    while Path(f"/proc/{pid}").exists() and time.perf_counter() < end:
        time.sleep(0.1)
    gone = not Path(f"/proc/{pid}").exists()
    _tmux("kill-session", "-t", session)
    return gone


def measure_memory(data_dir: Path, idle_seconds: float, settle: float = 3.0, root: Path | None = None) -> dict:
    """The console's RSS after launch, after browsing (the list to the bottom and back, 50 conversations
    opened, 10 searches, the metrics screen) and the worst along the way, then its idle CPU over
    *idle_seconds* with the live counters ticking; the bare app's RSS in the same run as the floor. *root*: the
    tree under test (default: this one; another to measure a previous version the same way)."""
    if shutil.which("tmux") is None:
        return {"memory_error": "tmux is not installed"}
    ours, bare, script = _commands(data_dir, root)
    session = f"acmem{os.getpid()}"
    out: dict = {}
    painted, pid = _launch(session, *bare)
    if pid is not None:
        time.sleep(settle)
        out["rss_bare_mb"] = round(_rss_mb(pid), 1)
    _tmux("kill-session", "-t", session)
    script.unlink(missing_ok=True)
    painted, pid = _launch(session, *ours)
    if pid is None:
        _tmux("kill-session", "-t", session)
        return out | {"memory_error": "the console never painted"}

    def keys(*names: str, wait: float = 0.15) -> None:
        _tmux("send-keys", "-t", session, *names)
        time.sleep(wait)

    time.sleep(settle)
    out["rss_after_launch_mb"] = round(_rss_mb(pid), 1)
    keys("G", wait=2.0)
    keys("g", wait=2.0)
    for _ in range(50):
        keys("j")
        keys("Enter")
    for query in BROWSE_QUERIES:
        keys("/", wait=0.5)
        keys("-l", query, wait=0.3)
        keys("Enter", wait=1.0)
        keys("Escape", wait=0.3)
    keys("m", wait=4.0)
    out["metrics_screen_seen"] = "Metrics" in _tmux("capture-pane", "-p", "-t", session)
    keys("Escape", wait=settle)
    out["rss_after_browsing_mb"] = round(_rss_mb(pid), 1)
    out.update(_idle(pid, idle_seconds))
    out["rss_after_idle_mb"] = round(_rss_mb(pid), 1)
    out["rss_worst_mb"] = round(_rss_peak_mb(pid), 1)
    out["load_average"] = [round(x, 2) for x in os.getloadavg()]
    _tmux("kill-session", "-t", session)
    return out
