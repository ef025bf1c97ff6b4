"""Shared fixtures: XDG dirs in tmp_path, a frozen clock, and a fresh store."""

from __future__ import annotations

import pytest

from agentconsole.domain.clock import FrozenClock
from agentconsole.storage.store import Store

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
def store(tmp_path, clock) -> Store:
    s = Store(tmp_path / "test.db", clock)
    yield s
    s.close()
