"""Shared fixtures: XDG dirs in tmp_path, a frozen clock, and a fresh store (on SQLite, and on PostgreSQL
too in the modules marked both_backends)."""

from __future__ import annotations

import pytest

from agentconsole.domain.clock import FrozenClock
from agentconsole.storage.store import Store
from tests import pg

BACKENDS = ("sqlite", "postgresql")


def pytest_configure(config):
    config.addinivalue_line("markers", "both_backends: the store fixture runs on SQLite and on PostgreSQL")
    config.addinivalue_line("markers", "sqlite_only: a test of what only the SQLite backend has")


def pytest_generate_tests(metafunc):
    """A module (or test) marked both_backends gets its store on each backend; sqlite_only opts out."""
    if ("store_backend" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_backends")
            and not metafunc.definition.get_closest_marker("sqlite_only")):
        metafunc.parametrize("store_backend", BACKENDS)


def pytest_sessionfinish(session, exitstatus):
    pg.drop_template()

T0 = 1_764_061_200.0  # 2025-11-25 09:00 UTC, a Tuesday


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path, monkeypatch):
    """Nothing a test does touches the real home: data, config and keyring dirs live in tmp_path."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("AGENTCONSOLE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("AGENTCONSOLE_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("AGENTCONSOLE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
def store_backend() -> str:
    return "sqlite"


@pytest.fixture
def store(tmp_path, clock, store_backend) -> Store:
    if store_backend == "postgresql":
        url = pg.fresh_database()
        s = Store(url, clock)
        yield s
        s.close()
        pg.drop(url)
        return
    s = Store(tmp_path / "test.db", clock)
    yield s
    s.close()
