"""Measure agentconsole against DESIGN §6 and issue 20, each figure beside its floor, printed as JSON.

Builds (once, reused while its parameters match) a workspace of 100k conversations / ~1M messages through
the store API, then measures every figure interleaved with its floor in the same run (A B A B …, medians,
the order flipping each pair): launch and RSS against a bare Textual app (tmux, a real terminal), the
keypress against a bare Line-API list, the metrics screen against a bare 12-Static screen, search
against one exact FTS5 term, the metrics SQL against one pass over the period's index rows, ingest
against replaying the same SQL; and idle CPU. `--scaling` repeats the size-sensitive ones at 10k, 100k
and 300k conversations.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.build_db import build  # noqa: E402
from benchmarks.ratios import PAIRS, verdict  # noqa: E402

# figure -> (comparison, target): issue 20's ratios and DESIGN §6's absolute budgets.
TARGETS = {
    "launch_ratio": ("<=", 1.3),
    "launch_ms": ("<=", 400),
    "keypress_p50_ratio": ("<=", 1.2),
    "keypress_p95_ratio": ("<=", 1.2),
    "keypress_p95_ms": ("<=", 10),
    "search_max_ms": ("<=", 5),
    "metrics_screen_today_ratio": ("<=", 1.5),
    "metrics_screen_7d_ratio": ("<=", 1.5),
    "metrics_screen_30d_ratio": ("<=", 1.5),
    "ingest_ratio": (">=", 0.6),
    "ingest_messages_per_second": (">=", 25_000),
    "ingest_into_workspace_messages_per_second": (">=", 25_000),  # DESIGN §6 "sustained", at the workspace's size
    "rss_mb": ("<=", 150),
    "idle_cpu_percent_of_one_core": ("<=", 0.5),
    "memory_rss_worst_mb": ("<=", 150),
    "memory_idle_cpu_percent_of_one_core": ("<=", 0.5),
    "memory_after_clean_start_idle_cpu_percent_of_one_core": ("<=", 0.5),
}


def workspace(directory: Path, conversations: int, rebuild: bool) -> tuple[Path, dict]:
    """The built workspace in *directory*, built again only when asked or when its size differs."""
    data = directory / "data"
    db = data / "agentconsole.db"
    stamp = directory / "build.json"
    built = json.loads(stamp.read_text()) if stamp.exists() and db.exists() else None
    if rebuild or built is None or built.get("conversations") != conversations:
        data.mkdir(parents=True, exist_ok=True)
        built = build(db, conversations, 1000)
        stamp.write_text(json.dumps(built))
    return db, {"build_" + k: v for k, v in built.items()}


def measure_all(db: Path, conversations: int, idle: float, pairs: int, only: set[str] | None,
                postgres_url: str | None = None) -> dict:
    from benchmarks import inapp, storage_bench, terminal

    def wanted(name: str) -> bool:
        return only is None or name in only

    results: dict = {"conversations": conversations}
    if wanted("search"):
        results.update(storage_bench.search(db, pairs))
    if wanted("metrics"):
        results.update(storage_bench.metrics_figures(db, pairs))
        results.update(asyncio.run(inapp.metrics_screen(db, ("today", "7d", "30d"), pairs)))
    if wanted("keys"):
        results.update(asyncio.run(inapp.keypress(db, conversations, pairs)))
    if wanted("ingest"):
        results.update(storage_bench.ingest(db.parent.parent / "ingest", pairs))
        results.update(storage_bench.ingest_into(db, db.parent.parent / "ingest-into", min(pairs, 3)))
    if wanted("terminal"):
        results.update(terminal.measure(db.parent, idle, pairs))
    if wanted("memory"):  # RSS after launch, after browsing and the worst, then idle CPU, on one console
        results.update({f"memory_{k}": v for k, v in terminal.measure_memory(db.parent, idle).items()})
        # The same, on a workspace a console closed cleanly earlier the same day (the usual start): its
        # seal spares this start the quick check (soundness.py), which the first figure pays inside its window.
        if terminal.close_cleanly(db.parent):
            results.update({f"memory_after_clean_start_{k}": v
                            for k, v in terminal.measure_memory(db.parent, idle).items() if "idle" in k})
    if postgres_url and wanted("postgres"):  # the same workspace on a PostgreSQL server, beside SQLite
        from benchmarks import postgres

        results["postgres"] = postgres.measure(db, postgres_url, pairs)
    results["verdicts"] = {k: f"{v[0]} {v[1]}: {verdict(results.get(k), *v)} ({results[k]})"
                           for k, v in TARGETS.items() if k in results}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=ROOT / "benchmarks" / "out",
                        help="where the workspace is built and reused (per size under --scaling)")
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    parser.add_argument("--pairs", type=int, default=PAIRS, help="interleaved pairs per figure (at least 7)")
    parser.add_argument("--only", default="", help="comma-separated: search,metrics,keys,ingest,terminal,memory,postgres")
    parser.add_argument("--postgres", metavar="URL", help="also measure the workspace copied to this PostgreSQL "
                        "database (benchmarks/postgres.py; it is replaced)")
    parser.add_argument("--scaling", action="store_true", help="10k, 100k and 300k conversations")
    args = parser.parse_args()
    from agentconsole.cli import FRAME_RATE

    os.environ.setdefault("TEXTUAL_FPS", FRAME_RATE)  # the in-app measures run Textual as `agentconsole` does
    only = {x.strip() for x in args.only.split(",") if x.strip()} or None
    if args.scaling:
        out: dict = {}
        for size in (10_000, 100_000, 300_000):
            db, built = workspace(args.dir / f"w{size // 1000}k", size, args.rebuild)
            out[str(size)] = built | measure_all(db, size, args.idle_seconds, args.pairs,
                                                  only or {"search", "metrics", "keys", "terminal", "memory"})
    else:
        db, built = workspace(args.dir, args.conversations, args.rebuild)
        out = built | measure_all(db, args.conversations, args.idle_seconds, args.pairs, only, args.postgres)
    json.dump(out, sys.stdout, indent=2, ensure_ascii=False)
    print()


if __name__ == "__main__":
    main()
