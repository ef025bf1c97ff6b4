"""The TOML configuration, checked against one declared schema (SCHEMA, which the README documents) and
read into a typed Config; every option has a default, and every mistake names its file, line and key."""

from __future__ import annotations

import getpass
import math
import re
import zoneinfo
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentconsole.response.hours import HoursConfig, HoursError, parse_hours
from agentconsole.response.sla import DEFAULT_TARGETS, Targets


class ConfigError(Exception):
    """The config file exists but cannot be used; the message says where and why."""


def _timezone(value: str) -> str | None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return "unknown timezone; use an IANA name such as \"UTC\", \"Europe/Berlin\" or \"America/New_York\""
    return None


@dataclass(frozen=True)
class Option:
    """One key of a table: its type, default, allowed range or check, and what it does."""

    key: str
    type: type
    default: object
    help: str
    low: float | None = None  # numbers: the smallest allowed (exclusive when low_open)
    high: float | None = None
    low_open: bool = False
    check: Callable[[str], str | None] | None = None  # strings: returns the problem, or None
    shown: Callable[[str], str] | None = None  # what a problem quotes of the value (a URL without its password)
    unit: str = ""  # numbers: what they count

    def allowed(self) -> str:
        if self.type is list:
            return "a list of strings such as [\"a\", \"b\"]"
        if self.type is bool:
            return "true or false"
        if self.type is float:
            low = "" if self.low is None else f"{'more than' if self.low_open else 'at least'} {self.low:g}"
            high = "" if self.high is None else f"at most {self.high:g}"
            unit = f" of {self.unit}" if self.unit else ""
            return f"a number{unit} " + " and ".join(p for p in (low, high) if p)
        return "a string"

    def problem(self, value: object) -> str | None:
        if self.type is list:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                return f"must be {self.allowed()}"
            return next((p for p in map(self.check, value) if p), None) if self.check else None
        if self.type is bool:
            return None if isinstance(value, bool) else f"must be {self.allowed()}"
        if self.type is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                return f"must be {self.allowed()}"
            if self.low is not None and (value <= self.low if self.low_open else value < self.low):
                return f"must be {self.allowed()}"
            if self.high is not None and value > self.high:
                return f"must be {self.allowed()}"
            return None
        if not isinstance(value, str):
            return "must be a string (in quotes)"
        return self.check(value) if self.check else None


MINUTES = Option("<kind>", float, None, "response target in minutes", low=0, high=525_600, low_open=True,
                 unit="minutes")
TARGET_KINDS = tuple(DEFAULT_TARGETS)  # public, dm, email
NOTIFY_EVENTS = ("new_waiting", "over_target", "send_failed", "handoff")  # agentconsole.notify.Event
NOTIFY_TERMINALS = ("off", "osc9", "osc777", "osc99", "bell")  # agentconsole.notify.Terminal


def _one_of(choices: tuple[str, ...], what: str) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        return None if value in choices else f"unknown {what} {value!r}; allowed: {', '.join(choices)}"
    return check

def _storage_url(value: str) -> str | None:
    if not value:
        return None
    if not value.startswith(("postgresql://", "postgres://")):
        return "must be a postgresql://user@host:port/database URL (leave it out for the SQLite file)"
    from agentconsole.domain.database_url import PasswordInUrl, refuse_password

    try:
        refuse_password(value)
    except PasswordInUrl as exc:
        return str(exc)
    return None


def _without_password(value: str) -> str:
    from agentconsole.domain.database_url import without_password

    try:
        return without_password(value)
    except ValueError:  # not even a URL (a bad port): say nothing of it that could be a password
        return value.split("@", 1)[-1]


# The fixed tables and their keys. [targets], [hours] and [keys] take keys of their own kind (target
# kinds and account sub-tables, business hours, binding ids) and are read by the functions below.
SCHEMA: dict[str, tuple[Option, ...]] = {
    "agent": (
        Option("name", str, "", "your agent name (default: your login name)"),
        Option("initials", str, "", "shown beside what you did"),
        Option("timezone", str, "UTC", "an IANA timezone for times on screen", check=_timezone),
    ),
    "ui": (
        Option("theme", str, "agentconsole-dark", "agentconsole-dark, agentconsole-light or "
                                                  "agentconsole-high-contrast"),
        Option("notify_on_over", bool, True, "tell me once when a conversation goes over its target"),
        Option("bell_on_over", bool, False, "ring the terminal bell then too"),
        Option("editor", str, "", "the command ctrl+e opens a draft in (default: $VISUAL, then $EDITOR)"),
    ),
    "notify": (
        Option("on", list, list(NOTIFY_EVENTS), "which events notify you outside the console",
               check=_one_of(NOTIFY_EVENTS, "event")),
        Option("terminal", str, "off", "how the terminal shows them: off, osc9, osc777, osc99 or bell",
               check=_one_of(NOTIFY_TERMINALS, "terminal notification")),
        Option("command", str, "", "a command run through sh for each, the event in AGENTCONSOLE_* variables"),
    ),
    "storage": (
        Option("url", str, "", "the workspace on a PostgreSQL server, postgresql://user@host:port/database "
               "(default: the SQLite file in the data folder); its password never goes here", check=_storage_url,
               shown=_without_password),
        Option("cache_mb", float, 8.0, "megabytes of the SQLite file SQLite keeps in memory for the whole "
               "console, all its connections together (more: fewer reads from disk)", low=1, high=4096,
               unit="megabytes"),
    ),
    "demo": (
        # Unset, the demo follows a small shop's day (quiet nights, a midday peak); set, it is a flat
        # load of one message per account every so many seconds (for demos of a busy inbox, benchmarks).
        Option("interval_seconds", float, None, "seconds between each demo account's simulated messages "
               "(default: a small shop's day)", low=0.5, high=86_400, unit="seconds"),
    ),
}
TABLES = (*SCHEMA, "targets", "hours", "keys")
KEY_STRING = re.compile(r"^[^\s,]+(,[^\s,]+)*$")


