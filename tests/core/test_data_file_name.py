"""The data files keep the names DESIGN §7 and the README give them, whatever the code layout."""

from __future__ import annotations

from agentconsole import paths


def test_database_files_are_named_as_documented(monkeypatch, tmp_path):
    monkeypatch.setenv("AGENTCONSOLE_DATA_DIR", str(tmp_path))
    assert paths.database_path(False) == tmp_path / "agentconsole.db"
    assert paths.database_path(True) == tmp_path / "demo.db"
