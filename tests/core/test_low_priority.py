"""The start-up check's work runs in a thread of its own at the lowest CPU priority, and hands back its
result or its error; the caller's thread keeps its priority."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from agentconsole.storage.health import LOW_PRIORITY, at_low_priority


def _priority() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def test_the_work_runs_niced_in_its_own_thread_and_the_caller_keeps_its_priority():
    caller, before = threading.get_ident(), _priority()
    seen = at_low_priority(lambda: (threading.get_ident(), _priority()))
    assert seen[0] != caller
    if sys.platform.startswith("linux"):  # where each thread has a nice value of its own
        assert seen[1] == LOW_PRIORITY
    assert _priority() == before


def test_the_result_and_the_error_come_back():
    assert at_low_priority(lambda: 42) == 42

    def broken() -> None:
        raise ValueError("damaged")

    with pytest.raises(ValueError, match="damaged"):
        at_low_priority(broken)


def test_the_session_check_runs_through_it(tmp_path):
    from agentconsole.domain.clock import FrozenClock
    from agentconsole.session.session import Session
    from agentconsole.config import Config
    from agentconsole.storage.store import Store

    store = Store(tmp_path / "ws.db", FrozenClock(1_764_000_000.0))
    threads: list[int] = []
    check = store.check
    store.check = lambda full=False: (threads.append(threading.get_ident()), check(full))[1]  # type: ignore[method-assign]
    session = Session(store, clock=store.clock, config=Config(), agent_id=store.ensure_agent("Alice Ng"))
    assert session.check_database() is False
    assert threads and threads[0] != threading.get_ident()
    assert list((tmp_path / "backups").glob("*-daily.db"))  # the sound file's daily backup, there too
    store.close()


def test_a_stopped_backup_leaves_no_file_and_says_so(tmp_path):
    from agentconsole.domain.clock import FrozenClock
    from agentconsole.storage.integrity import CheckInterrupted
    from agentconsole.storage.store import Store

    store = Store(tmp_path / "ws.db", FrozenClock(1_764_000_000.0))
    store.ensure_agent("Alice Ng")
    with pytest.raises(CheckInterrupted):
        store.backup_if_due(stop=lambda: True)
    assert not list((tmp_path / "backups").glob("*.db"))
    assert store.backup_if_due(stop=lambda: False) is not None  # not stopped: copied in steps, kept
    assert len(list((tmp_path / "backups").glob("*-daily.db"))) == 1
    store.close()


def test_an_interrupt_before_the_check_starts_stops_it_and_is_spent(tmp_path):
    from agentconsole.domain.clock import FrozenClock
    from agentconsole.storage.store import Store

    store = Store(tmp_path / "ws.db", FrozenClock(1_764_000_000.0))
    store.interrupt_check()  # a key pressed just as the check was being started
    assert store.check_in_background() is None
    assert store.check_in_background() is False  # the request was met: the next run goes through
    assert store.damaged == ""
    store.close()