@dataclass(frozen=True)
class Config:
    """Every setting of the config file, typed and checked; defaults when a key is absent."""
    agent_name: str = ""
    agent_initials: str = ""
    timezone: str = "UTC"
    theme: str = "agentconsole-dark"
    bell_on_over: bool = False
    notify_on_over: bool = True
    editor: str = ""
    notify_on: tuple[str, ...] = NOTIFY_EVENTS
    notify_terminal: str = "off"
    notify_command: str = ""
    keymap: dict[str, str] = field(default_factory=dict)
    targets: Targets = field(default_factory=Targets)
    demo_interval: float | None = None  # None: the demo follows a small shop's day
    storage_url: str = ""  # empty: the SQLite file in the data folder
    storage_cache_mb: float = 8.0  # [storage] cache_mb; the same default as storage.db.DEFAULT_CACHE_MB
    hours: HoursConfig = field(default_factory=HoursConfig)
    path: Path | None = None
    text: str = field(default="", repr=False, compare=False)  # the file as read, to name lines later

    def resolved_agent_name(self) -> str:
        if self.agent_name:
            return self.agent_name
        try:
            return getpass.getuser() or "agent"
        except Exception:  # no passwd entry in some containers
            return "agent"

    def error(self, table: str, key: str | None, problem: str) -> ConfigError:
        """A ConfigError naming this file, the line of [table] key, and the key."""
        return _error(self.path, self.text, table, key, problem)

    def check_choices(self, themes: Iterable[str]) -> None:
        """What only the UI knows (the theme names); the CLI calls it before the console starts."""
        themes = list(themes)
        if self.theme not in themes:
            raise self.error("ui", "theme", f"unknown theme {self.theme!r}; allowed: {', '.join(themes)}")


