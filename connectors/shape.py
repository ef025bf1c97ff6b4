"""A small declarative check that untrusted JSON has the shape a connector reads, before anything is stored."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Platform ids are short opaque tokens (Mastodon: integers cast to strings, "not guaranteed" numeric).
# Anything longer or stranger is garbage, and a garbage id must never become a cursor.
_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,40}$")
MAX_TEXT = 1_000_000


class ShapeError(ValueError):
    """The value does not have the expected shape; the message says where (a JSON path) and why."""


class Spec(ABC):
    """What a value must look like; each kind of spec says how to check it."""

    @abstractmethod
    def check(self, value: Any, path: str) -> None: ...


@dataclass(frozen=True)
class Id(Spec):
    """An id: a short token string, or a non-negative integer (kept as its string)."""

    def check(self, value: Any, path: str) -> None:
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise ShapeError(f"{path}: expected an id, got {type(value).__name__}")
        if isinstance(value, int):
            if value < 0 or value >= 2 ** 63:
                raise ShapeError(f"{path}: id {value} is out of range")
        elif not _ID.match(value):
            raise ShapeError(f"{path}: {value[:40]!r} is not an id")


@dataclass(frozen=True)
class Str(Spec):
    max_length: int = MAX_TEXT

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, str):
            raise ShapeError(f"{path}: expected text, got {type(value).__name__}")
        if len(value) > self.max_length:
            raise ShapeError(f"{path}: text of {len(value)} characters is longer than {self.max_length}")


@dataclass(frozen=True)
class Anything(Spec):
    def check(self, value: Any, path: str) -> None:
        return None


@dataclass(frozen=True)
class Nullable(Spec):
    inner: Spec

    def check(self, value: Any, path: str) -> None:
        if value is not None:
            self.inner.check(value, path)


@dataclass(frozen=True)
class ListOf(Spec):
    item: Spec
    max_items: int = 10_000

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, list):
            raise ShapeError(f"{path}: expected a list, got {type(value).__name__}")
        if len(value) > self.max_items:
            raise ShapeError(f"{path}: {len(value)} items is more than {self.max_items}")
        for i, item in enumerate(value):
            self.item.check(item, f"{path}[{i}]")


@dataclass(frozen=True)
class Obj(Spec):
    """An object with these required keys and these optional ones (checked when present and not null
    unless the spec says otherwise); other keys are allowed and ignored."""

    required: Mapping[str, Spec]
    optional: Mapping[str, Spec] = field(default_factory=dict)

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, dict):
            raise ShapeError(f"{path}: expected an object, got {type(value).__name__}")
        for key, spec in self.required.items():
            if key not in value:
                raise ShapeError(f"{path}: {key!r} is missing")
            spec.check(value[key], f"{path}.{key}")
        for key, spec in self.optional.items():
            if value.get(key) is not None:
                spec.check(value[key], f"{path}.{key}")


def check(value: Any, spec: Spec, path: str = "$") -> None:
    """Raise ShapeError unless *value* has the shape *spec* describes."""
    spec.check(value, path)


def valid(value: Any, spec: Spec) -> bool:
    try:
        spec.check(value, "$")
    except ShapeError:
        return False
    return True


def cursor_state(cursor: str | None) -> dict[str, Any]:
    """A sync cursor that a connector keeps as a JSON object, read back; {} for none or for anything
    that is not such an object (a cursor of an older build starts the sync afresh, never crashes it)."""
    if not cursor:
        return {}
    try:
        state = json.loads(cursor)
    except ValueError:
        return {}
    return state if isinstance(state, dict) else {}
