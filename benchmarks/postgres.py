"""PostgreSQL beside SQLite on the same workspace, in the same run: launch, keypress, search and ingest,
each as PostgreSQL's median over SQLite's (interleaved pairs, the order flipping each pair). The server
copy is made from the SQLite workspace by `agentconsole db migrate-to`, whose throughput is reported too.

    uv run python benchmarks/run.py --dir DIR --only postgres --postgres postgresql://user@host:port/db

The password comes from PGPASSWORD or ~/.pgpass, as for the console.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks import terminal
from benchmarks.build_db import ACCOUNTS, stream
from benchmarks.ratios import PAIRS, interleave, percentile
from benchmarks.storage_bench import QUERIES

EXE = Path(sys.executable).with_name("agentconsole")
ROOT = Path(__file__).resolve().parents[1]


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 2) if b else None


def _admin(url: str, database: str = "postgres"):
    import psycopg

    return psycopg.connect(url.rsplit("/", 1)[0] + f"/{database}", autocommit=True)


def migrate(data_dir: Path, url: str) -> dict:
    """`db migrate-to` the workspace in *data_dir* to *url* (a copy already there is only verified; one
    that consoles have since written to is replaced), with its wall time and rows per second."""
    env = {**os.environ, "AGENTCONSOLE_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT)}
    out: dict = {}
    for extra in ([], ["--replace"]):
        started = time.perf_counter()
        done = subprocess.run([str(EXE), "db", "migrate-to", url, *extra], capture_output=True, text=True, env=env)
        seconds = time.perf_counter() - started
        if done.returncode == 0:
            last = done.stdout.strip().splitlines()[-1]
            rows = re.search(r"([\d,]+) rows", last)
            out.update(migrate_to_outcome=last, migrate_to_seconds=round(seconds, 1))
            if rows and "copied" in last:
                out["migrate_to_rows_per_second"] = round(int(rows.group(1).replace(",", "")) / seconds)
            out["migrate_to_report"] = done.stdout
            return out
        if "--replace" not in done.stderr:
            raise RuntimeError(f"migrate-to failed: {done.stderr.strip()[-500:]}")
    raise RuntimeError("migrate-to --replace failed")


def search(db: Path, url: str, pairs: int = PAIRS) -> dict:
    """Store.search of every benchmark query on both backends, interleaved: each query's medians, the
    slowest query on each side, and PostgreSQL's ratio over SQLite (of the slowest, and per query)."""
    from agentconsole.storage.store import Store

    lite, pg = Store(db), Store(url)

    def ms(store: Store, query: str) -> float:
        t = time.perf_counter()
        store.search(query, 50)
        return (time.perf_counter() - t) * 1000

    per = {q: interleave(lambda q=q: ms(pg, q), lambda q=q: ms(lite, q), pairs) for q in QUERIES}
    lite.close()
    pg.close()
    pg_worst = max(per, key=lambda q: per[q]["median"])
    lite_worst = max(per, key=lambda q: per[q]["floor"])
    ratios = sorted(r["ratio"] for r in per.values() if r["ratio"] is not None)
    return {"pg_search_max_ms": per[pg_worst]["median"], "pg_search_worst_query": pg_worst,
            "sqlite_search_max_ms": per[lite_worst]["floor"], "sqlite_search_worst_query": lite_worst,
            "pg_search_max_ratio": _ratio(per[pg_worst]["median"], per[lite_worst]["floor"]),
            "pg_search_median_query_ratio": ratios[len(ratios) // 2] if ratios else None,
            "pg_search_queries_ms": {q: [r["median"], r["floor"]] for q, r in per.items()}}


async def keypress(db: Path, url: str, pairs: int = PAIRS) -> dict:
    """Key-to-repaint p50 and p95 in the console's inbox list with its store on each backend."""
    from agentconsole.config import Config
    from agentconsole.domain.clock import SystemClock
    from agentconsole.session.session import Session
    from agentconsole.storage.store import Store
    from benchmarks.inapp import _keys
    from screens.app import AgentConsoleApp
    from screens.inbox.conversation_list import ConversationList

    async def run(location: Path | str) -> list[float]:
        store = Store(location, SystemClock())
        agent = store.ensure_agent("Bench")
        app = AgentConsoleApp(Session(store, clock=SystemClock(), config=Config(), agent_id=agent),
                              freeze_startup_objects=True)
        try:
            return await _keys(app, lambda a: a.screen.query_one(ConversationList))
        finally:
            store.close()

    runs: dict[str, list[list[float]]] = {"pg": [], "sqlite": []}
    for i in range(pairs):
        order = [("pg", url), ("sqlite", db)]
        for name, location in (order if i % 2 == 0 else order[::-1]):
            runs[name].append(await run(location))
    out: dict = {}
    for q, label in ((0.5, "p50"), (0.95, "p95")):
        a = statistics.median(percentile(r, q) for r in runs["pg"] if r)
        b = statistics.median(percentile(r, q) for r in runs["sqlite"] if r)
        out.update({f"pg_keypress_{label}_ms": round(a, 2), f"sqlite_keypress_{label}_ms": round(b, 2),
                    f"pg_keypress_{label}_ratio": _ratio(a, b)})
    return out


def launch(data_dir: Path, url: str, pairs: int = PAIRS, settle: float = 3.0) -> dict:
    """Launch to the painted inbox in tmux, `agentconsole` on the SQLite workspace against
    `agentconsole --storage-url URL` on its server copy, interleaved; RSS once settled."""
    if shutil.which("tmux") is None:
        return {"pg_launch_error": "tmux is not installed"}
    marker = terminal._first_row_name(data_dir / "agentconsole.db")
    env = (f"-u PYTHONDONTWRITEBYTECODE PYTHONPATH={ROOT} AGENTCONSOLE_DATA_DIR={data_dir} "
           f"AGENTCONSOLE_CONFIG={data_dir / 'none.toml'} TERM=xterm-256color")
    commands = {"sqlite": f"exec env {env} {EXE}", "pg": f"exec env {env} {EXE} --storage-url {url}"}
    session = f"acpg{os.getpid()}"
    runs: dict[str, list[float]] = {"pg": [], "sqlite": []}
    rss: dict[str, list[float]] = {"pg": [], "sqlite": []}
    for i in range(pairs):
        for name in (("pg", "sqlite") if i % 2 == 0 else ("sqlite", "pg")):
            painted, pid = terminal._launch(session, commands[name], lambda s: marker in s and "Waiting" in s,
                                            timeout=60)
            if painted is None or pid is None:
                screen = terminal._tmux("capture-pane", "-p", "-t", session)
                terminal._tmux("kill-session", "-t", session)
                return {"pg_launch_error": f"{name}: never painted", "screen": screen}
            runs[name].append(painted)
            time.sleep(settle)
            rss[name].append(terminal._rss_mb(pid))
            terminal._tmux("kill-session", "-t", session)
            time.sleep(0.3)
    a, b = statistics.median(runs["pg"]), statistics.median(runs["sqlite"])
    return {"pg_launch_ms": round(a), "sqlite_launch_ms": round(b), "pg_launch_ratio": _ratio(a, b),
            "pg_launch_runs_ms": [round(x) for x in runs["pg"]],
            "sqlite_launch_runs_ms": [round(x) for x in runs["sqlite"]],
            "pg_rss_mb": round(max(rss["pg"]), 1), "sqlite_rss_mb": round(max(rss["sqlite"]), 1)}


def _new_messages(store, count: int, end: float) -> list[tuple[int, list]]:
    """*count* messages of conversations the workspace does not have yet, grouped per batch and account."""
    ids = {name: a.id for a in store.accounts() for name, _ in ACCOUNTS if a.name == name}
    chosen = []
    for account, message in stream(count // 10 + 1, random.Random(11), end - 86400, 80000):
        chosen.append((ids[ACCOUNTS[account][0]], dataclasses.replace(
            message, external_id=f"pgbench-{message.external_id}", thread_key=f"pgbench-{message.thread_key}")))
        if len(chosen) >= count:
            break
    groups: list[tuple[int, list]] = []
    for start in range(0, len(chosen), 1000):
        per: dict[int, list] = {}
        for account_id, message in chosen[start:start + 1000]:
            per.setdefault(account_id, []).append(message)
        groups.extend(per.items())
    return groups


def ingest(db: Path, url: str, pairs: int = PAIRS, count: int = 5_000) -> dict:
    """Store.ingest of the same new batches into a fresh copy of the workspace on each backend (the SQLite
    file copied, the server database created from it as a template), messages per second, interleaved."""
    from agentconsole.domain.clock import FrozenClock
    from agentconsole.storage.store import Store

    end = float(int(time.time()))
    store = Store(db)
    batches = _new_messages(store, count, end)
    store.close()
    total = sum(len(b) for _, b in batches)
    work = db.parent.parent / "pg-ingest"
    work.mkdir(exist_ok=True)
    name = url.rsplit("/", 1)[1]
    scratch = f"{name}_ingest"

    def timed(location: Path | str) -> float:
        s = Store(location, FrozenClock(end))
        t = time.perf_counter()
        for account_id, group in batches:
            s.ingest(account_id, group, "pgbench")
        elapsed = time.perf_counter() - t
        s.close()
        return total / elapsed

    def lite() -> float:
        target = work / "copy.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        shutil.copy(db, target)
        return timed(target)

    def pg() -> float:
        with _admin(url) as conn:
            # A template must have no other sessions: the earlier measures' consoles may leave idle ones.
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s"
                         " AND pid <> pg_backend_pid()", (name,))
            conn.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{scratch}" TEMPLATE "{name}" STRATEGY FILE_COPY')
        try:
            return timed(url.rsplit("/", 1)[0] + f"/{scratch}")
        finally:
            with _admin(url) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')

    r = interleave(pg, lite, pairs)
    shutil.rmtree(work, ignore_errors=True)
    return {"pg_ingest_messages_per_second": round(r["median"]),
            "sqlite_ingest_messages_per_second": round(r["floor"]), "pg_ingest_ratio": r["ratio"],
            "pg_ingest_sample_messages": total}


def measure(db: Path, url: str, pairs: int = PAIRS, parts: set[str] | None = None) -> dict:
    """Every PostgreSQL figure beside SQLite's on the workspace *db*, the server copy made first. Each
    part's figures also go to stderr as one JSON line as soon as they are measured; a part that fails
    says why in its place and the others still run."""
    import json

    wanted = parts or {"migrate", "search", "keys", "ingest", "launch"}
    steps = [("migrate", lambda: migrate(db.parent, url)), ("search", lambda: search(db, url, pairs)),
             ("ingest", lambda: ingest(db, url, pairs)), ("keys", lambda: asyncio.run(keypress(db, url, pairs))),
             ("launch", lambda: launch(db.parent, url, pairs))]
    out: dict = {"pg_url": url}
    for name, step in steps:
        if name not in wanted:
            continue
        started = time.perf_counter()
        try:
            found = step()
        except Exception as exc:  # noqa: BLE001 - one part's failure is reported, the others still measured
            found = {f"pg_{name}_error": f"{type(exc).__name__}: {exc}"}
        found[f"pg_{name}_bench_seconds"] = round(time.perf_counter() - started, 1)
        print(json.dumps({name: found}, ensure_ascii=False), file=sys.stderr, flush=True)
        out.update(found)
    return out
