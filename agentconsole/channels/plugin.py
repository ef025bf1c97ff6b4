"""The declared channel plug-in: its account options, static capabilities, text rules, factory and set-up flow."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from agentconsole.domain.models import Capabilities, Channel, Kind

if TYPE_CHECKING:
    from agentconsole.channels.contract import Connector
    from agentconsole.domain.clock import Clock
    from agentconsole.domain.rows import AccountRow

_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_EMAIL_LOCAL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}$")


class OptionError(ValueError):
    """An option's value is not acceptable; the message names the option the way the person typed it."""


class OptionType(StrEnum):
    TEXT = "text"
    INT = "int"
    PORT = "port"
    HOST = "host"
    EMAIL = "email"
    URL = "url"
    CHOICE = "choice"
    FLAG = "flag"
    LIST = "list"
    PATH = "path"


@dataclass(frozen=True, slots=True)
class Option:
    """One account setting, typed and documented, rendered by the CLI (as --flag) and the set-up screen.

    ``name`` is the key in the account row's settings. A FLAG whose default is True is offered on the
    command line as ``--no-<name>``. ``form`` says whether the set-up screen shows it (advanced options
    stay CLI-only)."""

    name: str
    label: str
    help: str
    type: OptionType = OptionType.TEXT
    default: Any = None
    required: bool = False
    choices: tuple[str, ...] = ()
    placeholder: str = ""
    form: bool = False
    minimum: int | None = None
    maximum: int | None = None

    @property
    def flag(self) -> str:
        dashed = self.name.replace("_", "-")
        if self.type == OptionType.FLAG and self.default is True:
            return f"--no-{dashed}"
        return f"--{dashed}"

    def parse(self, raw: Any) -> Any:
        """The typed value of *raw* (a string from a prompt or an argparse value), or the default;
        raises OptionError naming the option."""
        if self.type == OptionType.FLAG:
            if isinstance(raw, str):
                lowered = raw.strip().lower()
                if lowered in ("", "none"):
                    return bool(self.default)
                if lowered not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                    raise OptionError(f"{self.flag}: {raw!r} is not yes or no")
                return lowered in ("1", "true", "yes", "on")
            return bool(self.default) if raw is None else bool(raw)
        text = "" if raw is None else str(raw).strip()
        if not text:
            if self.required:
                raise OptionError(f"{self.flag} is required: {self.help}")
            return self.default
        if "\x00" in text or any(ord(ch) < 32 for ch in text):
            raise OptionError(f"{self.flag}: control characters are not allowed")
        return _PARSERS[self.type](self, text)


