"""The change log's wake-up: how a reader learns that another connection committed, without reading
the log to find out. SQLite: the connection's data_version moves. PostgreSQL: a NOTIFY on the change
log's channel, sent by the log's trigger inside the writing transaction (so it arrives only after the
commit that made the rows visible), on a LISTEN connection of its own."""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from agentconsole.storage.store import Store

log = logging.getLogger(__name__)

CHANNEL = "agentconsole_changes"
SKEW_WARNING_SECONDS = 2.0  # presence beats every 2 s and lives 6 s: more skew than this shows

# The trigger every PostgreSQL workspace has on its change log (see postgres_notify_sql()): one
# notification per inserting statement, carrying the newest seq, the conversation ids and the kinds
# of change, cut down to the newest seq alone when it would not fit in a notification.
NOTIFY_FUNCTION = f"""
CREATE OR REPLACE FUNCTION changes_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    payload text;
BEGIN
    SELECT json_build_object(
        'seq', max(seq),
        'ids', coalesce(json_agg(DISTINCT conversation_id) FILTER (WHERE conversation_id IS NOT NULL), '[]'),
        'what', coalesce(json_agg(DISTINCT what), '[]'))::text
      INTO payload FROM fresh;
    IF length(payload) > 7000 THEN
        SELECT json_build_object('seq', max(seq))::text INTO payload FROM fresh;
    END IF;
    PERFORM pg_notify('{CHANNEL}', payload);
    RETURN NULL;
END
$$"""
NOTIFY_TRIGGER = ("CREATE OR REPLACE TRIGGER changes_notify AFTER INSERT ON changes REFERENCING NEW TABLE AS fresh"
                  " FOR EACH STATEMENT EXECUTE FUNCTION changes_notify()")


def postgres_notify_sql() -> list[str]:
    """The statements that install the wake-up on a PostgreSQL workspace (a migration runs them)."""
    return [NOTIFY_FUNCTION, NOTIFY_TRIGGER]


class LinkLost(Exception):
    """The connection to the database server went away (it is restarted with back-off)."""


@dataclass(frozen=True, slots=True)
class Wake:
    """A reader was woken: *seq* is the newest change the notifications named (0: unknown)."""

    seq: int = 0
    ids: frozenset[int] = frozenset()
    what: frozenset[str] = frozenset()


class Signal(Protocol):
    def wait(self, timeout: float) -> Wake | None:
        """A Wake once another connection committed, None after *timeout* seconds without; raises
        LinkLost when the server went away."""
        ...

    def reconnect(self) -> None: ...

    def nudge(self) -> None:
        """Make a wait in progress return (None) soon, from any thread."""
        ...

    def close(self) -> None: ...


class SqliteSignal:
    """PRAGMA data_version on a connection of its own that never writes: it moves with every commit of
    any other connection (the value means something only on the one connection that read it)."""

    # Each look wakes a thread and reads the WAL index (~0.1 ms of CPU after a sleep): at 20 looks a
    # second that was a third of the idle console's CPU, at 5 a tenth. Two a second still show a
    # teammate's change or presence within the second the console promises; this console's own moves
    # do not wait for a look (nudge()).
    STEP_SECONDS = 0.5

    def __init__(self, path: Path | str) -> None:
        from agentconsole.storage import db

        self.conn = db.connect(path)
        self._version = self._now()
        self._nudged = threading.Event()

    def nudge(self) -> None:
        """End the current wait now (any thread): the watcher has something of its own to write."""
        self._nudged.set()

    def _now(self) -> int:
        return int(self.conn.execute("PRAGMA data_version").fetchone()[0])

    def wait(self, timeout: float) -> Wake | None:
        end = time.monotonic() + timeout
        while True:
            version = self._now()
            if version != self._version:
                self._version = version
                return Wake()
            left = end - time.monotonic()
            if left <= 0:
                return None
            if self._nudged.wait(min(self.STEP_SECONDS, left)):
                self._nudged.clear()
                return None

    def reconnect(self) -> None:
        self._version = self._now()

    def close(self) -> None:
        self.conn.close()


