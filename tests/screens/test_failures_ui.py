"""Failures inside the console are told on screen, never as a traceback, never on the terminal."""

from __future__ import annotations

import asyncio
import socket
import sqlite3

import pytest

from agentconsole import logs
from agentconsole.domain.clock import FrozenClock
from agentconsole.session.session import Session
from agentconsole.storage.store import Store
from agentconsole.sync import engine as engine_module
from agentconsole.sync.engine import Engine
from tests.core.fakes import ScriptedConnector
from tests.screens.conftest import START, seed
from tests.screens.helpers import screen_text, settle

BUSY = ("the database is busy (locked by another agentconsole process for more than 5 s); try again in "
        "a moment")


async def until(pilot, predicate, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        assert loop.time() < end, "timed out"
        await pilot.pause(0.05)


def notes(app) -> list[str]:
    return [n.message for n in app._notifications]


@pytest.mark.parametrize("key, method, told", [
    ("e", "set_status", f"Marking done failed: {BUSY}"),
    ("a", "set_assignee", f"Assigning failed: {BUSY}"),
    ("u", "agentconsole.storage.views.waiting_members", f"Finding the longest wait failed: {BUSY}"),
    ("5", "conversation_ids", f"Loading the conversation list failed: {BUSY}"),
    # counting every view reads each conversation's view bits and last activity in one pass
    ("l", "agentconsole.storage.views.membership_and_activity", f"Counting the views failed: {BUSY}"),
    ("j", "conversation", f"Loading the conversation failed: {BUSY}"),
])
async def test_a_failing_store_call_is_told_on_screen(seeded, monkeypatch, key, method, told):
    app = seeded.app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)

        def locked(*args, **kwargs):
            raise sqlite3.OperationalError("database is locked")

        if "." in method:  # a storage module's function rather than a Store method
            monkeypatch.setattr(method, locked)
        else:
            monkeypatch.setattr(seeded.store, method, locked)
        app.session.changed_everything()  # what waits (kept in memory) is read again on its next use
        await pilot.press(key)
        if key == "l":
            app.screen.reload()
        await until(pilot, lambda: told in notes(app))
        await settle(app, pilot)
        assert "Traceback" not in screen_text(app)
        assert app.is_running and app.failure == ""


async def test_a_damaged_database_stops_writes_and_the_banner_says_so(tmp_path, monkeypatch):
    from tests.core.test_fail_loudly import flip_bytes, make_workspace

    import screens.app as app_module

    monkeypatch.setattr(app_module, "CHECK_DELAY", 0.05)
    path = tmp_path / "ws.db"
    make_workspace(path)
    flip_bytes(path)
    store = Store(path, FrozenClock(START))
    agent = store.ensure_agent("Alice Ng")
    from agentconsole.config import Config
    from screens.app import AgentConsoleApp

    app = AgentConsoleApp(Session(store, clock=store.clock, config=Config(), agent_id=agent))
    async with app.run_test(size=(160, 36)) as pilot:
        await until(pilot, lambda: bool(store.damaged))
        await until(pilot, lambda: "DATABASE DAMAGED" in screen_text(app))
        await until(pilot, lambda: any(n.startswith(f"{path} failed SQLite's integrity check") for n in notes(app)))
        await pilot.press("e")
        await until(pilot, lambda: any(n.startswith("Marking done failed: not saved: ") for n in notes(app)))
        assert "Traceback" not in screen_text(app)
    store.close()
    assert not list((tmp_path / "backups").glob("*daily*"))


async def test_a_sound_database_gets_its_daily_backup_after_the_check(seeded, tmp_path, monkeypatch):
    import screens.app as app_module

    monkeypatch.setattr(app_module, "CHECK_DELAY", 0.05)
    app = seeded.app()
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: list((tmp_path / "backups").glob("*-daily.db")))
        assert seeded.store.damaged == ""


async def test_a_crashed_send_task_shows_in_the_banner(seeded, monkeypatch):
    monkeypatch.setattr(engine_module, "backoff_delay", lambda failures, rng: 30.0)
    account = seeded.store.accounts()[0].id
    engine = Engine(seeded.store, {account: ScriptedConnector(seeded.clock)}, clock=seeded.clock)

    async def reconcile(*_accounts):
        raise sqlite3.OperationalError("database is locked")

    engine.reconcile = reconcile
    app = seeded.app(engine=engine)
    async with app.run_test(size=(200, 36)) as pilot:
        name = seeded.store.accounts()[0].name
        await until(pilot, lambda: f"{name} stopped, restarting in 30s: sending stopped (the database is "
                                   "busy" in screen_text(app))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens there once the socket is closed