def load(path: Path) -> Config:
    """Read *path*; a missing file means all defaults."""
    if not path.exists():
        return Config(path=path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    import tomllib  # here, not at the top: without a config file the start never needs it

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    fail: _Fail = lambda table, key, problem: _error(path, text, table, key, problem)  # noqa: E731
    for name, value in data.items():
        if name not in TABLES:
            raise fail(name, None, f"unknown table; {_did_you_mean(name, TABLES)}allowed: "
                                   f"{', '.join(f'[{t}]' for t in TABLES)}")
        if not isinstance(value, dict):
            raise fail(name, None, "must be a table: write it as a [" + name + "] header")
    fixed = {name: _fixed(data.get(name, {}), name, fail) for name in SCHEMA}
    return Config(
        agent_name=fixed["agent"]["name"],
        agent_initials=fixed["agent"]["initials"],
        timezone=fixed["agent"]["timezone"],
        theme=fixed["ui"]["theme"],
        bell_on_over=fixed["ui"]["bell_on_over"],
        notify_on_over=fixed["ui"]["notify_on_over"],
        editor=fixed["ui"]["editor"],
        notify_on=tuple(fixed["notify"]["on"]),
        notify_terminal=fixed["notify"]["terminal"],
        notify_command=fixed["notify"]["command"],
        keymap=_keys(data.get("keys", {}), fail),
        targets=_targets(data.get("targets", {}), fail),
        demo_interval=fixed["demo"]["interval_seconds"],
        storage_url=fixed["storage"]["url"],
        storage_cache_mb=float(fixed["storage"]["cache_mb"]),
        hours=_hours(data.get("hours", {}), fail),
        path=path,
        text=text,
    )


def _fixed(table: dict[str, Any], name: str, fail: _Fail) -> dict[str, Any]:
    options = {o.key: o for o in SCHEMA[name]}
    for key, value in table.items():
        option = options.get(key)
        if option is None:
            raise fail(name, key, f"unknown key; {_did_you_mean(key, options)}allowed in [{name}]: "
                                  f"{', '.join(options)}")
        problem = option.problem(value)
        if problem:
            quoted = option.shown(value) if option.shown is not None and isinstance(value, str) else value
            raise fail(name, key, f"{problem}, not {_show(quoted)}")
    return {key: table.get(key, option.default) for key, option in options.items()}


def _targets(table: dict[str, Any], fail: _Fail) -> Targets:
    by_kind = dict(DEFAULT_TARGETS)
    by_account: dict[str, dict[str, float]] = {}
    allowed = f"allowed: {', '.join(TARGET_KINDS)} (minutes), or a [targets.<account>] table of them"
    for key, value in table.items():
        if isinstance(value, dict):
            for kind, minutes in value.items():
                where = f"targets.{key}"
                if kind not in TARGET_KINDS:
                    raise fail(where, kind, f"unknown target kind; allowed: {', '.join(TARGET_KINDS)}")
                if MINUTES.problem(minutes):
                    raise fail(where, kind, f"must be {MINUTES.allowed()}, not {_show(minutes)}")
            by_account[key] = {k: float(v) * 60.0 for k, v in value.items()}
        elif key not in TARGET_KINDS:
            raise fail("targets", key, f"unknown target kind; {allowed}")
        elif MINUTES.problem(value):
            raise fail("targets", key, f"must be {MINUTES.allowed()}, not {_show(value)}")
        else:
            by_kind[key] = float(value) * 60.0
    return Targets(by_kind, by_account)


def _keys(table: dict[str, Any], fail: _Fail) -> dict[str, str]:
    """[keys] maps a binding id to a key string; which ids exist and what clashes is checked by the UI
    (screens.app.check_keymap), which knows the bindings."""
    for key, value in table.items():
        if not isinstance(value, str) or not KEY_STRING.match(value):
            raise fail("keys", key, f"must be a key string in quotes such as \"r\", \"ctrl+r\" or "
                                    f"\"r,ctrl+r\", not {_show(value)}")
    return dict(table)


def _hours(table: dict[str, Any], fail: _Fail) -> HoursConfig:
    """[hours] keys are the default for every account; an [hours.<account>] table overrides them key by key."""
    own = {k: v for k, v in table.items() if not isinstance(v, dict)}
    try:
        default = parse_hours(own, "hours") if own else None
    except HoursError as exc:
        raise fail("hours", _hours_key(str(exc), own), _hours_problem(exc)) from exc
    by_account = {}
    for name, sub in table.items():
        if isinstance(sub, dict):
            try:
                by_account[str(name)] = parse_hours({**own, **sub}, f"hours.{name}")
            except HoursError as exc:
                raise fail(f"hours.{name}", _hours_key(str(exc), sub), _hours_problem(exc)) from exc
    return HoursConfig(default, by_account)


HOURS_KEYS = "days, open, close, timezone, holidays, or an [hours.<account>] table of them"


def _hours_problem(exc: HoursError) -> str:
    text = re.sub(r"^hours(\.[^:]+)?: ", "", str(exc))  # the line and the key are named already
    if text.startswith("unknown keys"):
        return f"unknown key; allowed: {HOURS_KEYS}"
    return text


def _hours_key(message: str, table: dict[str, Any]) -> str | None:
    """The key an HoursError is about, found in its message, so its line can be named."""
    for key in table:
        if re.search(rf"\b{re.escape(str(key))}\b", message):
            return str(key)
    return None


# What a bad value raises: fail(table, key or None, problem) names the file and the line.
_Fail = Callable[[str, str | None, str], "ConfigError"]


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"did you mean {close[0]!r}? " if close else ""


def _show(value: object) -> str:
    if isinstance(value, str):
        return f'"{value}"' if len(value) < 60 else f'"{value[:57]}..."'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return repr(value)[:60]


def _error(path: Path | None, text: str, table: str, key: str | None, problem: str) -> ConfigError:
    line = find_line(text, table, key)
    where = f"[{table}]" if key is None else f"[{table}] {key}"
    at = f"{path or 'config'}" + (f", line {line}" if line else "")
    return ConfigError(f"{at}: {where}: {problem}")


_HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$")
_KEY = re.compile(r"""^\s*("(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_.-]+)\s*=""")


def _name_parts(dotted: str) -> tuple[str, ...]:
    parts = re.findall(r""""((?:[^"\\]|\\.)*)"|'([^']*)'|([A-Za-z0-9_-]+)""", dotted)
    return tuple(a or b or c for a, b, c in parts)


def find_line(text: str, table: str, key: str | None) -> int | None:
    """The 1-based line of *key* in [*table*] (or of the table's header) in TOML *text*.

    tomllib keeps no positions, so the text is scanned: headers, then "key =" lines below them; a
    dotted key ("a.b = 1" under [x]) counts as its own table path.
    """
    want = _name_parts(table) if table else ()
    current: tuple[str, ...] = ()
    header_line = None
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            current = _name_parts(header.group(1))
            if current == want and header_line is None:
                header_line = number
                if key is None:
                    return number
            continue
        found = _KEY.match(line)
        if not found:
            continue
        parts = current + _name_parts(found.group(1))
        if key is None and parts[:len(want)] == want:
            return number
        if key is not None and parts == (*want, key):
            return number
    return header_line
