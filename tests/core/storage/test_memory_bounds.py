"""SQLite's memory is bounded by [storage] cache_mb, not by the size of the file or the number of threads."""

from __future__ import annotations

import _sqlite3
import ctypes
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentconsole import config
from agentconsole.storage import db
from agentconsole.storage.store import Store

MIB = 1024 * 1024


def _memory_used() -> int:
    """sqlite3_memory_used(): every byte SQLite holds in this process, all connections together."""
    used = ctypes.CDLL(_sqlite3.__file__).sqlite3_memory_used
    used.restype = ctypes.c_int64
    return int(used())


@pytest.fixture
def cache_mb() -> Iterator[None]:
    before = db._Memory.cache_mb
    yield
    db.set_cache_mb(before)


def _pragmas(conn: sqlite3.Connection) -> tuple[int, int, int]:
    cache, heap, mmap = (int(conn.execute(f"PRAGMA {name}").fetchone()[0])
                         for name in ("cache_size", "soft_heap_limit", "mmap_size"))
    return cache, heap, mmap


def test_every_connection_gets_the_configured_bound(tmp_path: Path, cache_mb: None) -> None:
    conn = db.connect(tmp_path / "a.db")
    assert _pragmas(conn) == (-round(db.DEFAULT_CACHE_MB * 1024), round(db.DEFAULT_CACHE_MB * MIB), 0)
    conn.close()
    db.set_cache_mb(3)
    conn = db.connect(tmp_path / "a.db")
    assert _pragmas(conn) == (-3 * 1024, 3 * MIB, 0)
    conn.close()


def test_a_bound_of_nothing_is_refused(cache_mb: None) -> None:
    for bad in (0, -1, float("nan")):
        with pytest.raises(ValueError):
            db.set_cache_mb(bad)


def test_each_thread_connection_of_a_store_gets_the_bound(tmp_path: Path, cache_mb: None) -> None:
    db.set_cache_mb(2)
    store = Store(tmp_path / "s.db")
    seen: list[tuple[int, int, int]] = []

    def work() -> None:
        seen.append(_pragmas(store.conn))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seen.append(_pragmas(store.conn))
    store.close()
    assert seen == [(-2 * 1024, 2 * MIB, 0)] * 5


def _scan_in_threads(path: Path, threads: int) -> int:
    """Open one connection per thread, each reading the whole table through its page cache; SQLite's memory
    while all of them are still open."""
    conns = [db.connect(path) for _ in range(threads)]

    def scan(conn: sqlite3.Connection) -> None:
        conn.execute("SELECT sum(length(body)) FROM t").fetchone()

    workers = [threading.Thread(target=scan, args=(c,)) for c in conns]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    used = _memory_used()
    for c in conns:
        c.close()
    return used


def test_four_threads_over_a_file_larger_than_the_cache_stay_within_it(tmp_path: Path, cache_mb: None) -> None:
    path = tmp_path / "big.db"
    conn = db.connect(path)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
    conn.executemany("INSERT INTO t (body) VALUES (?)", ((f"{i:08d}" * 100,) for i in range(24_000)))  # ~20 MB
    conn.close()
    db.set_cache_mb(64)
    unbounded = _scan_in_threads(path, 4)  # the scan fills each cache: it would exceed the small bound
    db.set_cache_mb(2)
    bounded = _scan_in_threads(path, 4)
    assert unbounded > 8 * MIB
    assert bounded < 2 * MIB + MIB  # the bound, plus what each connection holds beside its pages


def test_cache_mb_is_read_from_the_storage_table(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    assert config.load(path).storage_cache_mb == db.DEFAULT_CACHE_MB  # the two defaults agree
    path.write_text("[storage]\ncache_mb = 48\n")
    assert config.load(path).storage_cache_mb == 48.0
    path.write_text("[storage]\ncache_mb = 0\n")
    with pytest.raises(config.ConfigError, match="cache_mb"):
        config.load(path)


def test_the_cli_applies_cache_mb_from_the_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             cache_mb: None) -> None:
    from agentconsole import cli

    (tmp_path / "config.toml").write_text("[storage]\ncache_mb = 5\n")
    monkeypatch.setenv("AGENTCONSOLE_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("AGENTCONSOLE_DATA_DIR", str(tmp_path / "data"))
    cli.main(["db", "check"])  # whatever it finds of the fresh folder, the config was applied first
    assert db.memory_pragmas()[0] == f"PRAGMA cache_size = -{5 * 1024}"
