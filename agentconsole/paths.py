"""Where agentconsole keeps its files (platformdirs); path helpers compute, private_dir creates."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "agentconsole"
LOG_NAME = "agentconsole.log"


def config_path() -> Path:
    override = os.environ.get("AGENTCONSOLE_CONFIG")
    if override:
        return Path(override)
    return Path(platformdirs.user_config_dir(APP)) / "config.toml"


def data_dir() -> Path:
    override = os.environ.get("AGENTCONSOLE_DATA_DIR")
    return Path(override) if override else Path(platformdirs.user_data_dir(APP))


def state_dir() -> Path:
    """The log's folder (XDG state dir); AGENTCONSOLE_STATE_DIR overrides it."""
    override = os.environ.get("AGENTCONSOLE_STATE_DIR")
    return Path(override) if override else Path(platformdirs.user_state_dir(APP))


def log_path() -> Path:
    return state_dir() / LOG_NAME


def backup_dir() -> Path:
    return data_dir() / "backups"


def private_dir(path: Path) -> Path:
    """Create *path* (and missing parents) readable by its owner only, whatever the umask."""
    missing = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise NotADirectoryError(20, "a file is in the way of a folder", str(probe))
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    for created in missing:  # mkdir's mode is filtered by the umask; chmod is not
        created.chmod(0o700)
    return path


def database_path(demo: bool = False) -> Path:
    """The real workspace and the demo workspace never share a file."""
    return data_dir() / ("demo.db" if demo else "agentconsole.db")
