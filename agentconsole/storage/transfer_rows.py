"""How a row read from SQLite becomes the row written to PostgreSQL, and the checksum both sides share."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from agentconsole.storage.integrity import DatabaseProblem

# The server's column types (pg_type names) as the kind of Python value a copied row carries there.
KINDS = {"int2": "int", "int4": "int", "int8": "int", "float4": "float", "float8": "float",
         "numeric": "float", "text": "text", "varchar": "text", "bpchar": "text", "bytea": "bytes",
         "bool": "bool", "citext": "text"}
# The types psycopg writes in COPY's binary format without being told about them.
BINARY_TYPES = {"int2", "int4", "int8", "float4", "float8", "numeric", "text", "varchar", "bytea", "bool"}
REPLACEMENT = "\ufffd"


class TransferProblem(DatabaseProblem):
    """The copy cannot go on; the message names the table, the row and what to do."""


class TransferRefused(DatabaseProblem):
    """The server database holds something else; nothing was changed. The message says what to do."""


@dataclass
class Adjusted:
    """Values that could not be stored as they were and were stored changed (counted per reason)."""

    reasons: dict[str, int] = field(default_factory=dict)

    def add(self, reason: str) -> None:
        self.reasons[reason] = self.reasons.get(reason, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.reasons.values())


class UndecodableText(bytes):
    """A TEXT value in the SQLite file that is not UTF-8 (SQLite stores what it is given)."""


def tolerant_text(raw: bytes) -> str | UndecodableText:
    """The text factory of a second read of a table that held text Python cannot decode."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return UndecodableText(raw)


def _text(value: Any, adjusted: Adjusted) -> Any:
    if isinstance(value, str):
        if "\x00" in value:  # PostgreSQL's text cannot hold NUL
            adjusted.add("NUL in text became U+FFFD")
            return value.replace("\x00", REPLACEMENT)
        return value
    if value is None:
        return None
    if isinstance(value, bytes):
        text = value.decode("utf-8", "replace")
        adjusted.add("text that was not UTF-8 had its bad bytes made U+FFFD" if isinstance(value, UndecodableText)
                     else "a blob in a text column was stored as its UTF-8 text")
        return _text(text, adjusted)
    adjusted.add("a number in a text column was stored as its text")
    return repr(value) if isinstance(value, float) else str(value)


def _int(value: Any, adjusted: Adjusted) -> Any:
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, float) and value.is_integer():
        adjusted.add("a whole number stored as REAL in an integer column became an integer")
        return int(value)
    raise ValueError(value)


def _float(value: Any, adjusted: Adjusted) -> Any:
    if value is None or isinstance(value, float):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) <= 2**53:
        return float(value)  # the same number: SQLite hands a REAL column's whole numbers back as floats
    raise ValueError(value)


def _bytes(value: Any, adjusted: Adjusted) -> Any:
    if value is None or (isinstance(value, bytes) and not isinstance(value, UndecodableText)):
        return value
    if isinstance(value, UndecodableText):
        return bytes(value)
    if isinstance(value, str):  # SQLite keeps a str bound to a BLOB column as TEXT: its UTF-8 bytes
        adjusted.add("text in a blob column was stored as its UTF-8 bytes")
        return value.encode("utf-8", "surrogatepass")
    raise ValueError(value)


def _bool(value: Any, adjusted: Adjusted) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if value in (0, 1):
        return bool(value)
    raise ValueError(value)


_COERCE: dict[str, Callable[[Any, Adjusted], Any]] = {
    "text": _text, "int": _int, "float": _float, "bytes": _bytes, "bool": _bool}
# Which Python types already are what each kind takes, so most values skip the call.
_READY: dict[str, tuple[type, ...]] = {"text": (), "int": (int,), "float": (float,), "bytes": (bytes,),
                                       "bool": (bool,)}


def coercer(table: str, columns: Sequence[str], kinds: Sequence[str], key_index: int | None,
            adjusted: Adjusted) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """A function from a source row to the row the server stores, raising TransferProblem for a value
    that no column of that type can hold (SQLite lets any value into any column)."""
    plans = [(_COERCE[k], _READY[k], k == "text") for k in kinds]

    def convert(row: Sequence[Any]) -> tuple[Any, ...]:
        out = []
        for i, value in enumerate(row):
            fn, ready, text = plans[i]
            if value is None or (type(value) is str and text and "\x00" not in value) or type(value) in ready:
                out.append(value)
                continue
            try:
                out.append(fn(value, adjusted))
            except ValueError:
                where = f" of the row whose {columns[key_index]} is {row[key_index]!r}" if key_index is not None else ""
                raise TransferProblem(
                    f"{table}.{columns[i]}{where} holds {value!r:.60}, which the server's {kinds[i]} column "
                    "cannot take; nothing was written to the server. Correct that row in the SQLite file "
                    "(something other than agentconsole wrote it) and run migrate-to again"
                ) from None
        return tuple(out)

    return convert


class Checksum:
    """sha256 over a table's rows in primary-key order, each row's values normalised the same way on
    both sides: NULL stays None, integers are ints, floats are compared by their
    exact IEEE value (repr is the shortest text that reads back as the same double), text as its
    Unicode code points and blobs as their bytes; each row is hashed as the repr of that tuple
    (booleans, where a column is one, are bools on both sides)."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self.rows = 0

    def add(self, rows: Iterable[Sequence[Any]]) -> None:
        update = self._hash.update
        n = 0
        for row in rows:
            update(repr(tuple(row)).encode("utf-8", "surrogatepass"))
            update(b"\n")
            n += 1
        self.rows += n

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def read_source(conn: sqlite3.Connection, sql: str, size: int = 5000) -> Iterable[list[Any]]:
    """Batches of rows of *sql* from the SQLite file."""
    cursor = conn.execute(sql)
    while True:
        batch = cursor.fetchmany(size)
        if not batch:
            return
        yield batch