class PostgresSignal:
    """LISTEN on a connection of its own (autocommit: a listener inside a transaction never hears)."""

    # Notice a silently dead server within seconds, not the kernel's two hours.
    KEEPALIVE = {"keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 2,
                 "tcp_user_timeout": 8000, "connect_timeout": 5}

    SLICE_SECONDS = 0.2  # the longest a nudge waits for a wait on the connection to end

    def __init__(self, conninfo: str, **extra: Any) -> None:
        self.conninfo = conninfo
        self.extra = extra
        self.conn: Any = None
        self.clock_skew = 0.0
        self._nudged = threading.Event()
        self.reconnect()

    def nudge(self) -> None:
        self._nudged.set()

    def reconnect(self) -> None:
        import psycopg

        self.close()
        try:
            self.conn = psycopg.connect(self.conninfo, autocommit=True, application_name="agentconsole listen",
                                        **{**self.KEEPALIVE, **self.extra})
            self.conn.execute(f"LISTEN {CHANNEL}")
            self.clock_skew = self._skew()
        except psycopg.Error as exc:
            self.close()
            raise LinkLost(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__) from exc

    def _skew(self) -> float:
        """This host's clock against the server's, in seconds (positive: the server is ahead). Presence
        rows expire by each host's own clock, so hosts whose clocks disagree by seconds see them wrongly."""
        before = time.time()
        row = self.conn.execute("SELECT extract(epoch FROM clock_timestamp())::float8").fetchone()
        skew = float(row[0]) - (before + time.time()) / 2
        if abs(skew) > SKEW_WARNING_SECONDS:
            log.warning("this host's clock is %.1f s %s the workspace server's: others' presence may show"
                        " wrongly here until the clocks agree (NTP)", abs(skew), "behind" if skew > 0 else "ahead of")
        return skew

    def wait(self, timeout: float) -> Wake | None:
        import psycopg

        if self.conn is None:
            raise LinkLost("not connected")
        seqs: list[int] = [0]
        ids: set[int] = set()
        what: set[str] = set()
        woke = False
        end = time.monotonic() + timeout
        try:
            while not woke and not self._nudged.is_set():  # in slices, so a nudge is seen within one
                for note in self.conn.notifies(timeout=max(0.0, min(self.SLICE_SECONDS, end - time.monotonic())),
                                               stop_after=1):
                    woke = True
                    _read(note.payload, seqs, ids, what)
                if time.monotonic() >= end:
                    break
            self._nudged.clear()
            if woke:  # take every notification already here, so one read answers them all
                for note in self.conn.notifies(timeout=0):
                    _read(note.payload, seqs, ids, what)
            elif self.conn.closed or self.conn.broken:
                raise LinkLost("the server closed the connection")
        except psycopg.Error as exc:
            self.close()
            raise LinkLost(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__) from exc
        return Wake(max(seqs), frozenset(ids), frozenset(what)) if woke else None

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:  # a broken connection may fail to close cleanly; it is gone either way
                log.debug("closing the listen connection failed", exc_info=True)
            self.conn = None


def _read(payload: str, seqs: list[int], ids: set[int], what: set[str]) -> None:
    try:
        data = json.loads(payload)
        seqs.append(int(data.get("seq") or 0))
        ids.update(int(i) for i in data.get("ids", ()))
        what.update(str(w) for w in data.get("what", ()))
    except (ValueError, TypeError, AttributeError):
        log.debug("unreadable change notification %r", payload[:200])


def is_link_error(exc: BaseException) -> bool:
    """True for a failure that says the database server is unreachable (never an SQLite error)."""
    try:
        import psycopg
    except ImportError:
        return isinstance(exc, LinkLost)
    seen: BaseException | None = exc
    for _ in range(5):  # the store wraps a refused connection in its own DatabaseProblem: look at the cause
        if seen is None:
            return False
        if isinstance(seen, (LinkLost, psycopg.OperationalError, psycopg.InterfaceError)):
            return True
        seen = seen.__cause__
    return False


def open_signal(store: Store) -> Signal:
    """The wake-up for *store*'s engine."""
    conninfo = postgres_conninfo(store)
    if conninfo is None:
        return SqliteSignal(store.path)
    url, extra = conninfo
    return PostgresSignal(url, **extra)


def postgres_conninfo(store: Store) -> tuple[str, dict[str, Any]] | None:
    """The URL of a PostgreSQL store and what else libpq needs to reach it (the password the keyring
    gave, if any); None for SQLite."""
    if store.backend != "postgresql":
        return None
    password = getattr(store, "_password", None)  # the store keeps it for another(); libpq needs it too
    return str(store.path), ({} if password is None else {"password": password})


def sibling(store: Store) -> Store:
    """Another store on *store*'s workspace with the same credentials (connections of its own)."""
    return store.another()
