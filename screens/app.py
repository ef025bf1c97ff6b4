"""The Textual application: themes, keymap, the engine's worker, and app-wide keys (help, palette, quit)."""

from __future__ import annotations

import gc
import logging
import time
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import events, work
from textual.worker import get_current_worker
from textual.app import App
from textual.binding import Binding
from textual.worker import Worker, WorkerState
from textual.worker_manager import WorkerManager

from agentconsole.config import Config, ConfigError
from agentconsole.domain.sanitize import clean
from agentconsole.sync.states import EngineEvent, EventKind
from agentconsole.team.presence import Activity
from themes import DARK, THEME_NAMES, THEMES, VARIABLE_DEFAULTS

from screens.common.commands import ActionsProvider
from screens.common.reload import SettingsProvider, register_user_themes
from screens.inbox.screen import DataChanged, InboxScreen, StatesChanged
from screens.common.keys import catalogue

if TYPE_CHECKING:
    from agentconsole.session.session import Session

    from screens.common.notifications import ConsoleNotifications


BACKGROUND_AT_THE_LATEST = 1.0  # seconds after mount: the engine and team watcher start even without a first page
FAILURE_QUIET = 10.0  # seconds: the same failure is told once, and reloads after failures are spaced
CHECK_DELAY = 2.0  # seconds after mount: the database check and backup wait until the inbox is up
CHECK_QUIET = 2.0  # ... and for this long without a key or click (they take a core for ~1 s at 1M messages)
CHECK_LATEST = 60.0  # seconds after mount: the check runs by then even while keys keep coming
SIGNAL_GRACE = 10.0  # seconds a close on SIGHUP or SIGTERM may take before the process ends anyway

log = logging.getLogger(__name__)


class _ReportingWorkers(WorkerManager):
    """Worker.StateChanged does not bubble, so a failed worker of a screen or widget is also told to
    the App: the one place that turns failures into notifications (textual is pinned: private hook)."""

    def _remove_worker(self, worker: Worker) -> None:
        super()._remove_worker(worker)
        if worker.state == WorkerState.ERROR and worker.node is not self._app:
            self._app.post_message(Worker.StateChanged(worker, worker.state))


