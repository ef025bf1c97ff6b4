"""Logging for every front end: one rotated file in the state dir, never the terminal."""

from __future__ import annotations

import logging
import logging.handlers
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


def setup(level: str = DEFAULT_LEVEL, path: Path | None = None) -> Path | None:
    """Send every log record to the rotated log file; returns its path, or None when the file cannot
    be opened (then records are dropped rather than written over the terminal)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "agentconsole", False):  # ours from an earlier call (tests call main often)
            root.removeHandler(handler)
            handler.close()
    root.setLevel(getattr(logging, level.upper()))
    for name in CHATTY:
        logging.getLogger(name).setLevel(logging.DEBUG if level == "debug" else logging.WARNING)
    logging.captureWarnings(True)  # a DeprecationWarning must not land on the TUI either
    target = path or paths.log_path()
    try:
        paths.private_dir(target.parent)
        handler: logging.Handler = logging.handlers.RotatingFileHandler(
            target, maxBytes=MAX_BYTES, backupCount=KEEP_FILES, encoding="utf-8", delay=False)
        target.chmod(0o600)
    except OSError:
        handler = logging.NullHandler()
        target = None
    handler.agentconsole = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(handler)
    logging.lastResort = None  # with no handler at all, logging would fall back to stderr
    return target
