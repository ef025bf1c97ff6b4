"""The console builds its engine and connectors right after the first rows are painted, and syncs then."""

from __future__ import annotations

import pytest

from agentconsole.config import Config
from agentconsole.session.session import Session
from agentconsole.sync.engine import Engine
from agentconsole.sync.states import SyncStatus
from screens.app import AgentConsoleApp
from tests.screens.test_sending import RecordingConnector
from tests.screens.helpers import screen_text, settle, wait_until

SIZE = (120, 36)


class CountingConnector(RecordingConnector):
    """test_sending's recording channel, counting its polls too."""

    def __init__(self, clock) -> None:
        super().__init__(clock)
        self.fetches = 0

    async def fetch(self, cursor):
        self.fetches += 1
        return await super().fetch(cursor)


async def test_the_engine_is_built_after_the_first_rows_and_then_syncs_and_sends(seeded):
    dana = seeded.store.conversation(seeded.ids["dana"])
    account = dana.account_id
    name = seeded.store.account(account).name
    connector = CountingConnector(seeded.clock)
    built: list[str] = []  # what the screen showed when the engine was built

    def connect() -> Engine:
        built.append(screen_text(app))
        return Engine(seeded.store, {account: connector}, clock=seeded.clock)

    session = Session(seeded.store, clock=seeded.clock, config=Config(timezone="Europe/Berlin"),
                      agent_id=seeded.agent_id, connect=connect)
    # Until the engine is attached, every account reads as starting, as the engine's first state does.
    assert session.engine is None and session.syncing
    assert [(s.account_name, s.status) for s in session.connector_states().values()] == [
        (a.name, SyncStatus.STARTING) for a in seeded.store.accounts()]
    app = AgentConsoleApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(app, pilot, lambda: f"{name} ok" in screen_text(app))
        assert len(built) == 1  # once
        assert dana.contact_name in built[0] and "Waiting" in built[0]  # the first rows were painted first
        assert session.engine is not None and connector.fetches >= 1
        await pilot.press("j", "r", *"Sorry Dana, sending a new one", "ctrl+s")
        await wait_until(app, pilot, lambda: len(connector.sent) == 1)
        assert connector.sent[0].text == "Sorry Dana, sending a new one"
    session.attach_engine()  # a second call builds nothing
    assert len(built) == 1


# The dialogs' rules moved out of app.tcss into files read after the first frame (AgentConsoleApp.SCREEN_CSS)
# or by the dialog's own CSS_PATH when it opens first; these snapshots were taken before the move.
DIALOG_KEYS = {"help": ("question_mark",), "search": ("slash", "o", "r", "d"), "assign": ("A",),
               "confirm": ("r", "h", "i", "escape", "q")}


def cannot_keep(row) -> None:
    raise OSError("No space left on device")


@pytest.mark.parametrize("dialog", list(DIALOG_KEYS))
@pytest.mark.parametrize("preloaded", [True, False], ids=["preloaded", "on-open"])
def test_the_dialogs_look_as_they_did_in_app_tcss(seeded, snap_compare, dialog, preloaded, monkeypatch):
    if not preloaded:  # the dialog opens before the inbox read the other stylesheets ahead
        monkeypatch.setattr(AgentConsoleApp, "preload_screen_styles", lambda self: None)
    app = seeded.app()

    async def run_before(pilot) -> None:
        await settle(app, pilot)
        for key in DIALOG_KEYS[dialog]:
            # Quit asks only when a draft is not kept yet and cannot be: the close's own write has not
            # run (its worker still queued), and the store refuses the one at quit.
            if dialog == "confirm" and key == "escape":
                monkeypatch.setattr(app.screen, "_store_draft", lambda row: None)
            if dialog == "confirm" and key == "q":
                monkeypatch.setattr(app.session, "keep_draft", cannot_keep)
            await pilot.press(key)
            await settle(app, pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


async def test_the_first_frame_parses_no_dialog_rules(seeded, monkeypatch):
    """Until the inbox is up, the stylesheet holds only what the first frame styles."""
    monkeypatch.setattr(AgentConsoleApp, "preload_screen_styles", lambda self: None)
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        names = set().union(*(rule.selector_names for rule in app.stylesheet.rules))
        assert names.isdisjoint({"SearchModal", "HelpScreen", "ConfirmModal", "CollisionModal", "AssignModal",
                                 "help-box", "#help-box", "confirm-box", "#confirm-box"})
        assert "ConversationList" in names  # the rules were read


def styled_nodes(monkeypatch) -> list[str]:
    """The class name of every node the stylesheet styles from now on, in order."""
    from textual.css.stylesheet import Stylesheet

    styled: list[str] = []
    apply = Stylesheet.apply
    monkeypatch.setattr(Stylesheet, "apply", lambda sheet, node, *a, **k: (
        styled.append(type(node).__name__), apply(sheet, node, *a, **k))[1])
    return styled


@pytest.mark.parametrize(("size", "width_class"), [((80, 24), "-narrow"), ((120, 36), "-wide")])
async def test_the_inbox_is_styled_for_its_width_before_its_first_frame(seeded, monkeypatch, size, width_class):
    """The width's class is on the inbox from its start: Textual's first Resize, which would set it
    after every node was styled and style them all again, finds it there."""
    from screens.inbox.screen import InboxScreen

    styled = styled_nodes(monkeypatch)
    app = seeded.app()
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        inbox = app.screen
        assert isinstance(inbox, InboxScreen) and width_class in inbox.classes
        assert styled.count("InboxScreen") == 1  # styled as it is mounted; not again for its width


async def test_the_first_show_of_the_inbox_styles_each_node_once(seeded, monkeypatch):
    """Every node is styled as it is mounted; the first resume does not style them all again, and a
    full restyle after the start changes nothing, so that second pass had nothing to do. A later
    resume, back from a dialog, restyles as before."""
    from screens.common.modals import HelpScreen

    styled = styled_nodes(monkeypatch)
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert styled.count("ConversationPane") == 1 and styled.count("InboxScreen") == 1
        nodes = list(app.screen.walk_children(with_self=True))
        before = [node.styles.css for node in nodes]
        app.stylesheet.update(app.screen)
        await pilot.pause()
        assert [node.styles.css for node in nodes] == before
        await pilot.press("question_mark")
        await wait_until(app, pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.press("escape")
        await wait_until(app, pilot, lambda: not isinstance(app.screen, HelpScreen))
        await settle(app, pilot)
        assert styled.count("ConversationPane") >= 2  # resumed again: restyled
