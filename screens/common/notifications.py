"""The console's side of [notify]: turns engine events, crossings, failed sends and hand-offs into
notifier events, and gives each due notification to the terminal and the configured command."""

from __future__ import annotations

import logging

from textual.app import App
from textual.timer import Timer

from agentconsole.config import Config
from agentconsole.domain.models import Direction
from agentconsole.notify import (Event, Notification, Notifier, NotifyEvent, NotifyPolicy, Terminal, inside_tmux,
                                 run_command, terminal_sequence)
from agentconsole.sync.states import EventKind

log = logging.getLogger(__name__)

TICK = 1.0  # seconds between looks for a due notification
HANDOFF_TICKS = 5  # ticks between looks for new hand-off notes


def policy_of(config: Config) -> NotifyPolicy:
    return NotifyPolicy(frozenset(Event(e) for e in config.notify_on), Terminal(config.notify_terminal),
                        config.notify_command)


def conversation_event(kind: Event, row) -> NotifyEvent:
    from agentconsole.domain.models import Channel

    try:
        channel = Channel(row.channel).label
    except ValueError:
        channel = row.channel
    return NotifyEvent(kind, channel, row.contact_name or row.handle, row.last_preview or row.subject, row.id)


class ConsoleNotifications:
    """Owned by the App; every method is safe to call from the UI thread, the workers call back into it."""

    def __init__(self, app: App, config: Config) -> None:
        self.app = app
        self.notifier = Notifier(policy_of(config), app.clock)
        self._told_sends: set[int] | None = None  # outbox items already told (None: not read yet)
        self._told_handoffs: set[int] | None = None
        self.delivered: list[Notification] = []  # what was given, newest last
        self._ticks = 0
        self._timer: Timer | None = None

    @property
    def active(self) -> bool:
        return self.notifier.policy.active

    def use(self, config: Config) -> None:
        """A reloaded config's [notify] takes effect from the next event."""
        self.notifier.policy = policy_of(config)
        self.start()

    def start(self) -> None:
        """Tick while notifications go somewhere (the terminal or a command); switched off by default,
        they cost no timer at all."""
        if self.active and self._timer is None:
            self._timer = self.app.set_interval(TICK, self.tick, name="notifications")
        elif not self.active and self._timer is not None:
            self._timer.stop()
            self._timer = None

    def add(self, events: list[NotifyEvent]) -> None:
        if events:
            self.notifier.add(events)

    def engine_event(self, event) -> None:
        """From the engine (any thread): new messages and changed sends are looked up in a worker."""
        if not self.active:
            return
        if event.kind == EventKind.INGESTED and event.conversation_ids:
            ids = tuple(event.conversation_ids)
            self._call(lambda: self._run(lambda: self._new_waiting(ids), "notify-ingested",
                                         "Reading new messages for a notification"))
        elif event.kind == EventKind.OUTBOX:
            self._call(lambda: self._run(self._failed_sends, "notify-sends", "Reading failed sends"))

    def _off_ui_thread(self) -> bool:
        import threading

        return threading.get_ident() != self.app._thread_id

    def _call(self, callback) -> None:
        if self._off_ui_thread():
            self.app.call_from_thread(callback)
        else:
            callback()

    def _run(self, work, group: str, description: str) -> None:
        self.app.run_worker(work, thread=True, group=group, description=description, exit_on_error=False)

    def _new_waiting(self, ids: tuple[int, ...]) -> None:
        rows = self.app.session.conversations_by_ids(list(ids))
        mine = (None, self.app.agent_id)  # a teammate's conversation is theirs to be told about
        events = [conversation_event(Event.NEW_WAITING, rows[i]) for i in ids
                  if i in rows and rows[i].needs_reply and rows[i].last_direction == Direction.IN
                  and rows[i].assignee_id in mine]
        self.add(events)

    def _failed_sends(self) -> None:
        items = self.app.session.needing_decision()
        fresh = [item for item in items if self._told_sends is not None and item.id not in self._told_sends]
        self._told_sends = (self._told_sends or set()) | {item.id for item in items}
        if not fresh:
            return
        rows = self.app.session.conversations_by_ids([i.conversation_id for i in fresh if i.conversation_id])
        events = []
        for item in fresh:
            row = rows.get(item.conversation_id) if item.conversation_id else None
            base = conversation_event(Event.SEND_FAILED, row) if row is not None else NotifyEvent(Event.SEND_FAILED)
            events.append(NotifyEvent(Event.SEND_FAILED, base.channel, base.customer,
                                      f"{item.state}: {item.last_error or item.text}", item.conversation_id))
        self.add(events)

    def over_target(self, rows) -> None:
        """From the inbox's crossing check: the conversations that just went over their target."""
        self.add([conversation_event(Event.OVER_TARGET, row) for row in rows])

    def _handoffs(self) -> None:
        pending = self.app.session.shifts().pending_handoffs()
        fresh = [s for s in pending if self._told_handoffs is not None and s.id not in self._told_handoffs]
        self._told_handoffs = (self._told_handoffs or set()) | {s.id for s in pending}
        self.add([NotifyEvent(Event.HANDOFF, "", s.agent_name, s.handoff_note) for s in fresh
                  if s.agent_id != self.app.agent_id])  # not the note this console's agent just left

    def tick(self) -> None:
        if not self.active:
            return
        self._ticks += 1
        if Event.HANDOFF in self.notifier.policy.on and self._ticks % HANDOFF_TICKS == 1:
            self._run(self._handoffs, "notify-handoffs", "Reading hand-off notes")
        if self._told_sends is None and Event.SEND_FAILED in self.notifier.policy.on:
            self._run(self._failed_sends, "notify-sends", "Reading failed sends")  # what was there at start
        notification = self.notifier.due()
        if notification is not None:
            self.deliver(notification)

    def deliver(self, notification: Notification) -> None:
        policy = self.notifier.policy
        self.delivered = [*self.delivered[-19:], notification]
        sequence = terminal_sequence(notification, policy.terminal, tmux=inside_tmux())
        driver = self.app._driver  # Textual's own bell() writes through it too
        if sequence and driver is not None:
            driver.write(sequence)
            driver.flush()
        if policy.command.strip():
            command = policy.command
            self._run(lambda: run_command(command, notification), "notify-command", "Running the notification command")
        log.info("notified: %s (%d event(s))", notification.title, notification.count)
