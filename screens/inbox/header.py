"""The top lines and the view column: workspace banner, response-time line, views with live counts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.message import Message
from textual.widget import Widget

from agentconsole.domain.clock import Clock
from agentconsole.sync.states import ConnectorState, SyncStatus
from agentconsole.response.hours import BusinessHours
from agentconsole.domain.models import Channel
from agentconsole.response.rule import WaitState, counted
from agentconsole.response.sla import format_wait
from agentconsole.domain.views import VIEWS

from screens.common.safe import safe_text
from screens.common.steady import SteadyLines


@dataclass(frozen=True, slots=True)
class WaitFigures:
    """What the response-time line shows, as loaded from the store."""

    waiting: int = 0
    oldest_since: float | None = None
    oldest_channel: str | None = None
    over: int = 0
    today: str = ""  # today's first-response figures, already worded (refreshed far less often)
    oldest_hours: BusinessHours | None = None  # the oldest one's account counts open hours only
    most_urgent: bool = False  # the wait shown is the most urgent one, not the longest


def connector_status(state: ConnectorState, now: float) -> str:
    """One connector's state in a few words: ok, syncing, error + why, retrying in N s."""
    status, message = state.status, state.message
    if status == SyncStatus.RETRYING:
        wait = f" in {max(0, int(state.retry_at - now))}s" if state.retry_at else ""
        return f"retrying{wait}" + (f" ({message})" if message else "")
    if status == SyncStatus.DOWN:
        wait = f", restarting in {max(0, int(state.retry_at - now))}s" if state.retry_at else ""
        return f"stopped{wait}: {message}"
    if status == SyncStatus.STANDBY:  # another process holds this account's lease and syncs it
        return f"synced by {message}" if message else "synced elsewhere"
    if status == SyncStatus.OK and message:  # what the connector adds, e.g. "$0.023 spent today (UTC)"
        return f"ok · {message}"
    if status == SyncStatus.CREDITS:  # the platform's paid credits ran out: the business tops up, no error of ours
        return message or "credits exhausted"
    if status in (SyncStatus.ERROR, SyncStatus.AUTH):
        label = "error" if status == SyncStatus.ERROR else "sign-in needed"
        return f"{label}: {message}" if message else label
    return str(status)


SYNC_SHOWN_AFTER = 1.0  # seconds a sync runs before the banner says "syncing" (after the account's first)


class _TickingLine(Widget):
    """A one-line widget asked every second what it would say, rebuilt only when that changed and
    repainted only when its text did."""

    _text: Text | None = None  # subclasses define _build(), the line as it should read now
    _said: object = None  # the _words() the shown text was built from

    def _words(self) -> object:
        """What the line's text depends on right now, cheaper to compute than the styled text itself."""
        return None

    def tick(self) -> None:
        words = self._words()
        if self._text is not None and words is not None and words == self._said:
            return
        self._said = words
        text = self._build()
        if self._text is None or text.plain != self._text.plain:
            self._text = text
            self.refresh()

    def render(self) -> Text:
        if self._text is None:
            self._text = self._build()
        return self._text


