"""CPU from process start to the console's first frame with rows, in a real pseudo-terminal, and what was imported by then.

Run: uv run python -m benchmarks.launch_probe --dir /tmp/you/w100k/data [--runs 5] [--against /tmp/you/base]

Each run starts the real `agentconsole` command (agentconsole.cli.main) in a child on a pty of 120x36. The
child wraps InboxScreen._start_after_first_paint, which the inbox calls once its first rows are painted
(screens/inbox/loading.py), notes time.process_time() (the whole process, interpreter start included) and
the modules loaded by then, and exits before anything that starts after the first paint. CPU time is far
steadier than wall time on a loaded machine, so it resolves changes the tmux ratio does not.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import select
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

CHILD = """
import json, os, sys, time
out_path = sys.argv[1]
os.environ.setdefault("TEXTUAL_FPS", "120")
from agentconsole.cli import main
from screens.inbox import screen as inbox_screen

start_after = inbox_screen.InboxScreen._start_after_first_paint

def noted(self):
    if not self._started:
        self._started = True
        with open(out_path, "w") as f:
            json.dump({"cpu_ms": time.process_time() * 1000, "rows": len(self.conversations.ids),
                       "modules": sorted(sys.modules)}, f)
        self.app.exit()
        return
    start_after(self)

inbox_screen.InboxScreen._start_after_first_paint = noted
sys.exit(main([]))
"""

# The floor: a bare one-Static Textual app (benchmarks/terminal.py's), noted after its first frame.
BARE = """
import json, sys, time
from textual.app import App
from textual.widgets import Static
out_path = sys.argv[1]
class Bare(App):
    def compose(self):
        yield Static("bare textual first paint")
    def on_mount(self):
        self.call_after_refresh(self.noted)
    def noted(self):
        with open(out_path, "w") as f:
            json.dump({"cpu_ms": time.process_time() * 1000, "rows": 0, "modules": sorted(sys.modules)}, f)
        self.exit()
Bare().run()
"""


def _set_size(fd: int, rows: int = 36, cols: int = 120) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def first_frame(data_dir: Path, timeout: float = 60.0, code: str = CHILD, root: Path | None = None) -> dict:
    """One start of the console on data_dir (or of `code`), from the tree at *root* (default: this one):
    {"cpu_ms", "wall_ms", "rows", "modules"}."""
    root = root or Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        out_path = Path(tmp) / "first_frame.json"
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env.update(PYTHONPATH=str(root), AGENTCONSOLE_DATA_DIR=str(data_dir),
                   AGENTCONSOLE_CONFIG=str(Path(tmp) / "none.toml"), TERM="xterm-256color")
        master, slave = os.openpty()
        _set_size(slave)
        start = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-c", code, str(out_path)], stdin=slave, stdout=slave,
                                 stderr=slave, env=env, close_fds=True, start_new_session=True,
                                 cwd=root)  # python -c puts the working directory first on sys.path
        os.close(slave)
        wall_ms = None
        # poll, not select: inside a long test run the pty's descriptor may be above select's 1024
        waiting = select.poll()
        waiting.register(master, select.POLLIN)
        try:
            while child.poll() is None and time.perf_counter() - start < timeout:
                if wall_ms is None and out_path.exists():
                    wall_ms = (time.perf_counter() - start) * 1000
                if waiting.poll(10):
                    try:
                        os.read(master, 65536)  # drained, so the child never blocks on a full pty
                    except OSError:
                        break
        finally:
            if child.poll() is None:
                child.kill()
            child.wait()
            os.close(master)
        if not out_path.exists():
            raise RuntimeError(f"the console never painted its first rows (exit {child.returncode})")
        result: dict = json.loads(out_path.read_text())
        result["wall_ms"] = wall_ms
        return result


def main(argv: list[str] | None = None) -> None:
    print(json.dumps(probe(argv), indent=1))


def probe(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", type=Path, required=True, help="a workspace's data directory (a copy)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--modules", action="store_true", help="also list our modules loaded by the first frame")
    parser.add_argument("--against", type=Path, help="another tree of the project (say, the base commit's, "
                        "from git archive) started in the same loop: its ratio and the paired difference")
    args = parser.parse_args(argv)
    trees = {"ours": None, **({"theirs": args.against.resolve()} if args.against else {})}
    for root in trees.values():
        first_frame(args.dir, root=root)  # warm-up: bytecode written, files cached
    first_frame(args.dir, code=BARE)
    runs: dict[str, list[dict]] = {name: [] for name in (*trees, "bare")}
    for i in range(args.runs):  # interleaved, A B B A ..., so a change in the load hits both alike
        order = [step for name in trees for step in (name, "bare")]
        for name in (order if i % 2 == 0 else order[::-1]):
            runs[name].append(first_frame(args.dir, code=BARE if name == "bare" else CHILD,
                                          root=None if name == "bare" else trees[name]))
    cpu = {name: [r["cpu_ms"] for r in done] for name, done in runs.items()}
    ours = [m for m in runs["ours"][-1]["modules"] if m.split(".")[0] in ("agentconsole", "screens", "connectors", "themes")]
    report = {"cpu_ms_median": round(statistics.median(cpu["ours"])), "cpu_ms_runs": [round(c) for c in cpu["ours"]],
              "floor_cpu_ms_median": round(statistics.median(cpu["bare"])),
              "floor_cpu_ms_runs": [round(c) for c in cpu["bare"]],
              "cpu_ratio": round(statistics.median(cpu["ours"]) / statistics.median(cpu["bare"]), 2),
              "wall_ms_runs": [round(r["wall_ms"] or 0) for r in runs["ours"]],
              "floor_wall_ms_runs": [round(r["wall_ms"] or 0) for r in runs["bare"]], "rows": runs["ours"][-1]["rows"],
              "modules_total": len(runs["ours"][-1]["modules"]), "modules_ours": len(ours),
              "load_average": [round(x, 2) for x in os.getloadavg()]}
    if args.against:
        # On a loaded machine a run's CPU swings by more than a small change: the difference of each
        # interleaved pair, and each tree's lowest run, resolve it better than the two medians alone.
        report.update(against_cpu_ms_median=round(statistics.median(cpu["theirs"])),
                      against_cpu_ms_runs=[round(c) for c in cpu["theirs"]],
                      against_cpu_ratio=round(statistics.median(cpu["theirs"]) / statistics.median(cpu["bare"]), 2),
                      paired_difference_ms_median=round(statistics.median(
                          a - b for a, b in zip(cpu["ours"], cpu["theirs"]))),
                      cpu_ms_min=round(min(cpu["ours"])), against_cpu_ms_min=round(min(cpu["theirs"])))
    if args.modules:
        report["ours"] = ours
    return report


if __name__ == "__main__":
    main()
