"""The inbox's team verbs and live view: other consoles' changes and presence, claims (a, A), and the
collision guard's choice at send time. InboxScreen inherits them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual import work
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen

from agentconsole.domain.sanitize import one_line
from agentconsole.team.collision import Choice, Collided
from agentconsole.team.presence import Activity, Present

from screens.composer.composer import ComposerMode

if TYPE_CHECKING:
    from agentconsole.domain.rows import AgentRow
    from agentconsole.team.changes import Changes


@dataclass
class ChangesSeen(Message):
    """Another connection committed: the change log names the conversations and what changed."""

    changes: Changes


@dataclass
class PresenceSeen(Message):
    """Who else is on which conversation now (the newest supersedes any not yet handled)."""

    people: dict[int, tuple[Present, ...]]

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, PresenceSeen)


def row_mark(people: tuple[Present, ...]) -> str:
    """The list row's mark: ✎ and initials for someone replying, · and initials for viewing."""
    first = people[0]
    mark = ("✎" if first.activity == Activity.COMPOSING else "·") + one_line(first.initials, 3)
    return mark + ("+" if len(people) > 1 else "")


class TeamScreen(Screen):
    """The inbox screen supplies conversations, pane, composer, reload(), load_* and _current()."""

    BINDINGS = [
        Binding("A", "assign_to", "Assign to…", id="inbox.assign_to", show=False,
                tooltip="Assign the conversation to an agent (agents on shift first)"),
    ]

    team_presence: dict[int, tuple[Present, ...]] = {}

    @dataclass
    class CollisionFound(Message):
        """A send met another agent's change to the conversation: the agent chooses."""
        conversation_id: int
        text: str
        source: str
        template_id: int | None
        opened_at: float | None
        collided: Collided
        resolve: bool = False
        cc: tuple[str, ...] = ()

    @dataclass
    class AssignOptions(Message):
        """The agents a conversation can be assigned to were read."""
        conversation_id: int
        current: int | None
        agents: list[AgentRow]
        on_shift: set[int]

    # ------------------------------------------------------------------ live: changes and presence

    def on_changes_seen(self, message: ChangesSeen) -> None:
        """Refresh only what another process changed: those rows, the pane if it shows one of them,
        and the order and counts when a change can move a row."""
        changes = message.changes
        if changes.everything:
            self.reload()
            return
        if "shift" in changes.what:
            self.load_banner()
        touched = changes.ids("order", "row", "note", "outbox")
        if touched:  # an outbox state moves a conversation in or out of the Decide view
            self.refresh_changed(touched, bool(changes.ids("order", "outbox")))

    def on_presence_seen(self, message: PresenceSeen) -> None:
        self.team_presence = message.people
        self.conversations.set_presence({cid: row_mark(people) for cid, people in message.people.items()})
        self.show_pane_presence()

    def show_pane_presence(self) -> None:
        """The pane says who else is here; this console tells the others where it is."""
        conversation_id = self.pane.conversation_id
        self.pane.show_presence(self.team_presence.get(conversation_id, ()) if conversation_id else ())
        composing = self.composer.display and self.composer.mode == ComposerMode.REPLY
        self.app.set_presence(conversation_id, Activity.COMPOSING if composing else Activity.VIEWING)

    # ------------------------------------------------------------------ sending through the guard

    @work(thread=True, group="actions", exit_on_error=False, description="Queueing the reply")
    def _send_reply(self, conversation_id: int, text: str, source: str = "personal",
                    template_id: int | None = None, opened_at: float | None = None,
                    send_anyway: bool = False, resolve: bool = False, cc: tuple[str, ...] = ()) -> None:
        app = self.app
        try:
            self.session.reply(conversation_id, text, source=source, template_id=template_id, opened_at=opened_at,
                               send_anyway=send_anyway, resolve=resolve, cc=cc)
        except Collided as exc:
            self.post_message(self.CollisionFound(conversation_id, text, source, template_id, opened_at, exc,
                                                  resolve, cc))
            return
        except Exception as exc:  # the draft must survive whatever went wrong
            self.post_message(self.ActionFinished("", f"Reply not queued: {exc}. Your draft is kept.",
                                                  (conversation_id, text)))
            return
        app.call_from_thread(app.kick_engine)
        app.call_from_thread(self._select_next, conversation_id)
        self.post_message(self.ActionFinished("Reply queued for sending" + (" (sent anyway)" if send_anyway else "")
                                              + ("; done once it is accepted" if resolve else "")))

    def on_team_screen_collision_found(self, message: CollisionFound) -> None:
        from screens.team.modals import CollisionModal

        def chosen(choice: Choice | None) -> None:
            if choice == Choice.SEND_ANYWAY:
                self._send_reply(message.conversation_id, message.text, message.source, message.template_id,
                                 message.opened_at, True, message.resolve, message.cc)
            elif choice == Choice.DISCARD:
                self.drafts.pop((ComposerMode.REPLY, message.conversation_id), None)
                self.notify("Draft discarded.", timeout=3)
            else:  # keep: the draft comes back; what happened is now seen, so the clock restarts
                self.keep_draft(message.conversation_id, message.text)
                if self.pane.conversation_id == message.conversation_id:
                    self._open_composer(ComposerMode.REPLY)
                self.notify("Draft kept; nothing sent.", timeout=3)
            self.refresh_pane()

        self.app.push_screen(CollisionModal(message.collided.collisions, message.collided.now), chosen)

    # ------------------------------------------------------------------ claims

    def action_assign(self) -> None:
        """a: assign to me; on my own conversation, unassign; someone else's asks first and names them."""
        conversation = self._current()
        if conversation is None:
            return
        me, current = self.app.agent_id, conversation.assignee_id
        if current == me:
            self._claim(conversation.id, None, me)
        elif current is None:
            self._claim(conversation.id, me, None)
        else:
            name = one_line(conversation.assignee_name, 40)

            def answered(yes: bool | None) -> None:
                if yes:
                    self._claim(conversation.id, me, current)

            from screens.common.modals import ConfirmModal  # the dialogs are read when one first opens

            self.app.push_screen(ConfirmModal(f"Assigned to {name}. Take it over from {name}?"), answered)

    def action_assign_to(self) -> None:
        conversation = self._current()
        if conversation is not None:
            self._assign_options(conversation.id, conversation.assignee_id)

    @work(thread=True, exclusive=True, group="assign", exit_on_error=False, description="Listing the agents")
    def _assign_options(self, conversation_id: int, current: int | None) -> None:
        session = self.session
        self.post_message(self.AssignOptions(conversation_id, current, session.agents(), session.on_shift_agent_ids()))

    def on_team_screen_assign_options(self, message: AssignOptions) -> None:
        from screens.team.modals import AssignChoice, AssignModal

        def picked(choice: AssignChoice | None) -> None:
            if choice is not None:
                self._claim(message.conversation_id, choice.agent_id, message.current)

        self.app.push_screen(AssignModal(message.agents, message.on_shift, message.current, self.app.agent_id),
                             picked)

    @work(thread=True, group="actions", exit_on_error=False, description="Assigning")
    def _claim(self, conversation_id: int, agent_id: int | None, expected: int | None) -> None:
        """Compare-and-set: it only happens if the assignee is still the one the agent saw."""
        session = self.session
        done, now = session.assign(conversation_id, agent_id, expected)
        if not done:
            who = session.agent(now).name if now is not None else "nobody"
            self.post_message(self.ActionFinished("", f"Not changed: it is assigned to {one_line(who, 40)} now."))
            return
        if agent_id is None:
            note = "Unassigned"
        elif agent_id == self.app.agent_id:
            note = "Assigned to you" + (" (taken over)" if expected is not None else "")
        else:
            note = f"Assigned to {one_line(session.agent(agent_id).name, 40)}"
        self.post_message(self.ActionFinished(note))
