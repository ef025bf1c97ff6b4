"""The inbox's way to the Heard view: brand talk found by the listening keywords, outside the waiting counts."""

from __future__ import annotations

from textual.binding import Binding

from screens.inbox.verbs import InboxVerbs


class HeardVerbs(InboxVerbs):
    BINDINGS = [
        Binding("H", "heard", "Heard", id="inbox.heard", show=False,
                tooltip="Heard: brand talk that did not @mention you (keywords and hashtags)"),
    ]

    def action_heard(self) -> None:
        from screens.heard.screen import HeardScreen

        self.app.push_screen(HeardScreen(self.session))
