"""The inbox's escalation verbs: move a public post to DM, crisis mode over the marked posts, the marks,
and the jump between a public conversation and its DM."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual import work
from textual.binding import Binding
from textual.message import Message

from agentconsole.domain.models import Channel, SendAction
from agentconsole.domain.records import OutboxState
from agentconsole.domain.rows import ConversationRow
from agentconsole.domain.views import VIEWS
from agentconsole.session.listing import find_id

from screens.inbox.verbs import InboxVerbs

if TYPE_CHECKING:
    from agentconsole.replies.escalation_texts import EscalationTexts
    from agentconsole.team.collision import Collided


class EscalationVerbs(InboxVerbs):
    BINDINGS = [
        Binding("d", "escalate", "DM", id="inbox.escalate",
                tooltip="Move to DM: a DM first, then a public 'we've sent you a DM'"),
        Binding("space", "mark", "Mark", id="inbox.mark", show=False, tooltip="Mark for a bulk action"),
        Binding("D", "crisis", "Crisis", id="inbox.crisis", show=False,
                tooltip="Crisis mode: one public status and a DM to each marked person"),
        Binding("L", "linked", "Linked", id="inbox.linked", show=False,
                tooltip="Jump to the linked conversation (public ↔ DM)"),
    ]

    @dataclass
    class EscalationReady(Message):
        """The texts for moving a public post to DM were prepared."""
        conversation: ConversationRow
        texts: EscalationTexts

    @dataclass
    class EscalationCollided(Message):
        """Someone else acted on the post while the move to DM was being written."""
        args: tuple[int, str, str, float | None]  # conversation id, DM text, public text, opened at
        collided: Collided

    @dataclass
    class Escalated(Message):
        """The post was moved to DM: the DM's conversation."""
        dm_conversation_id: int

    def check_feature(self, action: str) -> bool | None:
        current = self._current()
        # escalate and linked stay available on every conversation and say why when they don't apply:
        # dimming them per row would rebuild the footer on every cursor move (~10 ms a key).
        if action == "escalate" and current is not None and current.channel == Channel.EMAIL:
            return False  # email is private already: the verb never applies there, so it is not offered
        if action in ("escalate", "linked"):
            return current is not None or None
        return super().check_feature(action)

    def feature_palette_commands(self) -> list[tuple[str, str, object]]:
        """Asking publicly for a DM, for each of the open conversation's refused escalations."""
        commands = super().feature_palette_commands()
        data = self.pane.data
        for item in (data.outbox if data else []):
            if item.state == OutboxState.CANCELLED and item.action == SendAction.REPLY:
                commands.append((f"Ask publicly to DM us instead (#{item.id})",
                                 "The DM was refused: post a public reply inviting them to message us",
                                 lambda item_id=item.id: self._ask_to_dm(item_id)))
        return commands

    # ------------------------------------------------------------------ one post to DM

    def action_escalate(self) -> None:
        conversation = self._current()
        if conversation is None:
            return
        self._check_reach(conversation)

    @work(exclusive=True, group="escalate-check", exit_on_error=False, description="Asking whether a DM is possible")
    async def _check_reach(self, conversation: ConversationRow) -> None:
        """The core's reach rule, with the platform's live answer where the connector gives one."""
        reason = await self.session.why_not_escalate_now(conversation.id)
        if reason:
            self.notify(f"Can't move this to DM: {reason}.", severity="warning", timeout=6)
            return
        self._escalation_texts(conversation)

    @work(thread=True, exclusive=True, group="escalate", exit_on_error=False, description="Preparing the escalation")
    def _escalation_texts(self, conversation: ConversationRow) -> None:
        texts = self.session.escalation_texts(conversation)
        self.post_message(self.EscalationReady(conversation, texts))

    def on_escalation_verbs_escalation_ready(self, message: EscalationReady) -> None:
        from agentconsole.replies.reach import WINDOWED

        from screens.escalation.dialogs import EscalateModal

        conversation = message.conversation
        opened_at = self.app.clock.now()  # the collision guard looks for answers from here on

        def chosen(result: tuple[str, str] | None) -> None:
            if result is not None:
                self._escalate(conversation.id, *result, opened_at)

        self.app.push_screen(EscalateModal(conversation, message.texts, self.limit_for(conversation),
                                           private_reply=Channel(conversation.channel) in WINDOWED), chosen)

    @work(thread=True, group="actions", exit_on_error=False, description="Escalating to a DM")
    def _escalate(self, conversation_id: int, dm_text: str, public_text: str, opened_at: float | None = None,
                  send_anyway: bool = False) -> None:
        from agentconsole.replies import escalation
        from agentconsole.team.collision import Collided

        app = self.app
        try:
            done = self.session.escalate(conversation_id, dm_text, public_text, opened_at=opened_at,
                                         send_anyway=send_anyway)
        except escalation.EscalationRefused as exc:
            self.post_message(self.ActionFinished("", f"Can't move this to DM: {exc}."))
            return
        except Collided as exc:
            self.post_message(self.EscalationCollided((conversation_id, dm_text, public_text, opened_at), exc))
            return
        app.call_from_thread(app.kick_engine)
        self.post_message(self.Escalated(done.dm_conversation_id))

    def on_escalation_verbs_escalation_collided(self, message: EscalationCollided) -> None:
        from agentconsole.team.collision import Choice

        from screens.team.modals import CollisionModal

        def chosen(choice: Choice | None) -> None:
            if choice == Choice.SEND_ANYWAY:
                self._escalate(*message.args, True)
            else:
                self.notify("Nothing was sent to this customer.", timeout=4)
            self.refresh_pane()

        self.app.push_screen(CollisionModal(message.collided.collisions, message.collided.now, "DM"), chosen)

    def on_escalation_verbs_escalated(self, message: Escalated) -> None:
        self.notify("DM queued; the public reply follows once the DM is accepted.", timeout=5)
        dm = message.dm_conversation_id
        self.compose_on_load = dm  # ready to type once the DM pane is there
        if VIEWS[self.view_index].key == "all" and find_id(self.conversations.ids, dm, self.conversations.cursor) is None:
            # All holds every conversation: a new DM is on its way in, in the targeted refresh of the change
            # the escalation named, which puts the cursor on the selected row; reading All again would only
            # repeat that at the cost of the whole view.
            self.conversations.focus()
            self.conversations.selected_id = dm
            self._pane_now(dm)
            return
        self.go_to(dm)

    @work(thread=True, group="actions", exit_on_error=False, description="Asking to DM")
    def _ask_to_dm(self, item_id: int) -> None:
        app = self.app
        self.session.ask_to_dm(item_id)
        app.call_from_thread(app.kick_engine)
        self.post_message(self.ActionFinished("Public reply asking them to DM us is queued"))

    # ------------------------------------------------------------------ marks and crisis mode

    def action_mark(self) -> None:
        marked = self.conversations.toggle_mark()
        if marked is not None:
            count = len(self.conversations.marked)
            self.notify(f"{count} marked · D for crisis mode" if count else "No conversation marked",
                        timeout=2)
            self.refresh_bindings()

    def action_crisis(self) -> None:
        marked = sorted(self.conversations.marked)
        if not marked:
            self.notify("Nothing is marked: press space on each public post to include, then D.",
                        title="Crisis mode", severity="warning")
            return
        from screens.escalation.dialogs import CrisisModal

        def closed(sent: bool | None) -> None:
            if sent:
                self.conversations.clear_marks()
            self.refresh_bindings()  # what was sent comes as the session's change event

        self.app.push_screen(CrisisModal(self.session, marked, self.app.agent_row, self.app.kick_engine), closed)

    # ------------------------------------------------------------------ public ↔ DM

    def action_linked(self) -> None:
        conversation = self._current()
        if conversation is None:
            return
        if conversation.linked_id is None:
            self.notify("This conversation is not linked to another (d on a public post links it to a DM).",
                        timeout=4)
            return
        self.go_to(conversation.linked_id)