class AgentConsoleApp(App[None]):
    """One inbox across every connected channel."""

    CSS_PATH = "app.tcss"
    # A screen that brings its own file on first open makes Textual re-parse the whole stylesheet and
    # restyle every widget (about half a second here), so these are read ahead, once the inbox is up.
    # Their rules only name widgets of those screens, so nothing on screen needs restyling for them.
    SCREEN_CSS = ("metrics/metrics.tcss", "canned/canned.tcss", "shifts/shift.tcss", "accounts/account_setup.tcss",
                  "common/dialogs.tcss", "team/team.tcss")
    TITLE = "agentconsole"
    COMMANDS = {ActionsProvider, SettingsProvider}
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    BINDINGS = [
        Binding("question_mark,f1", "help", "Help", id="app.help", tooltip="Every key, as bound right now"),
        Binding("ctrl+p,colon", "command_palette", "Commands", id="app.palette", priority=True,
                tooltip="Command palette: every action with its key"),
        Binding("q", "quit", "Quit", id="app.quit", tooltip="Quit (asks if a draft would be lost)"),
        Binding("ctrl+q", "quit", "Quit", id="app.quit_now", show=False, priority=True,
                tooltip="Quit (asks if a draft would be lost)"),
    ]

    def __init__(self, session: Session, *, demo: bool = False, setup_email: tuple[Any, Any] | None = None,
                 freeze_startup_objects: bool = False, close_on_hangup: bool = False) -> None:
        super().__init__()
        from screens.common.cells import count_spacing_marks_as_terminals_do

        count_spacing_marks_as_terminals_do()  # before anything is measured: Hindi, Tamil, Thai rows
        self._workers = _ReportingWorkers(self)
        self.failure = ""  # the one line printed after exit when the console stopped on an error
        self._told: dict[str, float] = {}
        self._reloaded_at = -FAILURE_QUIET
        # The screens reach the core only through the session (DESIGN §3); the rest is plain data.
        self.session = session
        self.clock = session.clock
        self.config = config = session.config
        self.agent_id = session.agent_row.id
        self.demo = demo
        self.agent_row = session.agent_row
        self.agent_name = self.agent_row.name
        # (save, test) for the email set-up dialog, wired by the CLI; None hides the command.
        self.setup_email = setup_email
        self.freeze_startup_objects = freeze_startup_objects  # the console's own process only, not tests
        self.close_on_hangup = close_on_hangup  # ditto: signal handlers are the process's
        self._background_started = False  # the team watcher and the engine (start_background)
        self._input_at = float("-inf")  # time.monotonic() of the last key or click: the check waits for a pause
        self._checking = False  # the database check runs; a key stops it until the next pause
        if demo:
            self.title = "agentconsole · DEMO workspace"
        for theme in THEMES:
            self.register_theme(theme)
        from agentconsole import paths

        self.user_theme_files: dict[str, Path] = {}
        self.theme_problems = register_user_themes(self, config.path or paths.config_path())
        self._start_theme(config.theme if config.theme in THEME_NAMES or config.theme in self.available_themes
                          else DARK)
        if config.keymap:
            self.set_keymap(config.keymap)

    @cached_property
    def notifications(self) -> ConsoleNotifications:
        """[notify]: the terminal and the command. Built at first use: its timer starts with the background
        work after the first frame, and nothing is told before that."""
        from screens.common.notifications import ConsoleNotifications

        return ConsoleNotifications(self, self.config)

    def _start_theme(self, name: str) -> None:
        """The theme the console starts in. Setting App.theme runs its watcher, which queues refresh_css:
        the stylesheet parsed a second time, without its parse cache, and every node styled again once
        the app runs. Before it runs nothing is parsed or styled, so what the watcher sets up is set
        here directly: the theme's classes, its ANSI colours and the variables the first parse reads
        (textual is pinned: App._watch_theme does the same and queues the re-parse)."""
        self.set_reactive(App.theme, name)
        dark = self.current_theme.dark
        self.update_classes({f"-theme-{name}": True, "-dark-mode": dark, "-light-mode": not dark}, update=False)
        self._refresh_truecolor_filter(self.ansi_theme)
        self.stylesheet.set_variables(self.get_css_variables())

    def notify(self, message: str, *, title: str = "", severity="information", timeout: float | None = None,
               markup: bool = False) -> None:
        """Notifications often quote untrusted text (names, errors): never markup, never escapes."""
        super().notify(clean(message), title=clean(title), severity=severity, timeout=timeout, markup=False)

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(VARIABLE_DEFAULTS)

    def on_mount(self) -> None:
        # The feed's place in the change log is taken before the inbox's first reads, so nothing
        # committed in between is missed; the watcher thread that reads it starts after the first frame.
        self.session.open_change_feed()
        if self.close_on_hangup:
            self._close_on_signals()
        self.push_screen(InboxScreen(id="inbox"))
        self.session.subscribe(self.engine_event)  # the engine's events, and the session's own verbs'
        self.set_timer(BACKGROUND_AT_THE_LATEST, self.start_background)  # if no first page ever comes
        self._check_by = time.monotonic() + CHECK_LATEST
        self.set_timer(CHECK_DELAY, self._check_when_quiet)
        for problem in self.theme_problems:  # a bad theme file is skipped, never silently
            self.notify(f"Theme skipped: {problem}", severity="warning", timeout=15)

    def _close_on_signals(self) -> None:
        """A closed terminal (SIGHUP: an SSH link dropped, a tmux window killed) or a SIGTERM ends the console
        the way `q` does instead of killing it mid-write: the store closes cleanly, so the next start skips
        the database check, the watcher and the engine stop, and the drafts are kept (nobody is there to ask)."""
        import asyncio

        from agentconsole.stop_signals import on_stop_signals

        on_stop_signals(asyncio.get_running_loop(), self._signalled)

    def _signalled(self, name: str) -> None:
        import os
        import threading

        inbox = self._inbox()
        lost = ""
        if inbox is not None and not inbox.keep_drafts_now() and inbox.current_draft_text():
            lost = " (an unsent draft was lost)"
        log.warning("closing on %s%s", name, lost)
        self.failure = f"closed on {name}{lost}" if lost else ""
        # The handler replaced the signal's default (the process gone at once): a close that hangs must not
        # leave a console running with nobody at its terminal.
        watchdog = threading.Timer(SIGNAL_GRACE, os._exit, (1,))
        watchdog.daemon = True
        watchdog.start()
        self.exit(return_code=1 if lost else 0)

    def start_background(self) -> None:
        """The team watcher and the first sync, once the inbox's first rows are painted (the inbox calls
        this then), so neither competes with the first frame; once only."""
        if self._background_started:
            return
        self._background_started = True
        gc.enable()  # the CLI paused the cyclic collector for the start (run_console)
        inbox = self._inbox()
        if inbox is not None:
            inbox.load_drafts()  # what earlier sessions left unsent
        self.notifications.start()
        self.watch_team()
        if self.session.syncing:
            self.run_engine()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.MouseDown)):
            self._input_at = time.monotonic()
            if self._checking and self._input_at < self._check_by:
                self.session.interrupt_check()  # typing goes first: the check runs again after a pause
        await super().on_event(event)

    def _check_when_quiet(self) -> None:
        now = time.monotonic()
        if now - self._input_at >= CHECK_QUIET or now >= self._check_by:
            self._checking = True
            self.check_database()
        else:
            self.set_timer(self._input_at + CHECK_QUIET - now, self._check_when_quiet)

    @work(thread=True, exclusive=True, group="db-check", exit_on_error=False,
          description="Checking the database")
    def check_database(self) -> None:
        """SQLite's quick check, then the daily backup of a sound file; a failure stops all writes
        (the store refuses them) and the banner says so."""
        found = self.session.check_database()
        if self.is_running:  # not when the console quit meanwhile
            self.call_from_thread(self._checked, found)

    def _checked(self, found: bool | None) -> None:
        self._checking = False
        if found is None:  # stopped by a key
            self.set_timer(CHECK_QUIET, self._check_when_quiet)
        elif found:
            self._show_damaged()

    def _show_damaged(self) -> None:
        from screens.inbox.header import WorkspaceBanner

        self.notify(self.session.damaged, severity="error", timeout=30)
        inbox = self._inbox()
        for banner in inbox.query(WorkspaceBanner) if inbox is not None else ():
            banner.tick()  # the banner reads the store's state; without an engine nothing else ticks it

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Every failed worker, of any screen: one notification that says what failed, then a reload."""
        if event.state != WorkerState.ERROR:
            return
        worker, error = event.worker, event.worker.error
        doing = worker.description or worker.name or "A background task"
        if self.session.explain(error) is None:
            log.error("%s failed", doing, exc_info=error)
        else:
            log.warning("%s failed: %s", doing, self.session.short(error))
        if self.session.notice(error):  # SQLite found damage mid-session: writes stop, as after a failed check
            self._show_damaged()
        text = f"{doing} failed: {self.session.short(error)}"
        now = self.clock.now()
        if self._told.get(text, -FAILURE_QUIET) + FAILURE_QUIET <= now:  # a storm of one failure: told once
            self._told[text] = now
            self.notify(text, severity="error", timeout=10)
        inbox = self._inbox()
        # Reload what is on screen (a half-done action may have changed it), but not over and over when
        # the reload itself is what fails.
        if inbox is not None and worker.group != "db-check" and self._reloaded_at + FAILURE_QUIET <= now:
            self._reloaded_at = now
            inbox.post_message(DataChanged())

    def _handle_exception(self, error: Exception) -> None:
        # The console stops, as Textual would, but the traceback goes to the log file and the terminal
        # gets one line after exit (printed by the CLI), never a traceback over the panes.
        log.error("the console stopped on an unexpected error", exc_info=error)
        from agentconsole import logs

        where = logs.current_path()
        self.failure = self.session.explain(error) or (
            f"unexpected {type(error).__name__}: {clean(str(error), keep_newlines=False)[:200]}; "
            + (f"the details are in {where}" if where else "no log file could be written")
            + " (please report it)")
        super()._handle_exception(error)

    def _fatal_error(self) -> None:
        self.bell()
        self._close_messages_no_wait()

    def _print_error_renderables(self) -> None:
        self._exit_renderables.clear()  # already in the log; the CLI prints self.failure instead

    def preload_screen_styles(self) -> None:
        """Add the other screens' stylesheets without the full re-parse and restyle that a screen's
        CSS_PATH costs on its first open (that path then finds them already read)."""
        added = False
        for name in self.SCREEN_CSS:
            path = Path(__file__).parent / name
            if not self.stylesheet.has_source(str(path), ""):
                self.stylesheet.read(path)
                added = True
        if added:
            self.stylesheet.parse()  # only the new files are parsed; the rest come from its cache

    def settle_memory(self) -> None:
        """Put what start-up built, which lives as long as the session, out of the cyclic garbage
        collector's reach: its full collections then walk only newer objects, a few milliseconds instead
        of a 50 ms pause in the middle of a keypress. Done once the inbox is up; a process-wide setting,
        so only when this app owns the process."""
        if self.freeze_startup_objects:
            gc.freeze()

    def engine_event(self, event: EngineEvent) -> None:
        """Turn an EngineEvent into a coalescing message for the inbox (safe from any thread)."""
        if event.kind == EventKind.HEARD:  # listening: no conversation moved, only the Heard view reads it again
            for shown in self.screen_stack:
                if callable(changed := getattr(shown, "heard_changed", None)):
                    changed()
            return
        screen = self._inbox()
        if screen is not None:
            # A send or an outbox state moves a row between views (Waiting, Decide) as ingest does; one
            # that names no conversation (a status post) changes nothing a list shows.
            if event.kind == EventKind.STATE:
                screen.post_message(StatesChanged())
            elif event.conversation_ids or event.kind == EventKind.CHANGED:
                screen.post_message(DataChanged(frozenset(event.conversation_ids), event.order, event.counts))
        self.notifications.engine_event(event)
        if event.kind == EventKind.INGESTED:
            self.send_away_replies()

    @work(thread=True, exclusive=True, group="away", exit_on_error=False, description="Sending away replies")
    def send_away_replies(self) -> None:
        """Off shift, customers who wrote get one away reply per off period (when switched on)."""
        if self.session.send_away_replies():
            self.call_from_thread(self.kick_engine)

    def open_account_setup(self) -> None:
        from screens.accounts.setup import AccountSetupModal

        save, test = self.setup_email

        def done(result: str | None) -> None:
            if result:
                self.notify(f"{result} It syncs from the next start.", timeout=8)

        self.push_screen(AccountSetupModal(save=save, test=test), done)

    def set_presence(self, conversation_id: int | None, activity: Activity) -> None:
        """Say where this console is; the watcher writes it within a poll."""
        self.session.set_presence(conversation_id, activity)

    @work(thread=True, exclusive=True, group="team", exit_on_error=False,
          description="other consoles' changes and presence")
    def watch_team(self) -> None:
        from screens.team.live import watch

        worker = get_current_worker()
        # Also stop when the app stops running: a worker started as the app closes is never cancelled.
        watch(self, lambda: worker.is_cancelled or not self.is_running)

    def inbox_screen(self) -> InboxScreen | None:
        return self._inbox()

    def _inbox(self) -> InboxScreen | None:
        for screen in self.screen_stack:
            if isinstance(screen, InboxScreen):
                return screen
        return None

    @work(group="engine", exit_on_error=False, description="Syncing")
    async def run_engine(self) -> None:
        # The CLI's engine and connectors are built here, in the worker's first step: after the first
        # paint and after the inbox has started its loads, which the rows still to come wait for.
        self.session.attach_engine()
        await self.session.run_engine()

    def kick_engine(self) -> None:
        self.session.kick()

    def action_help(self) -> None:
        from screens.common.modals import HelpScreen  # the dialogs are read when one first opens

        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(catalogue(self.screen)))

    def exit(self, *args: Any, **kwargs: Any) -> None:
        # The process's exit waits for every worker thread: the team watcher would finish its wait
        # first, and the start-up check (nice 19) its whole pass over the file; both stop now instead.
        self.session.stop_watching_team()
        self.session.interrupt_check()
        super().exit(*args, **kwargs)

    async def action_quit(self) -> None:
        inbox = self._inbox()
        # Drafts are kept in the store (the next start offers them again); asked only when that failed.
        if inbox is not None and not inbox.keep_drafts_now() and inbox.current_draft_text():
            def answered(yes: bool | None) -> None:
                if yes:
                    self.exit()
            from screens.common.modals import ConfirmModal

            self.push_screen(ConfirmModal("You have an unsent draft. Quit and lose it?"), answered)  # the log says why
            return
        self.exit()



def check_config(config: Config, user_themes=None, theme_problems=()) -> None:
    """What the core cannot check without the UI: the theme name (built in or the user's own), and that
    every [keys] id exists and its new key takes no other binding's key on the same screen. Raises
    ConfigError naming the line."""
    from textual.theme import BUILTIN_THEMES

    if user_themes is None:
        from agentconsole import paths
        from themes.user import load_user_themes, themes_dir

        found = load_user_themes(themes_dir(config.path or paths.config_path()))
        user_themes, theme_problems = found.names, found.problems
    try:
        config.check_choices([*THEME_NAMES, *user_themes, *sorted(BUILTIN_THEMES)])  # Textual's own work too
    except ConfigError as exc:
        if not theme_problems:
            raise
        raise ConfigError(f"{exc} (skipped: {'; '.join(theme_problems)})") from exc
    if not config.keymap:
        return
    from screens.common.keys import binding_scopes

    scopes = binding_scopes(AgentConsoleApp)
    known = sorted({b.id for scope in scopes for b in scope if b.id})
    for binding_id, keys in config.keymap.items():
        if binding_id not in known:
            import difflib

            close = difflib.get_close_matches(binding_id, known, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise config.error("keys", binding_id, f"unknown binding id; {hint}allowed: {', '.join(known)}")
        bad = [k for k in keys.split(",") if not _is_key(k)]
        if bad:
            raise config.error("keys", binding_id, f"{bad[0]!r} is not a key name; write keys as Textual "
                                                   "names such as \"r\", \"R\", \"ctrl+r\", \"f2\", \"slash\"")
    for scope in scopes:
        taken: dict[str, str] = {}
        for binding in scope:
            if not binding.id:
                continue
            for key in config.keymap.get(binding.id, binding.key).split(","):
                other = taken.setdefault(key, binding.id)
                if other != binding.id and (binding.id in config.keymap or other in config.keymap):
                    mine, theirs = (binding.id, other) if binding.id in config.keymap else (other, binding.id)
                    raise config.error("keys", mine, f"{key!r} is already the key of {theirs!r}; choose "
                                                     f"another key, or remap {theirs!r} too")


def _is_key(key: str) -> bool:
    import unicodedata

    from textual.keys import Keys

    *modifiers, base = key.split("+")
    if any(m not in ("ctrl", "shift", "alt", "meta", "super", "hyper") for m in modifiers) or not base:
        return False
    if len(base) == 1 or base in {k.value for k in Keys}:
        return True
    try:
        unicodedata.lookup(base.replace("_", " ").upper())
    except KeyError:
        return False
    return True
