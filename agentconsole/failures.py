"""One error policy for every front end: an operational error becomes one sentence that says what
happened and what to do; anything else is a bug, logged with its traceback."""

from __future__ import annotations

import errno
import sqlite3
import sys

from agentconsole.config import ConfigError
from agentconsole.domain.errors import ConnectorError
from agentconsole.domain.sanitize import clean
from agentconsole.secrets import SecretUnavailable
from agentconsole.storage.db import DatabaseProblem

PREFIX = "agentconsole: error: "


class UserError(Exception):
    """Something the person asked for cannot be done; the message is the whole story."""


_OS_WORDS = {
    errno.ENOSPC: "the disk is full ({where}); free some space and try again",
    errno.EDQUOT: "the disk quota is used up ({where}); free some space and try again",
    errno.EACCES: "permission denied for {where}; make it readable and writable by you "
                  "(or set AGENTCONSOLE_DATA_DIR to a folder of yours)",
    errno.EPERM: "permission denied for {where}; make it readable and writable by you",
    errno.EROFS: "{where} is on a read-only file system; set AGENTCONSOLE_DATA_DIR to a writable folder",
    errno.ENOTDIR: "a file is in the way of the folder {where}; move it away or set AGENTCONSOLE_DATA_DIR",
    errno.EISDIR: "{where} is a folder where a file was expected; move it away",
    errno.ENOENT: "{where} does not exist",
    errno.EIO: "the disk reported an input/output error on {where}; check the disk, then your backups",
}

_SQLITE_WORDS = (
    ("database is locked", "the database is busy (locked by another agentconsole process for more than "
                           "5 s); try again in a moment"),
    ("database or disk is full", "the disk holding the database is full; free some space and try again"),
    ("readonly database", "the database is read-only here; check the permissions of the data folder"),
    ("unable to open database file", "the database cannot be opened; check that the data folder exists "
                                     "and is writable by you"),
    ("disk i/o error", "the disk reported an input/output error on the database; check the disk, "
                       "then run `agentconsole db check`"),
)


def describe(exc: BaseException) -> str | None:
    """The one sentence for an operational error, or None when *exc* is a bug."""
    if isinstance(exc, (UserError, ConfigError, SecretUnavailable, DatabaseProblem)):
        return clean(str(exc))
    if isinstance(exc, ConnectorError):
        return clean(str(exc))  # the connector's own words: which server, what it said
    if isinstance(exc, OSError) and exc.errno in _OS_WORDS:
        where = exc.filename or "a file"
        return clean(_OS_WORDS[exc.errno].format(where=where))
    if isinstance(exc, OSError) and exc.errno is not None:
        return clean(f"{exc.strerror or exc} ({exc.filename or 'no file named'}); check the disk and "
                     "the folder's permissions")
    server = _server_words(exc)
    if server is not None:
        return server
    if isinstance(exc, sqlite3.Error):
        text = str(exc).lower()
        for needle, words in _SQLITE_WORDS:
            if needle in text:
                return words
        if "malformed" in text or "not a database" in text:
            return ("the database is damaged (" + clean(str(exc)) + "); run `agentconsole db check`, "
                    "and restore a backup with `agentconsole db restore FILE`")
    return None


def _server_words(exc: BaseException) -> str | None:
    """A PostgreSQL workspace that cannot be reached. psycopg is looked up, not imported: when it was
    never loaded, *exc* cannot be one of its errors (and an SQLite console pays nothing for the check)."""
    pool = sys.modules.get("psycopg_pool")
    if pool is not None and isinstance(exc, pool.PoolTimeout):
        return ("the workspace server gave no connection in time; check that PostgreSQL is running and "
                "reachable from here, then try again")
    psycopg = sys.modules.get("psycopg")
    if psycopg is not None and isinstance(exc, psycopg.OperationalError):
        said = clean(str(exc)).strip().splitlines()
        return ("the workspace server cannot be reached (" + (said[0] if said else type(exc).__name__)
                + "); check that PostgreSQL is running and reachable from here and that its password is "
                "set (`agentconsole db set-password`, PGPASSWORD or ~/.pgpass)")
    return None


def short(exc: BaseException) -> str:
    """For a notification or a state line: the sentence when known, else the exception in brief."""
    return describe(exc) or clean(f"{type(exc).__name__}: {exc}")