async def test_an_unreachable_imap_server_is_one_state_never_a_traceback(tmp_path, monkeypatch, capfd):
    import connectors
    from agentconsole.config import Config
    from screens.app import AgentConsoleApp

    log = tmp_path / "state" / "agentconsole.log"
    logs.setup("info", log)  # as the CLI does: records go to the file, none to the terminal
    monkeypatch.setenv("AGENTCONSOLE_SECRET_SUPPORT", "support-secret")
    port = closed_port()
    store = Store(tmp_path / "ws.db", FrozenClock(START))
    seed(store, store.clock)
    agent = store.ensure_agent("Alice Ng")
    aid = store.ensure_account("support", "email", "email", handle="support@example.test",
                               settings={"imap_host": "127.0.0.1", "imap_port": port, "imap_tls": "starttls",
                                         "smtp_host": "127.0.0.1", "smtp_port": port, "smtp_tls": "starttls",
                                         "username": "support@example.test"})
    account = next(a for a in store.accounts() if a.id == aid)
    engine = Engine(store, {aid: connectors.build(account, store.clock)}, clock=store.clock)
    app = AgentConsoleApp(Session(store, clock=store.clock, config=Config(), agent_id=agent, engine=engine))
    try:
        async with app.run_test(size=(200, 36)) as pilot:
            await until(pilot, lambda: "support retrying" in screen_text(app), timeout=20)
            await pilot.pause(0.5)
            text = screen_text(app)
            assert "Traceback" not in text and "File \"" not in text
        captured = capfd.readouterr()
        assert captured.err == "" and "Traceback" not in captured.out
        assert f"sync of account {aid} failed" in log.read_text()
    finally:
        store.close()
        logs.setup("info", tmp_path / "after.log")


async def test_a_bug_in_a_key_handler_stops_the_console_with_one_line_and_logs_the_traceback(
        seeded, tmp_path, monkeypatch):
    from screens.inbox.screen import InboxScreen

    log = tmp_path / "state" / "agentconsole.log"
    logs.setup("info", log)

    def broken(self):
        raise ValueError("a bug \x1b[2J here")

    monkeypatch.setattr(InboxScreen, "action_done", broken)
    app = seeded.app()
    try:
        with pytest.raises(ValueError):
            async with app.run_test(size=(120, 36)) as pilot:
                await settle(app, pilot)
                await pilot.press("e")
                await pilot.pause()
        assert app.failure == (f"unexpected ValueError: a bug here; the details are in {log} "
                               "(please report it)")
        assert app._exit_renderables == [] and app.return_code == 1
        text = log.read_text()
        assert "Traceback (most recent call last)" in text and "ValueError: a bug" in text
    finally:
        logs.setup("info", tmp_path / "after.log")


async def test_with_every_store_call_failing_the_console_stays_up_and_says_what_failed(seeded, monkeypatch):
    app = seeded.app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)

        def locked(*args, **kwargs):
            raise sqlite3.OperationalError("database is locked")

        for name in dir(Store):
            # Every call that reads or writes; not the ones that report on failures themselves.
            if not name.startswith("_") and callable(getattr(Store, name)) and name not in (
                    "close", "notice", "mark_damaged"):
                monkeypatch.setattr(seeded.store, name, locked)
        monkeypatch.setattr(app, "_reloaded_at", -1e9)
        for key in ("j", "e", "a", "u", "5", "1", "l", "h"):
            await pilot.press(key)
            await pilot.pause(0.05)
        await settle(app, pilot)
        told = notes(app)
        # (u, the longest wait, needs no store call: it is read from what waits, kept in memory)
        for doing in ("Marking done", "Assigning", "Loading the conversation list"):
            assert f"{doing} failed: {BUSY}" in told, told
        assert app.is_running and app.failure == ""
        assert "Traceback" not in screen_text(app)


def test_every_worker_has_a_description():
    """The App's one failure handler names what failed from the worker's description."""
    import ast
    from pathlib import Path

    missing = []
    for source in (Path(__file__).resolve().parents[2] / "screens").rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            for decorator in getattr(node, "decorator_list", []):
                call = decorator if isinstance(decorator, ast.Call) else None
                name = getattr(call.func if call else decorator, "id", "")
                if name == "work" and not any(k.arg == "description" for k in (call.keywords if call else [])):
                    missing.append(f"{source.name}:{node.lineno} {node.name}")
    assert missing == []


async def test_damage_found_mid_session_stops_writes_too(seeded, monkeypatch):
    app = seeded.app()
    async with app.run_test(size=(160, 36)) as pilot:
        await settle(app, pilot)

        def malformed(*args, **kwargs):
            raise sqlite3.DatabaseError("database disk image is malformed")

        monkeypatch.setattr(seeded.store, "set_status", malformed)
        await pilot.press("e")
        await until(pilot, lambda: "DATABASE DAMAGED" in screen_text(app))
        assert seeded.store.damaged.endswith("is damaged (database disk image is malformed); see "
                                             "`agentconsole db check`")
        assert ("Marking done failed: the database is damaged (database disk image is malformed); run "
                "`agentconsole db check`, and restore a backup with `agentconsole db restore FILE`") in notes(app)
