"""The inbox list's own verbs: the order (o), the view filter (\\), moving on after a reply, and the
thread's scroll hint. InboxScreen inherits them; they use its list, pane and loaders."""

from __future__ import annotations

from agentconsole.domain.filters import parse_filter
from agentconsole.domain.views import VIEWS
from agentconsole.session.listing import find_id


class ListTools:
    """Mixed into InboxScreen (which provides conversations, pane, order, narrow and the loaders)."""

    def _title_list(self) -> None:
        self.conversations.border_title = ("Conversations" + (" · DEMO" if self.app.demo else "")
                                           + (f" · filter: {self.narrow.typed}" if not self.narrow.empty else ""))
        self.conversations.border_subtitle = f"{self.order.label} · o"

    def action_toggle_order(self) -> None:
        self.order = self.order.other()
        self._title_list()
        self.notify(f"Waiting conversations: {self.order.label} (o to switch)", timeout=3)
        self.load_ids(VIEWS[self.view_index].key)
        self.load_wait()

    def _select_next(self, answered_id: int) -> None:
        """After a reply was queued, go on to the conversation below the answered one (above it at the
        end of the list) instead of following the answered row wherever the new order puts it; not
        when the agent has moved on by themselves meanwhile."""
        if self.conversations.selected_id != answered_id:
            return
        ids = self.conversations.ids
        index = find_id(ids, answered_id, self.conversations.cursor)  # near the cursor: no pass over the list
        if index is None:
            return
        others = [ids[i] for i in (index + 1, index - 1) if 0 <= i < len(ids)]
        if others:
            self.conversations.select_id(others[0])

    def _scroll_hint(self) -> None:
        """The thread opens at its newest message; the pane's border says how to read what is above."""
        thread = self.pane.query_one("#thread")
        if thread.has_focus and thread.max_scroll_y:
            hint = "↑↓ pgup pgdn home end scroll · esc back to the list"
        elif thread.scroll_y > 0:
            hint = "enter, then ↑ for earlier messages"
        else:
            hint = ""
        self.pane.border_subtitle = hint

    def action_filter(self) -> None:
        from screens.inbox.filter_modal import FilterModal

        self.app.push_screen(FilterModal(self.narrow.typed), self._filter_done)

    def _filter_done(self, typed: str | None) -> None:
        if typed is None:
            return
        agents: dict[str, int] = {}  # @AN and @alice both name Alice Ng
        for agent in self.app.session.agents():
            for word in (agent.initials, *agent.name.split()[:1]):
                if word:
                    agents[word.casefold()] = agent.id
        self.narrow = parse_filter(typed, self.app.agent_id, agents)
        self._title_list()
        self.load_ids(VIEWS[self.view_index].key)
