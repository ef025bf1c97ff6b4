"""The inbox's composer verbs: reply, reply all and note open the composer; what it submits is queued or
saved, what it closes on is kept as a draft; and the agent's decision on a send that needs one."""

from __future__ import annotations

import logging
import threading
from functools import cached_property, partial
from typing import Any

from textual import on, work

from agentconsole.domain.models import Channel
from agentconsole.domain.records import DECIDABLE
from agentconsole.domain.rows import DraftRow
from agentconsole.replies.outbox import SendDecision

from screens.composer.composer import Composer, ComposerMode, Draft
from screens.inbox.conversation_pane import OUTBOX_LABELS
from screens.inbox.verbs import InboxVerbs

log = logging.getLogger(__name__)

DRAFT_KEPT_AFTER = 1.0  # seconds after a keystroke the open draft is written to the store (a crash loses less)

# How the palette names each decision on a send that ended unsure, failed or cancelled.
DECISION_LABELS = {SendDecision.RESEND: "Resend", SendDecision.MARK_SENT: "Mark as sent",
                   SendDecision.DISCARD: "Discard"}


class ComposerVerbs(InboxVerbs):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.drafts: dict[tuple[ComposerMode, int], Draft] = {}  # by (mode, conversation id)
        self._autosaved: dict[tuple[ComposerMode, int], str] = {}  # the text last kept while typing
        # What this console knows the store holds, by (mode, conversation id): "" for none. Quit writes
        # only what differs, so a draft loaded at start and never touched here cannot overwrite a newer
        # one another console of the same agent kept since, or bring back one it sent or emptied.
        self._stored: dict[tuple[str, int], str] = {}
        self._stored_lock = threading.Lock()  # a write and the record of what it wrote, as one step
        self._autosave_timer: Any = None
        self.compose_on_load: int | None = None  # open the composer once this conversation shows

    @cached_property
    def composer(self) -> Composer:
        return self.query_one(Composer)

    def check_feature(self, action: str) -> bool | None:
        if action in ("reply", "note"):
            return self._current() is not None and not self.composer.display
        if action == "reply_all":  # email only: elsewhere there is nobody else to copy
            current = self._current()
            return None if current is None or current.channel != Channel.EMAIL else not self.composer.display
        return super().check_feature(action)

    def action_reply(self) -> None:
        self._open_composer(ComposerMode.REPLY)

    def action_note(self) -> None:
        self._open_composer(ComposerMode.NOTE)

    def action_reply_all(self) -> None:
        conversation = self._current()
        if conversation is not None:
            self._reply_all_cc(conversation.id)

    @work(thread=True, exclusive=True, group="reply-all", exit_on_error=False, description="Reading who to copy")
    def _reply_all_cc(self, conversation_id: int) -> None:
        cc = tuple(self.session.reply_all_cc(conversation_id))
        self.app.call_from_thread(self._open_composer, ComposerMode.REPLY, cc or None)

    def _open_composer(self, mode: ComposerMode | str, cc: tuple[str, ...] | None = ()) -> None:
        """*cc* None: a reply all that found nobody else to copy (said, then a plain reply)."""
        conversation = self._current()
        if conversation is None:
            return
        mode = ComposerMode(mode)
        if cc is None:
            self.notify("Nobody else was on that email: this is a plain reply.", timeout=4)
        self._pane_now(conversation.id)
        values = self.customer_values(conversation)
        self.composer.open(mode, conversation, self.drafts.get((mode, conversation.id)),
                           limit=self.limit_for(conversation), values=values, cc=cc or ())
        library = self.session.canned
        self.composer.expander = lambda before: library.expand(before, values)
        self.show_pane_presence()
        self.refresh_bindings()

    def keep_draft(self, conversation_id: int, text: str) -> None:
        """Keep *text* as the conversation's reply draft (a reply that was not queued after all)."""
        self._keep(ComposerMode.REPLY, conversation_id, Draft(text))

    def _keep(self, mode: ComposerMode, conversation_id: int, draft: Draft) -> None:
        if draft.text.strip():
            self.drafts[(mode, conversation_id)] = draft
        else:
            self.drafts.pop((mode, conversation_id), None)
        self._show_drafted()
        if not self._stored_as(mode, conversation_id, draft):  # opened and closed untouched: nothing to write
            self._store_draft(_row(mode, conversation_id, draft))

    def _show_drafted(self) -> None:
        """The list marks the conversations that hold a draft, whichever mode."""
        self.conversations.set_drafted(frozenset(cid for (_mode, cid) in self.drafts))

    def _stored_as(self, mode: ComposerMode, conversation_id: int, draft: Draft) -> bool:
        """Whether the store holds *draft* already, as far as this console knows."""
        with self._stored_lock:
            return self._stored.get((str(mode), conversation_id), "") == (draft.text if draft.text.strip() else "")

    @work(thread=True, group="drafts", exit_on_error=False, description="Keeping the draft")
    def _store_draft(self, row: DraftRow) -> None:
        self._write_draft(row)

    def _write_draft(self, row: DraftRow) -> None:
        with self._stored_lock:
            self.session.keep_draft(row)
            self._stored[(row.mode, row.conversation_id)] = row.text if row.text.strip() else ""

    @work(thread=True, exclusive=True, group="drafts-load", exit_on_error=False, description="Reading the drafts")
    def load_drafts(self) -> None:
        """The drafts kept in the store from earlier sessions (or a console that crashed), once at start."""
        rows = self.session.drafts()
        self.app.call_from_thread(self._drafts_loaded, rows)

    def _drafts_loaded(self, rows: list[DraftRow]) -> None:
        modes = {str(m): m for m in ComposerMode}
        for row in rows:  # one typed in the meantime is newer
            if row.mode in modes:  # a row from a newer console's mode is left for it
                with self._stored_lock:
                    self._stored.setdefault((row.mode, row.conversation_id), row.text)
                self.drafts.setdefault((modes[row.mode], row.conversation_id),
                                       Draft(row.text, row.template_text, row.template_id))
        self._show_drafted()

    def open_draft(self) -> tuple[ComposerMode, int, Draft] | None:
        """What the open composer holds, as a draft (None when it is closed)."""
        composer = self.composer
        if not composer.display or composer.conversation is None:
            return None
        return composer.mode, composer.conversation.id, Draft(composer.text, composer.template_text,
                                                              composer.template_id)

    def autosave_draft(self) -> None:
        """Keep the open composer's text if it changed since it was last kept (a timer calls this)."""
        found = self.open_draft()
        if found is None or found[2].text == self._autosaved.get(found[:2], ""):
            return
        mode, conversation_id, draft = found
        self._autosaved[(mode, conversation_id)] = draft.text
        self._store_draft(_row(mode, conversation_id, draft))

    def on_text_area_changed(self, event: Any) -> None:  # the composer's TextArea.Changed, bubbling up
        if self._autosave_timer is None:  # at most one write a second while typing
            self._autosave_timer = self.set_timer(DRAFT_KEPT_AFTER, self._autosave_due)

    def _autosave_due(self) -> None:
        self._autosave_timer = None
        self.autosave_draft()

    def keep_drafts_now(self) -> bool:
        """Store every draft this console changed and has not stored yet, the open composer's too, at once
        on this thread (the console is closing, so a worker might not finish); False when they could not
        be kept."""
        drafts = dict(self.drafts)
        found = self.open_draft()
        if found is not None:
            drafts[found[:2]] = found[2]  # what is typed now is newer than what it was opened with
        modes = {str(m): m for m in ComposerMode}
        with self._stored_lock:  # sent or emptied here, and its drop's worker may not have run yet
            gone = [key for key, text in self._stored.items() if text and key[0] in modes
                    and (modes[key[0]], key[1]) not in drafts]
        for mode, conversation_id in gone:
            drafts[(modes[mode], conversation_id)] = Draft("")
        try:
            for (mode, conversation_id), draft in drafts.items():
                if not self._stored_as(mode, conversation_id, draft):
                    self._write_draft(_row(mode, conversation_id, draft))
        except Exception:  # a damaged or read-only store: the caller says the draft would be lost
            log.warning("the drafts could not be kept", exc_info=True)
            return False
        return True

    @on(Composer.Closed)
    def _composer_closed(self, message: Composer.Closed) -> None:
        self._keep(message.mode, message.conversation_id, message.draft)
        self.conversations.focus()
        self.show_pane_presence()
        self.refresh_bindings()

    @on(Composer.Submitted)
    def _composer_submitted(self, message: Composer.Submitted) -> None:
        self.drafts.pop((message.mode, message.conversation_id), None)
        self._autosaved.pop((message.mode, message.conversation_id), None)
        self._show_drafted()
        self._drop_draft(message.conversation_id, str(message.mode))
        self.composer.display = False
        self.conversations.focus()
        self.show_pane_presence()
        if message.mode == ComposerMode.NOTE:
            self._save_note(message.conversation_id, message.text)
        else:
            self._send_reply(message.conversation_id, message.text, message.source, message.template_id,
                             message.opened_at, resolve=message.resolve, cc=message.cc)

    @work(thread=True, group="drafts", exit_on_error=False, description="Dropping the sent draft")
    def _drop_draft(self, conversation_id: int, mode: str) -> None:
        with self._stored_lock:
            self.session.drop_draft(conversation_id, mode)
            self._stored[(mode, conversation_id)] = ""

    def current_draft_text(self) -> str:
        """The text that would be lost on quit: saved drafts plus what is in an open composer."""
        texts = [d.text for d in self.drafts.values() if d.text.strip()]
        if self.composer.display and self.composer.text.strip():
            texts.append(self.composer.text)
        return "\n".join(texts)

    @work(thread=True, group="actions", exit_on_error=False, description="Saving the note")
    def _save_note(self, conversation_id: int, text: str) -> None:
        self.session.add_note(conversation_id, text)
        self.post_message(self.ActionFinished("Note saved"))

    # ------------------------------------------------------------------ sends that need the agent's call

    def decision_commands(self) -> list[tuple[str, str, object]]:
        """Palette entries: resend, mark as sent or discard each send of the open conversation that needs it."""
        data = self.pane.data
        commands: list[tuple[str, str, object]] = []
        for item in (data.outbox if data else []):
            if item.state not in DECIDABLE:
                continue
            for decision, label in DECISION_LABELS.items():
                commands.append((f"{label} {item.state} {item.action} #{item.id}",
                                 OUTBOX_LABELS.get(item.state, item.state),
                                 partial(self._decide, item.id, decision)))
        return commands

    @work(thread=True, group="actions", exit_on_error=False, description="Recording the decision on the send")
    def _decide(self, item_id: int, decision: SendDecision) -> None:
        self.session.decide(item_id, decision)
        self.app.call_from_thread(self.app.kick_engine)
        self.post_message(self.ActionFinished(f"Outbox item #{item_id}: {decision.replace('_', ' ')}"))


def _row(mode: ComposerMode, conversation_id: int, draft: Draft) -> DraftRow:
    return DraftRow(conversation_id, str(mode), draft.text, draft.template_text, draft.template_id)
