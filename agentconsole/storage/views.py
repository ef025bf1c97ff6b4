"""Which inbox views each conversation belongs to, as one bit per view, for counts kept by difference."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from agentconsole.domain.filters import ViewFilter
from agentconsole.domain.models import Kind
from agentconsole.domain.views import VIEWS, VIEWS_BY_KEY

if TYPE_CHECKING:
    from agentconsole.storage.store import Store

# Bit i is set when the conversation is in VIEWS[i]; a view's filter may be NULL (no assignee), which counts as out.
_BITS = " + ".join(f"((CASE WHEN {view.where} THEN 1 ELSE 0 END) << {i})" for i, view in enumerate(VIEWS))
_CHUNK = 500  # ids per query, well under SQLite's bound-parameter limit


def membership(store: Store, agent_id: int | None, ids: Iterable[int] | None = None) -> Iterator[tuple[int, int]]:
    """(conversation id, view bits) for *ids*, or for every conversation when *ids* is None."""
    yield from _rows(store, f"SELECT id, {_BITS} FROM conversations", "WHERE", agent_id, ids)


def membership_and_activity(store: Store, agent_id: int | None) -> Iterator[tuple[int, int, float]]:
    """(conversation id, view bits, last_message_at) of every conversation, in one pass."""
    yield from _rows(store, f"SELECT id, {_BITS}, last_message_at FROM conversations", "WHERE", agent_id, None)


def _rows(store: Store, select: str, join: str, agent_id: int | None,
          ids: Iterable[int] | None) -> Iterator[Any]:
    """*select*'s rows as plain tuples (a whole workspace may be read at start), for every row when *ids*
    is None, else for those ids, in chunks of _CHUNK bound parameters (*join* is WHERE or AND)."""
    cur = store.conn.cursor()
    cur.row_factory = None
    if ids is None:
        yield from cur.execute(select, {"agent_id": agent_id})
        return
    wanted = list(ids)
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start:start + _CHUNK]
        params: dict[str, object] = {f"i{n}": cid for n, cid in enumerate(chunk)}
        params["agent_id"] = agent_id
        marks = ", ".join(f":i{n}" for n in range(len(chunk)))
        yield from cur.execute(f"{select} {join} id IN ({marks})", params)


def last_id(store: Store) -> int:
    """The highest conversation id, 0 for an empty workspace."""
    return int(store.conn.execute("SELECT coalesce(max(id), 0) FROM conversations").fetchone()[0])


def still_in(store: Store, view: str, agent_id: int | None, ids: Iterable[int], narrow: ViewFilter | None = None
             ) -> set[int]:
    """Those of *ids* that a view (narrowed by a filter) holds now."""
    from agentconsole.storage.store import _narrowing

    wanted = list(ids)
    where = VIEWS_BY_KEY[view].where
    found: set[int] = set()
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start:start + _CHUNK]
        params: dict[str, object] = {f"i{n}": cid for n, cid in enumerate(chunk)}
        params["agent_id"] = agent_id
        clause = f"({where})"
        if narrow is not None and not narrow.empty:
            clause += f" AND {_narrowing(narrow, params)}"
        marks = ", ".join(f":i{n}" for n in range(len(chunk)))
        found.update(r[0] for r in store.conn.execute(
            f"SELECT id FROM conversations WHERE id IN ({marks}) AND {clause}", params))
    return found


def order_rows(store: Store, ids: Iterable[int]
               ) -> dict[int, tuple[str, int, float | None, int, str, float, float]]:
    """What places each of *ids* in a view's order: (status, needs_reply, waiting_since, account id,
    kind, last_message_at, heat of the wait or 0)."""
    wanted = list(ids)
    out: dict[int, tuple[str, int, float | None, int, str, float, float]] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start:start + _CHUNK]
        marks = ", ".join("?" * len(chunk))
        for r in store.conn.execute(
                "SELECT id, status, needs_reply, waiting_since, account_id, kind, last_message_at,"
                " (SELECT t.heat FROM conversation_triage t WHERE t.conversation_id = conversations.id"
                " AND t.episode_since = conversations.waiting_since)"
                f" FROM conversations WHERE id IN ({marks})", chunk):
            out[r[0]] = (r[1], r[2], r[3], r[4], r[5], r[6], r[7] or 0.0)
    return out


def waiting_rows(cur: sqlite3.Cursor, where: str, params: dict[str, object], limit: int | None
                 ) -> list[tuple[int, float, int, str, float | None]]:
    """(id, waiting_since, account id, kind, heat) of a view's waiting conversations: all of them, or with
    *limit* only enough to hold its first *limit* by the response rule's keys, which are monotone in
    waiting_since within each (account, kind) and heat level: each group's first *limit* by waiting_since,
    read from the waiting index, plus every heated wait (few: upset or angry customers, from its index),
    so the cost follows *limit*, the groups and the heated, not how many wait."""
    from agentconsole.response.rule import UPSET_AT

    heat = ("(SELECT t.heat FROM conversation_triage t WHERE t.conversation_id = conversations.id"
            " AND t.episode_since = conversations.waiting_since)")
    select = (f"SELECT id, waiting_since, account_id, kind, {heat} FROM conversations INDEXED BY conv_waiting"
              f" WHERE status = 'open' AND needs_reply = 1 AND ({where})")
    if limit is None:
        return cur.execute(select, params).fetchall()
    kinds = [kind.value for kind in Kind]
    rows: dict[int, tuple[int, float, int, str, float | None]] = {}
    for (account_id,) in cur.execute("SELECT id FROM accounts").fetchall():
        for kind in kinds:
            rows.update((r[0], r) for r in cur.execute(
                f"{select} AND account_id = :w_account AND kind = :w_kind ORDER BY waiting_since, id LIMIT :w_limit",
                {**params, "w_account": account_id, "w_kind": kind, "w_limit": limit}))
    # A calm wait outside its group's first *limit* has *limit* waits before it; a heated one may not.
    rows.update((r[0], r) for r in cur.execute(
        f"SELECT id, waiting_since, account_id, kind, {heat} FROM conversations WHERE id IN"
        " (SELECT conversation_id FROM conversation_triage WHERE heat >= :w_upset)"
        f" AND status = 'open' AND needs_reply = 1 AND ({where})", {**params, "w_upset": UPSET_AT}))
    # A kind this build does not know (written by a newer one): all of them, so none is ever left out.
    marks = ", ".join(f":w_k{i}" for i in range(len(kinds)))
    rows.update((r[0], r) for r in cur.execute(f"{select} AND kind NOT IN ({marks})",
                                               {**params, **{f"w_k{i}": kind for i, kind in enumerate(kinds)}}))
    return list(rows.values())


_HEAT = ("(SELECT t.heat FROM conversation_triage t WHERE t.conversation_id = conversations.id"
         " AND t.episode_since = conversations.waiting_since)")
WAITING_SQL = "status = 'open' AND needs_reply = 1 AND waiting_since IS NOT NULL"


def waiting_members(store: Store, agent_id: int | None, ids: Iterable[int] | None = None
                    ) -> Iterator[tuple[int, int, float, int, str, float]]:
    """(id, view bits, waiting_since, account id, kind, heat of the wait or 0) of the waiting conversations
    among *ids*, or of every waiting one when *ids* is None (one pass over the waiting index)."""
    yield from _rows(store, f"SELECT id, {_BITS}, waiting_since, account_id, kind, coalesce({_HEAT}, 0)"
                            f" FROM conversations WHERE {WAITING_SQL}", "AND", agent_id, ids)


def recent_rest(store: Store, view: str, agent_id: int | None, limit: int) -> list[int]:
    """The first *limit* ids of a view after its waiting part: the rest by the newest activity, as
    Store.conversation_ids orders them (a read of *limit* rows from the recent-activity index)."""
    v = VIEWS_BY_KEY[view]
    where = f"NOT (status = 'open' AND needs_reply = 1) AND ({v.where})" if v.waiting_first else v.where
    cur = store.conn.cursor()
    cur.row_factory = None
    return [r[0] for r in cur.execute(
        f"SELECT id FROM conversations WHERE {where} ORDER BY last_message_at DESC LIMIT :limit",
        {"agent_id": agent_id, "limit": max(0, limit)})]


def every_activity(store: Store) -> Iterator[tuple[int, float]]:
    """(id, last_message_at) of every conversation, in one pass."""
    yield from _rows(store, "SELECT id, last_message_at FROM conversations", "WHERE", None, None)


def activity(store: Store, ids: Iterable[int]) -> dict[int, float]:
    """Each of *ids*' last_message_at: where it goes among a view's rows that nobody waits on."""
    wanted = list(ids)
    out: dict[int, float] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start:start + _CHUNK]
        marks = ", ".join("?" * len(chunk))
        out.update((r[0], r[1]) for r in store.conn.execute(
            f"SELECT id, last_message_at FROM conversations WHERE id IN ({marks})", chunk))
    return out


def latest_sent(store: Store, ids: Iterable[int], n: int = 3) -> dict[int, list[float]]:
    """The sent times of each of *ids*' newest *n* messages, newest first (one indexed read each): the
    last activity a conversation had before its newest messages, where a list read earlier holds it."""
    out: dict[int, list[float]] = {}
    for cid in ids:
        out[cid] = [r[0] for r in store.conn.execute(
            "SELECT sent_at FROM messages WHERE conversation_id = ? ORDER BY sent_at DESC LIMIT ?", (cid, n))]
    return out


def account_names(store: Store) -> tuple[tuple[int, str, str], ...]:
    """(id, name, channel) of every account: what the response rule is made from, read cheaply to tell
    whether it must be made again."""
    cur = store.conn.cursor()
    cur.row_factory = None
    return tuple(tuple(r) for r in cur.execute("SELECT id, name, channel FROM accounts ORDER BY id"))
