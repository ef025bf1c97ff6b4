"""The pane follows the list's cursor without costing a key its frame: at once after a single press, once
the cursor rests while a key is held; and the footer is rebuilt only when what applies changed."""

from __future__ import annotations

import time
from functools import partial
from typing import Any

from textual import on
from textual.timer import Timer

from screens.common.keys import bindings_of
from screens.inbox.conversation_list import ConversationList
from screens.inbox.verbs import InboxVerbs

# While the cursor moves faster than this (a held key), the pane waits for it to rest.
PANE_DEBOUNCE = 0.08


class PaneFollow(InboxVerbs):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pane_timer: Timer | None = None
        self._last_highlight = 0.0
        self._bindings_due = False  # a footer check is waiting for the next frame
        self._verbs: tuple = ()  # what check_action said when the footer was last rebuilt

    @on(ConversationList.Highlighted)
    def _highlighted(self, message: ConversationList.Highlighted) -> None:
        now = time.monotonic()
        rapid = now - self._last_highlight < PANE_DEBOUNCE
        self._last_highlight = now
        if self._pane_timer is not None:
            self._pane_timer.stop()
            self._pane_timer = None
        if message.conversation_id is None:
            self.pane.show(None)
        elif message.conversation_id != self.pane.conversation_id:
            if rapid:  # a key held down: show the conversation once the cursor rests
                self._pane_timer = self.set_timer(PANE_DEBOUNCE, partial(self.load_pane, message.conversation_id))
            else:  # once the moved cursor is on screen: the key's own frame never waits for the pane
                self.call_after_refresh(self._load_pane_if_selected, message.conversation_id)
        if not self._bindings_due:  # the footer too, once per frame however many keys came
            self._bindings_due = True
            self.call_after_refresh(self._refresh_bindings_due)

    def _load_pane_if_selected(self, conversation_id: int) -> None:
        if conversation_id == self.conversations.selected_id and conversation_id != self.pane.conversation_id:
            self.load_pane(conversation_id)

    def _pane_now(self, conversation_id: int) -> None:
        """Show *conversation_id* in the pane without waiting for the cursor to rest."""
        if self._pane_timer is not None:
            self._pane_timer.stop()
            self._pane_timer = None
        if self.pane.conversation_id != conversation_id:
            self.load_pane(conversation_id)

    def _refresh_bindings_due(self) -> None:
        self._bindings_due = False
        self.refresh_bindings_if_changed()

    def refresh_bindings_if_changed(self) -> None:
        """Rebuild the footer only when what applies changed: moving the cursor between two similar
        conversations must not rebuild it (that costs a frame)."""
        actions = {binding.action for binding in bindings_of(type(self))}
        verbs = tuple(sorted((a, self.check_action(a.split("(")[0], ())) for a in actions))
        if verbs != self._verbs:
            self._verbs = verbs
            self.refresh_bindings()
