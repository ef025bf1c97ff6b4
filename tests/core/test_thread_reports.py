"""A crashed thread is reported in the log as an error with its traceback, except the terminal writer
finding the terminal gone, which is expected once the terminal closes."""

from __future__ import annotations

import errno
import logging
import threading

import pytest

from agentconsole import logs


def crash(monkeypatch, name: str, error: BaseException) -> None:
    monkeypatch.setattr(threading, "excepthook", logs._thread_crashed)

    def run() -> None:
        raise error

    thread = threading.Thread(target=run, name=name)
    thread.start()
    thread.join()


@pytest.mark.parametrize("number", [errno.EIO, errno.EPIPE, errno.ENXIO])
def test_the_terminal_writer_finding_the_terminal_gone_is_one_info_line(monkeypatch, caplog, number):
    caplog.set_level(logging.INFO, logger="agentconsole")
    crash(monkeypatch, logs.TERMINAL_WRITER, OSError(number, "Input/output error"))
    assert [(r.levelno, r.getMessage(), r.exc_info) for r in caplog.records] == [
        (logging.INFO, "the terminal went away: textual-output stopped (Input/output error)", None)]


@pytest.mark.parametrize("name, error", [
    ("textual-output", ValueError("a bug in the writer")),
    ("textual-output", OSError(errno.ENOSPC, "No space left on device")),
    ("team-watcher", OSError(errno.EIO, "Input/output error")),  # a disk's EIO is not a closed terminal
])
def test_any_other_thread_crash_is_an_error_with_its_traceback(monkeypatch, caplog, name, error):
    caplog.set_level(logging.INFO, logger="agentconsole")
    crash(monkeypatch, name, error)
    (record,) = caplog.records
    assert record.levelno == logging.ERROR and record.getMessage() == f"{name} stopped on an unexpected error"
    assert record.exc_info is not None and record.exc_info[1] is error
