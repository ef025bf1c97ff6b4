"""The TOML configuration, read into typed dataclasses; every option has a default."""

from __future__ import annotations

import getpass
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from agentconsole.response.hours import HoursConfig, HoursError, parse_hours
from agentconsole.response.sla import DEFAULT_TARGETS, Targets


class ConfigError(Exception):
    """The config file exists but cannot be used; the message says where and why."""


@dataclass(frozen=True)
class Config:
    agent_name: str = ""
    agent_initials: str = ""
    timezone: str = "UTC"
    theme: str = "agentconsole-dark"
    bell_on_over: bool = False
    notify_on_over: bool = True
    keymap: dict[str, str] = field(default_factory=dict)
    targets: Targets = field(default_factory=Targets)
    demo_interval: float = 6.0
    hours: HoursConfig = field(default_factory=HoursConfig)
    path: Path | None = None

    def resolved_agent_name(self) -> str:
        if self.agent_name:
            return self.agent_name
        try:
            return getpass.getuser() or "agent"
        except Exception:  # no passwd entry in some containers
            return "agent"


def load(path: Path) -> Config:
    """Read *path*; a missing file means all defaults."""
    if not path.exists():
        return Config(path=path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    agent = _table(data, "agent", path)
    ui = _table(data, "ui", path)
    targets = _table(data, "targets", path)
    demo = _table(data, "demo", path)
    by_kind = dict(DEFAULT_TARGETS)
    by_account: dict[str, dict[str, float]] = {}
    for key, value in targets.items():
        if isinstance(value, dict):
            by_account[key] = {k: _minutes(v, f"targets.{key}.{k}", path) for k, v in value.items()}
        else:
            by_kind[key] = _minutes(value, f"targets.{key}", path)
    keymap = _table(data, "keys", path)
    return Config(
        agent_name=str(agent.get("name", "")),
        agent_initials=str(agent.get("initials", "")),
        timezone=str(agent.get("timezone", "UTC")),
        theme=str(ui.get("theme", "agentconsole-dark")),
        bell_on_over=bool(ui.get("bell_on_over", False)),
        notify_on_over=bool(ui.get("notify_on_over", True)),
        keymap={str(k): str(v) for k, v in keymap.items()},
        targets=Targets(by_kind, by_account),
        demo_interval=float(demo.get("interval_seconds", 6.0)),
        hours=_hours(_table(data, "hours", path), path),
        path=path,
    )


def _hours(table: dict, path: Path) -> HoursConfig:
    """[hours] keys are the default for every account; an [hours.<account>] table overrides them key by key."""
    try:
        own = {k: v for k, v in table.items() if not isinstance(v, dict)}
        default = parse_hours(own, "hours") if own else None
        by_account = {str(k): parse_hours({**own, **v}, f"hours.{k}") for k, v in table.items() if isinstance(v, dict)}
    except HoursError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    return HoursConfig(default, by_account)


def _table(data: dict, name: str, path: Path) -> dict:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: [{name}] must be a table")
    return value


def _minutes(value: object, where: str, path: Path) -> float:
    if not isinstance(value, (int, float)) or value <= 0:
        raise ConfigError(f"{path}: {where} must be a positive number of minutes")
    return float(value) * 60.0
