"""Where agentconsole keeps its files (platformdirs); these functions only compute paths."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "agentconsole"


def config_path() -> Path:
    override = os.environ.get("AGENTCONSOLE_CONFIG")
    if override:
        return Path(override)
    return Path(platformdirs.user_config_dir(APP)) / "config.toml"


def data_dir() -> Path:
    override = os.environ.get("AGENTCONSOLE_DATA_DIR")
    return Path(override) if override else Path(platformdirs.user_data_dir(APP))


def database_path(demo: bool = False) -> Path:
    """The real workspace and the demo workspace never share a file."""
    return data_dir() / ("demo.db" if demo else "agentconsole.db")
