"""The inbox's search verbs: `/` searches every channel, n and N step through the hits."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from screens.inbox.verbs import InboxVerbs

if TYPE_CHECKING:
    from screens.common.modals import SearchResult


class SearchVerbs(InboxVerbs):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.hits: tuple = ()  # the last search's hits, newest first
        self.hit_index = 0

    def check_feature(self, action: str) -> bool | None:
        if action == "hit":
            return bool(self.hits)
        return super().check_feature(action)

    def action_search(self) -> None:
        from screens.common.modals import SearchModal  # the dialogs are read when one first opens

        self.app.push_screen(SearchModal(self.session.search), self._search_done)

    def _search_done(self, result: SearchResult | None) -> None:
        if result is None:
            return
        self.hits, self.hit_index = result.hits, result.index
        self.go_to(self.hits[self.hit_index].conversation_id)
        self.refresh_bindings()

    def action_hit(self, step: int) -> None:
        if not self.hits:
            return
        self.hit_index = (self.hit_index + step) % len(self.hits)
        hit = self.hits[self.hit_index]
        self.go_to(hit.conversation_id)
        self.notify(f"Hit {self.hit_index + 1} of {len(self.hits)}", timeout=2)