def _int(option: Option, text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise OptionError(f"{option.flag}: {text!r} is not a whole number") from None
    low = 1 if option.type == OptionType.PORT else option.minimum
    high = 65535 if option.type == OptionType.PORT else option.maximum
    if (low is not None and value < low) or (high is not None and value > high):
        what = "a port" if option.type == OptionType.PORT else "allowed"
        raise OptionError(f"{option.flag}: {value} is not {what} ({low}–{high})")
    return value


def valid_host(text: str) -> bool:
    """A DNS host name or an IP address literal."""
    try:
        ipaddress.ip_address(text.strip("[]"))
        return True
    except ValueError:
        pass
    name = text.rstrip(".")
    return 0 < len(name) <= 253 and all(_HOST_LABEL.match(label) for label in name.split("."))


def _host(option: Option, text: str) -> str:
    if not valid_host(text):
        raise OptionError(f"{option.flag}: {text!r} is not a host name")
    return text.lower()


def _email(option: Option, text: str) -> str:
    local, at, domain = text.rpartition("@")
    if not at or not _EMAIL_LOCAL.match(local) or "." not in domain.strip(".") or not valid_host(domain):
        raise OptionError(f"{option.flag}: {text!r} is not an email address")
    return f"{local}@{domain.lower()}"


def _url(option: Option, text: str) -> str:
    url = text if "://" in text else "https://" + text
    parts = urlsplit(url)
    try:
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        port_ok = False
    if parts.scheme not in ("http", "https") or not parts.hostname or not valid_host(parts.hostname) \
            or not port_ok or parts.query or parts.fragment:
        raise OptionError(f"{option.flag}: {text!r} is not an http(s) address")
    return f"{parts.scheme}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


def _choice(option: Option, text: str) -> str:
    if text not in option.choices:
        raise OptionError(f"{option.flag}: {text!r} is not one of {', '.join(option.choices)}")
    return text


def _list(option: Option, text: str) -> list[str]:
    items = [item.strip() for item in text.split(",") if item.strip()]
    return items or list(option.default or [])


def _path(option: Option, text: str) -> str:
    if not Path(text).expanduser().is_file():
        raise OptionError(f"{option.flag}: no such file {text!r}")
    return text


_PARSERS: dict[OptionType, Callable[[Option, str], Any]] = {
    OptionType.TEXT: lambda option, text: text, OptionType.INT: _int, OptionType.PORT: _int,
    OptionType.HOST: _host, OptionType.EMAIL: _email, OptionType.URL: _url, OptionType.CHOICE: _choice,
    OptionType.LIST: _list, OptionType.PATH: _path,
}


@dataclass(frozen=True, slots=True)
class TextRule:
    """How a channel measures what we send: the limit per kind (None: no limit) and the counting."""

    limits: Mapping[Kind | None, int | None]
    count: Callable[[str], int] = len
    unit: str = "characters"

    def limit(self, kind: Kind) -> int | None:
        return self.limits[kind] if kind in self.limits else self.limits.get(None)


PLAIN_TEXT = TextRule({None: None})


@dataclass(frozen=True, slots=True)
class SecretSpec:
    """What the account's secret is called (flags --<word>-stdin and --<word>-command derive from it)."""

    word: str = "password"
    label: str = "Password"
    help: str = "kept in the OS keyring"


@dataclass(frozen=True, slots=True)
class AccountDraft:
    """What a set-up flow hands back to be saved: the account row minus its id, never the secret."""

    name: str
    handle: str
    display_name: str
    settings: dict[str, Any]
    description: str = ""


class SetupIO(Protocol):
    """How an interactive set-up step talks to the person (the CLI's streams, or a dialog)."""

    def say(self, text: str) -> None: ...

    def ask(self, prompt: str, secret: bool = False) -> str: ...

    @property
    def interactive(self) -> bool: ...


class SetupFlow(Protocol):
    """A channel's account set-up: cross-checks the options, gets a secret interactively when none was
    given (a password prompt, OAuth), and turns options + secret into the account to save."""

    secret: SecretSpec
    name_required: bool

    def validate(self, values: Mapping[str, Any]) -> None:
        """Raise OptionError when the options do not fit together (e.g. plain text to a remote host)."""
        ...

    async def obtain_secret(self, values: Mapping[str, Any], io: SetupIO) -> str | None: ...

    async def complete(self, name: str, values: Mapping[str, Any], secret: str, clock: Clock) -> AccountDraft:
        """The account to save; may log in to learn who it is (raises the typed connector errors)."""
        ...

    async def check(self, name: str, values: Mapping[str, Any], secret: str, clock: Clock) -> str:
        """Log in with these options (nothing saved); a one-line description of what was checked."""
        ...


@dataclass(frozen=True, slots=True)
class ChannelPlugin:
    """One channel's declaration: everything the core needs to know without building a connector.

    ``build`` turns an account row into a live connector (it may read the secret); everything else is
    static or derived from the row's settings alone, so listing accounts, showing limits and planning a
    shift never touch the network or a secret."""

    name: str
    channels: tuple[Channel, ...]
    title: str
    summary: str
    options: tuple[Option, ...]
    build: Callable[[AccountRow, Clock], Connector]
    capabilities: Callable[[AccountRow], Capabilities]
    text: Mapping[Channel, TextRule] = field(default_factory=dict)
    can_watch: bool = False
    setup: SetupFlow | None = None
    describe: Callable[[Mapping[str, Any]], str] = lambda settings: ""

    @property
    def channel(self) -> Channel | None:
        """The channel of a single-channel plug-in (every real one); None for the multi-channel demo."""
        return self.channels[0] if len(self.channels) == 1 else None

    def option(self, name: str) -> Option:
        return next(o for o in self.options if o.name == name)

    def parse_options(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Every option typed and validated from *raw* (missing keys take their defaults), then
        cross-checked by the set-up flow; raises OptionError on the first bad one."""
        values = {o.name: o.parse(raw.get(o.name)) for o in self.options}
        if self.setup is not None:
            self.setup.validate(values)
        return values

    def text_rule(self, channel: Channel) -> TextRule | None:
        return self.text.get(channel)