class WorkspaceBanner(_TickingLine):
    """The top line: DEMO label, the agent, and every connector's state."""

    COMPONENT_CLASSES = {"banner--demo", "banner--agent", "banner--ok", "banner--busy", "banner--error"}

    def __init__(self, agent_name: str, demo: bool, clock: Clock, **kwargs) -> None:
        super().__init__(**kwargs)
        self.agent_name = agent_name
        self.demo = demo
        self.clock = clock
        self.states: Mapping[int, ConnectorState] = {}
        self._settled: dict[int, ConnectorState] = {}  # each account's last state other than syncing
        self._syncing_since: dict[int, float] = {}

    def set_states(self, states: Mapping[int, ConnectorState]) -> None:
        now = self.clock.now()
        for aid, state in states.items():
            if state.status == SyncStatus.SYNCING:
                self._syncing_since.setdefault(aid, now)
            else:
                self._syncing_since.pop(aid, None)
                self._settled[aid] = state
        self.states = dict(states)
        self.tick()

    def _shown(self, now: float) -> list[ConnectorState]:
        """The states as the line says them: a poll that is over within SYNC_SHOWN_AFTER (nearly every
        one) keeps the account's previous words instead of flashing "syncing" for a frame or two."""
        shown = []
        for aid, state in self.states.items():
            since = self._syncing_since.get(aid)
            settled = self._settled.get(aid)
            if since is not None and settled is not None and now - since < SYNC_SHOWN_AFTER:
                state = settled
            shown.append(state)
        return shown

    def _words(self) -> object:
        session = getattr(self.app, "session", None)
        link = getattr(session, "workspace_link", None)
        now = self.clock.now()
        return (getattr(session, "damaged", ""), link.describe(now) if link is not None else "",
                tuple((s.account_name, s.status, connector_status(s, now)) for s in self._shown(now)))

    def _build(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        if self.demo:
            text.append(" DEMO workspace ", self.get_component_rich_style("banner--demo", partial=True))
            text.append(" ")
        text.append("Agent: ")
        text.append_text(safe_text(self.agent_name, self.get_component_rich_style(
            "banner--agent", partial=True), single_line=True, limit=60))
        damaged = getattr(getattr(self.app, "session", None), "damaged", "")
        if damaged:  # before everything else: nothing more is saved until a backup is restored
            text.append(" · ")
            text.append_text(safe_text(f"DATABASE DAMAGED, nothing is saved: {damaged}",
                                       self.get_component_rich_style("banner--error", partial=True),
                                       single_line=True, limit=400))
        now = self.clock.now()
        link = getattr(getattr(self.app, "session", None), "workspace_link", None)
        if link is not None and not link.up:  # the workspace's server is away: what shows may be stale
            text.append(" · ")
            text.append_text(safe_text(link.describe(now), self.get_component_rich_style("banner--error", partial=True),
                                       single_line=True, limit=400))
        if not self.states:
            text.append(" · no accounts connected")
        for state in self._shown(now):
            status = state.status
            part = ("banner--ok" if status == SyncStatus.OK else
                    "banner--error" if status in (SyncStatus.ERROR, SyncStatus.AUTH, SyncStatus.RETRYING, SyncStatus.DOWN)
                    else "banner--busy")
            text.append(" · ")
            text.append_text(safe_text(state.account_name, single_line=True, limit=40))
            text.append(" ")
            text.append_text(safe_text(connector_status(state, now),
                                       self.get_component_rich_style(part, partial=True),
                                       single_line=True, limit=80))
        return text



class WaitLine(_TickingLine):
    """Waiting N · oldest 42m (X) · K over target; the oldest wait advances every second."""

    COMPONENT_CLASSES = {"wait--over", "wait--ok"}

    def __init__(self, clock: Clock, **kwargs) -> None:
        super().__init__(**kwargs)
        self.clock = clock
        self.figures = WaitFigures()

    def set_figures(self, figures: WaitFigures) -> None:
        self.figures = figures
        self.tick()

    def _words(self) -> object:
        f = self.figures
        if not f.waiting or f.oldest_since is None:
            return f
        return f, format_wait(counted(f.oldest_since, self.clock.now(), f.oldest_hours))

    def _build(self) -> Text:
        f = self.figures
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        if not f.waiting:
            text.append("Nobody is waiting", self.get_component_rich_style("wait--ok", partial=True))
            if f.today:
                text.append(f" · {f.today}")
            return text
        text.append(f"Waiting {f.waiting}")
        if f.oldest_since is not None:
            try:
                channel = Channel(f.oldest_channel).label
            except ValueError:
                channel = str(f.oldest_channel or "")
            now = self.clock.now()
            waited = counted(f.oldest_since, now, f.oldest_hours)
            text.append(f" · {'most urgent' if f.most_urgent else 'oldest'} {format_wait(waited)} ({channel})")
        text.append(" · ")
        style = self.get_component_rich_style("wait--over" if f.over else "wait--ok", partial=True)
        text.append(f"{WaitState.OVER.mark + ' ' if f.over else ''}{f.over} over target", style)
        if f.today:
            text.append(f" · {f.today}")
        return text



class ViewList(SteadyLines, Widget):
    """The views with their live counts; the current one highlighted."""

    COMPONENT_CLASSES = {"views--current", "views--count"}

    class Chosen(Message):
        """A view was clicked."""

        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.counts: dict[str, int] = {}
        self.current = 0

    def set_counts(self, counts: Mapping[str, int]) -> None:
        if dict(counts) != self.counts:
            self.counts = dict(counts)
            self.refresh()

    def set_current(self, index: int) -> None:
        self.current = index
        self.refresh()

    def render(self) -> Text:
        width = max(6, self.content_size.width)
        text = Text(end="")
        for index, view in enumerate(VIEWS):
            count = self.counts.get(view.key)
            count_text = "" if count is None else str(count)
            key = (f"{index + 1} " if index < 9 else "  ") if width >= 13 else ""
            label = f"{key}{view.label}"
            room = width - len(count_text) - 1
            line = Text(f"{label[:room]:<{room}} ", end="")
            line.append(count_text, self.get_component_rich_style("views--count", partial=True))
            if index == self.current:
                line.stylize(self.get_component_rich_style("views--current", partial=True))
            text.append_text(line)
            if index < len(VIEWS) - 1:
                text.append("\n")
        return text

    def on_click(self, event: events.Click) -> None:
        if 0 <= event.y < len(VIEWS):
            self.post_message(self.Chosen(event.y))
