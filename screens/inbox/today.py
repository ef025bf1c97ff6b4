"""Today's first-response figures for the wait line, and the one-time notice when a conversation goes over
its target."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from textual import on, work
from textual.message import Message

from agentconsole.domain.rows import ConversationRow
from agentconsole.response.sla import format_wait

from screens.inbox.loading import DataChanged
from screens.inbox.team import ChangesSeen
from screens.inbox.thread_text import zone
from screens.inbox.verbs import InboxVerbs, clean_name

TODAY_REFRESH_SECONDS = 30.0  # how often the figures are read again, when something changed meanwhile


class TodayVerbs(InboxVerbs):
    @dataclass
    class TodayLoaded(Message):
        """Today's first-response figures were read for the wait line."""
        text: str

    @dataclass
    class CrossedOver(Message):
        """Conversations whose wait went over target since the last look."""
        rows: list[ConversationRow]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._crossings_checked: float | None = None  # the clock when the targets were last looked at
        self._told_over: set[int] = set()  # conversations whose crossing was already announced
        self._today_stale = True  # a change may have moved today's figures since they were read
        self._today_read_for: date | None = None  # the agent's day they were read for

    def keep_today_current(self) -> None:
        """Called once the first rows are up: today's figures now, then every half minute, not per second."""
        self.load_today()
        self.set_interval(TODAY_REFRESH_SECONDS, self._today_if_changed, name="today")

    def _today_if_changed(self) -> None:
        """Today's figures move only with a change (a message, a reply, an action, another console's) or
        at midnight: a half minute without either reads nothing (60 ms at 300k conversations)."""
        if self._today_stale or self._today_read_for != self._agents_day():
            self.load_today()

    def _agents_day(self) -> date:
        return datetime.fromtimestamp(self.app.clock.now(), zone(self.app.config.timezone)).date()

    @on(DataChanged)
    @on(ChangesSeen)
    def _today_may_have_moved(self) -> None:
        self._today_stale = True

    def load_today(self) -> None:
        self._today_stale = False  # before the read: a change while it runs makes the next one read again
        self._today_read_for = self._agents_day()
        self._read_today()

    @work(thread=True, exclusive=True, group="today", exit_on_error=False, description="Loading today's figures")
    def _read_today(self) -> None:
        figures = self.session.today_figures()
        if figures.first_response_median is None:
            text = "no first response yet today"
        else:
            text = (f"first response today: median {format_wait(figures.first_response_median)}, "
                    f"p90 {format_wait(figures.first_response_p90)}")
        if figures.response_rate is not None:
            text += f" · {figures.response_rate:.0%} answered"
        self.post_message(self.TodayLoaded(text))

    def on_today_verbs_today_loaded(self, message: TodayLoaded) -> None:
        if message.text != self.today_text:  # the wait line carries them: read again only for new words
            self.today_text = message.text
            self.load_wait()

    @work(thread=True, exclusive=True, group="crossings", exit_on_error=False, description="Checking the targets")
    def check_crossings(self) -> None:
        """Tell the agent once when a conversation goes over its target (not those over at launch)."""
        now = self.app.clock.now()
        since, self._crossings_checked = self._crossings_checked, now
        if since is None or now <= since:
            return
        rows = self.session.crossed_over(since, now)
        if rows:
            self.post_message(self.CrossedOver(rows))

    def on_today_verbs_crossed_over(self, message: CrossedOver) -> None:
        config = self.app.config
        fresh = [row for row in message.rows if row.id not in self._told_over]
        self._told_over.update(row.id for row in fresh)
        if not fresh:
            return
        self.app.notifications.over_target(fresh)  # [notify]: outside the console too
        if config.notify_on_over:
            names = ", ".join(clean_name(row) for row in fresh[:3]) + (" …" if len(fresh) > 3 else "")
            self.notify(f"Over target now: {names}", severity="warning", timeout=8)
        if config.bell_on_over:
            self.app.bell()
