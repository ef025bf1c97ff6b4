"""The Session's link to the sync engine, which the console builds and attaches after its first paint."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from agentconsole.sync.states import ConnectorState, EngineEvent, SyncStatus

if TYPE_CHECKING:
    from agentconsole.storage.store import Store
    from agentconsole.sync.engine import Engine

log = logging.getLogger(__name__)


class EngineLink:
    """Mixed into Session: the engine (given, or built by *connect* on attach_engine) and its events."""

    store: Store
    engine: Engine | None

    def _link_engine(self, engine: Engine | None, connect: Callable[[], Engine] | None) -> None:
        self.engine = None
        self._connect = connect
        self._listeners: list[Callable[[EngineEvent], None]] = []
        self._engine_listener: Callable[[EngineEvent], None] | None = None
        self._connecting: dict[int, ConnectorState] | None = None
        if engine is not None:
            self._hook(engine)

    def _hook(self, engine: Engine) -> None:
        self.engine = engine
        self._engine_listener = engine.on_change
        engine.on_change = self._engine_changed

    def attach_engine(self) -> None:
        """Build the engine and its connectors now, once: the console calls it right after its first
        paint (with the first sync), so neither the connectors nor the engine's imports delay the start."""
        connect, self._connect = self._connect, None
        if self.engine is None and connect is not None:
            self._hook(connect())

    def subscribe(self, listener: Callable[[EngineEvent], None]) -> None:
        """Be told of every engine event (from the engine's loop); a listener's bug never stops syncing."""
        self._listeners.append(listener)

    if TYPE_CHECKING:  # supplied by RefreshReads
        def note_changed(self, conversation_ids: Iterable[int]) -> None: ...

    def _engine_changed(self, event: EngineEvent) -> None:
        if event.conversation_ids:
            self.note_changed(event.conversation_ids)
        for listener in [self._engine_listener, *self._listeners]:
            if listener is not None:
                try:
                    listener(event)
                except Exception:
                    log.exception("engine listener failed")

    def connector_states(self) -> dict[int, ConnectorState] | None:
        """Each account's connector state; until the engine is attached, every account is starting (as
        the engine's own first state says), so the first frame's banner reads as it did."""
        if self.engine is not None:
            return self.engine.states()
        if self._connect is None:
            return None
        if self._connecting is None:
            self._connecting = {a.id: ConnectorState(a.id, a.name, SyncStatus.STARTING) for a in self.store.accounts()}
        return dict(self._connecting)

    async def run_engine(self) -> None:
        if self.engine is not None:
            await self.engine.run()

    def kick(self) -> None:
        """Wake the sender and the pollers (on the engine's loop) after something was queued."""
        if self.engine is not None:
            self.engine.kick()

    @property
    def syncing(self) -> bool:
        return self.engine is not None or self._connect is not None
