"""The Textual application: themes, keymap, the engine's worker, and app-wide keys (help, palette, quit)."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

from textual import work
from textual.worker import get_current_worker
from textual.app import App
from textual.binding import Binding

from agentconsole.domain.clock import Clock
from agentconsole.config import Config
from agentconsole.domain.sanitize import clean
from agentconsole.sync.engine import Engine, EngineEvent
from agentconsole.replies.outbox import Outbox
from agentconsole.storage.store import Store
from agentconsole.team.console import console_id
from agentconsole.team.presence import Activity
from themes import DARK, THEME_NAMES, THEMES, VARIABLE_DEFAULTS

from screens.common.commands import ActionsProvider
from screens.inbox.screen import DataChanged, InboxScreen, StatesChanged
from screens.common.keys import catalogue
from screens.common.modals import ConfirmModal, HelpScreen


ENGINE_START_DELAY = 0.3  # seconds after mount


class AgentConsoleApp(App[None]):
    """One inbox across every connected channel."""

    CSS_PATH = "app.tcss"
    # A screen that brings its own file on first open makes Textual re-parse the whole stylesheet and
    # restyle every widget (about half a second here), so these are read ahead, once the inbox is up.
    # Their rules only name widgets of those screens, so nothing on screen needs restyling for them.
    SCREEN_CSS = ("metrics/metrics.tcss", "canned/canned.tcss", "shifts/shift.tcss", "accounts/account_setup.tcss")
    TITLE = "agentconsole"
    COMMANDS = {ActionsProvider}
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    BINDINGS = [
        Binding("question_mark,f1", "help", "Help", id="app.help", tooltip="Every key, as bound right now"),
        Binding("ctrl+p,colon", "command_palette", "Commands", id="app.palette", priority=True,
                tooltip="Command palette: every action with its key"),
        Binding("q", "quit", "Quit", id="app.quit", tooltip="Quit (asks if a draft would be lost)"),
        Binding("ctrl+q", "quit", "Quit", id="app.quit_now", show=False, priority=True,
                tooltip="Quit (asks if a draft would be lost)"),
    ]

    def __init__(self, store: Store, *, clock: Clock, config: Config, agent_id: int, engine: Engine | None = None,
                 demo: bool = False, setup_email: tuple[Any, Any] | None = None,
                 freeze_startup_objects: bool = False) -> None:
        super().__init__()
        self.store = store
        self.clock = clock
        self.config = config
        self.agent_id = agent_id
        self.engine = engine
        self.demo = demo
        self.outbox = Outbox(store)
        self.agent_row = store.agent(agent_id)
        self.agent_name = self.agent_row.name
        # Where this console is, for the other consoles; written by the live watcher's thread.
        self.console_id = console_id()
        self.change_feed = None  # opened on mount; read and closed by the watcher thread
        self.presence_target: tuple[int | None, Activity] = (None, Activity.VIEWING)
        self.presence_sent: tuple[int | None, Activity] | None = None
        # (save, test) for the email set-up dialog, wired by the CLI; None hides the command.
        self.setup_email = setup_email
        self.freeze_startup_objects = freeze_startup_objects  # the console's own process only, not tests
        if demo:
            self.title = "agentconsole · DEMO workspace"
        for theme in THEMES:
            self.register_theme(theme)
        self.theme = config.theme if config.theme in THEME_NAMES or config.theme in self.available_themes \
            else DARK
        if config.keymap:
            self.set_keymap(config.keymap)

    def notify(self, message: str, *, title: str = "", severity="information", timeout: float | None = None,
               markup: bool = False) -> None:
        """Notifications often quote untrusted text (names, errors): never markup, never escapes."""
        super().notify(clean(message), title=clean(title), severity=severity, timeout=timeout, markup=False)

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(VARIABLE_DEFAULTS)

    def on_mount(self) -> None:
        from agentconsole.team.changes import ChangeFeed

        # The feed's place in the change log is taken before the inbox's first reads, so nothing
        # committed in between is missed; the watcher thread that reads it starts after the first frame.
        self.change_feed = ChangeFeed(self.store.path)
        self.push_screen(InboxScreen(id="inbox"))
        self.set_timer(ENGINE_START_DELAY, self.watch_team)
        if self.engine is not None:
            listener = self.engine.on_change

            def forward(event: EngineEvent) -> None:
                if listener is not None:
                    listener(event)
                self.engine_event(event)

            self.engine.on_change = forward
            # The first sync starts once the inbox has painted, so it never delays the first frame.
            self.set_timer(ENGINE_START_DELAY, self.run_engine)

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
        screen = self._inbox()
        if screen is not None:
            screen.post_message(StatesChanged() if event.kind == "state" else DataChanged())
        if event.kind == "ingested":
            self.send_away_replies()

    @work(thread=True, exclusive=True, group="away", exit_on_error=False)
    def send_away_replies(self) -> None:
        """Off shift, customers who wrote get one away reply per off period (when switched on)."""
        from agentconsole.shifts.away import AwayReplies
        from agentconsole.shifts.service import Shifts

        caps = {aid: c.capabilities for aid, c in self.engine.connectors.items()} if self.engine else {}
        if AwayReplies(Shifts(self.store, caps)).send_due():
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
        self.presence_target = (conversation_id, activity)

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

    @work(group="engine", exit_on_error=False)
    async def run_engine(self) -> None:
        await self.engine.run()

    def kick_engine(self) -> None:
        if self.engine is not None:
            self.engine.kick()

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(catalogue(self.screen)))

    async def action_quit(self) -> None:
        inbox = self._inbox()
        if inbox is not None and inbox.current_draft_text():
            def answered(yes: bool | None) -> None:
                if yes:
                    self.exit()
            self.push_screen(ConfirmModal("You have an unsent draft. Quit and lose it?"), answered)
            return
        self.exit()

