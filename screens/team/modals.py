"""The collision dialog (send anyway / discard / keep the draft) and the assign-to picker."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from agentconsole.domain.rows import AgentRow
from agentconsole.team.collision import Choice, Collision

from screens.common.safe import safe_text


class CollisionModal(ModalScreen[Choice]):
    """Someone got there first: say what happened, and let the agent choose."""

    CSS_PATH = "team.tcss"  # read ahead after the first frame (AgentConsoleApp.SCREEN_CSS)

    BINDINGS = [
        Binding("s", "choose('send_anyway')", "Send anyway", id="collision.send_anyway",
                tooltip="Send your answer too (recorded in the audit log)"),
        Binding("d", "choose('discard')", "Discard", id="collision.discard", tooltip="Throw your draft away"),
        Binding("k,escape", "choose('keep')", "Keep the draft", id="collision.keep",
                tooltip="Keep your draft in the composer and send nothing now"),
    ]

    def __init__(self, collisions: tuple[Collision, ...], now: float, verb: str = "reply") -> None:
        super().__init__()
        self.collisions = collisions
        self.now = now
        self.verb = verb

    def compose(self) -> ComposeResult:
        text = Text(f"Your {self.verb} was not sent:\n", "bold", end="")
        for c in self.collisions[:4]:
            text.append("• ")
            text.append_text(safe_text(c.describe(self.now), single_line=True, limit=200))
            text.append("\n")
        with Vertical(id="collision-box"):
            yield Static(text, id="collision-what")
            yield Static(Text("s send anyway · d discard · k keep the draft"), id="collision-keys")

    def action_choose(self, choice: str) -> None:
        self.dismiss(Choice(choice))


@dataclass(frozen=True)
class AssignChoice:
    agent_id: int | None  # None: unassign


class AssignModal(ModalScreen[AssignChoice | None]):
    """Pick the agent to assign the conversation to; agents on shift come first."""

    CSS_PATH = "team.tcss"  # read ahead after the first frame (AgentConsoleApp.SCREEN_CSS)

    BINDINGS = [Binding("escape", "cancel", "Close", id="assign.close", tooltip="Assign nobody new")]

    def __init__(self, agents: list[AgentRow], on_shift: set[int], current: int | None, me: int) -> None:
        super().__init__()
        self.agents = sorted(agents, key=lambda a: (a.id not in on_shift, a.id != me, a.name.lower()))
        self.on_shift = on_shift
        self.current = current
        self.me = me

    def compose(self) -> ComposeResult:
        options = []
        for agent in self.agents:
            label = Text(end="")
            label.append("● " if agent.id in self.on_shift else "○ ")
            label.append_text(safe_text(agent.name, "bold", single_line=True, limit=60))
            notes = [n for n, yes in (("you", agent.id == self.me), ("on shift", agent.id in self.on_shift),
                                      ("assigned now", agent.id == self.current)) if yes]
            if notes:
                label.append(f"  ({', '.join(notes)})", "dim")
            options.append(Option(label, id=str(agent.id)))
        options.append(Option(Text("Nobody (unassign)"), id="none"))
        with Vertical(id="assign-box"):
            yield Static(Text("Assign to… (enter picks, esc closes)", "bold"), id="assign-title")
            yield OptionList(*options, id="assign-options")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected, "#assign-options")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        picked = event.option.id
        self.dismiss(AssignChoice(None if picked == "none" else int(picked)))

    def action_cancel(self) -> None:
        self.dismiss(None)
