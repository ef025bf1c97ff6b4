"""Logging for every front end: one rotated file in the state dir, never the terminal."""

from __future__ import annotations

import errno
import logging
import logging.handlers
import re
import sys
import threading
from pathlib import Path

from agentconsole import paths

LEVELS = ("debug", "info", "warning", "error")
DEFAULT_LEVEL = "info"
MAX_BYTES = 1_000_000
KEEP_FILES = 3
FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"

# What reaches the log at the default level is our own wording (states, errors, counts): the core never
# logs secrets or message bodies. Libraries that log request and protocol traffic (IMAP lines carry
# message text, HTTP debug lines carry tokens) are held at WARNING unless --log-level debug is asked for.
CHATTY = ("aioimaplib", "imapclient", "httpx", "httpcore", "aiosmtplib", "asyncio", "keyring")


_current: Path | None = None

# Belt and braces: whatever a library or an exception puts in a record, these never reach the file.
_SECRETS = re.compile(
    r"(?i)(authorization:\s*(?:bearer|basic)\s+|bearer\s+|\b(?:access_token|refresh_token|client_secret|"
    r"password|passwd|token)\b[\"']?\s*[=:]\s*[\"']?|\bcode=)([^\s\"'&,;)]+)")  # code=: OAuth's


class RedactingFormatter(logging.Formatter):
    """Masks bearer tokens, passwords and OAuth secrets in the message and in tracebacks."""

    def format(self, record: logging.LogRecord) -> str:
        return _SECRETS.sub(lambda m: m.group(1) + "[redacted]", super().format(record))


def current_path() -> Path | None:
    """Where setup() sent the log (None before setup, or when no file could be opened)."""
    return _current


def setup(level: str = DEFAULT_LEVEL, path: Path | None = None) -> Path | None:
    """Send every log record to the rotated log file; returns its path, or None when the file cannot
    be opened (then records are dropped rather than written over the terminal)."""
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "agentconsole", False):  # ours from an earlier call (tests call main often)
            root.removeHandler(old)
            try:
                old.close()
            except OSError:  # its disk is full: what it still held is lost, not the program
                pass
    root.setLevel(getattr(logging, level.upper()))
    for name in CHATTY:
        logging.getLogger(name).setLevel(logging.DEBUG if level == "debug" else logging.WARNING)
    logging.captureWarnings(True)  # a DeprecationWarning must not land on the TUI either
    global _current
    target = path or paths.log_path()
    opened: Path | None = target
    try:
        paths.private_dir(target.parent)
        handler: logging.Handler = logging.handlers.RotatingFileHandler(
            target, maxBytes=MAX_BYTES, backupCount=KEEP_FILES, encoding="utf-8", delay=False)
        target.chmod(0o600)
    except OSError:
        handler = logging.NullHandler()
        opened = None
    _current = opened
    handler.agentconsole = True  # type: ignore[attr-defined]  # our mark, read back by getattr above
    handler.setFormatter(RedactingFormatter(FORMAT))
    root.addHandler(handler)
    logging.lastResort = None  # with no handler at all, logging would fall back to stderr
    logging.raiseExceptions = False  # a full disk under the log must not print "--- Logging error ---"
    # Python's last-chance reports of a crashed thread or an unraisable error also print to stderr.
    threading.excepthook = _thread_crashed
    sys.unraisablehook = _unraisable
    return opened


# The terminal writer's thread (Textual's, by name) ends with one of these once the terminal is gone
# (a dropped SSH link, a killed tmux window): expected then, as the console closes on the SIGHUP.
TERMINAL_WRITER = "textual-output"
TERMINAL_GONE = (errno.EIO, errno.EPIPE, errno.ENXIO)


def _thread_crashed(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return
    name = args.thread.name if args.thread else "a thread"
    if (name == TERMINAL_WRITER and isinstance(args.exc_value, OSError)
            and args.exc_value.errno in TERMINAL_GONE):
        logging.getLogger("agentconsole").info("the terminal went away: %s stopped (%s)", name,
                                               args.exc_value.strerror or args.exc_value)
        return
    logging.getLogger("agentconsole").error("%s stopped on an unexpected error", name,
                                            # exc_value may be None here; logging takes the tuple as is
                                            exc_info=(args.exc_type, args.exc_value,  # type: ignore[arg-type]  # typeshed wants a non-None value
                                                      args.exc_traceback))


def _unraisable(args: sys.UnraisableHookArgs) -> None:
    logging.getLogger("agentconsole").warning(
        "ignored error %s: %s", args.err_msg or "", args.object,
        # exc_value may be None here; logging takes the tuple as is
        exc_info=(args.exc_type, args.exc_value,  # type: ignore[arg-type]  # typeshed wants a non-None value
                  args.exc_traceback) if args.exc_type else None)
