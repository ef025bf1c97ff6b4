"""A workspace with every table filled, for the migrate-to tests: messages through ingest (raw payloads
with odd bytes and unicode, edits), the outbox in every state, notes, events, canned replies, shifts,
the team tables, triage, surveys and the answers index; NULLs wherever a column allows them."""

from __future__ import annotations

import json
from pathlib import Path

from agentconsole.domain.clock import FrozenClock
from agentconsole.domain.models import Direction, InboundMessage, Kind, Person, Status
from agentconsole.storage import knowledge
from agentconsole.storage.store import Store

T0 = 1_764_061_200.0
OUTBOX_STATES = ("waiting", "pending", "sending", "sent", "failed", "unsure", "cancelled", "discarded")
RAWS: list[bytes | str | None] = [
    b"\x00\xff\xfe\x80binary\r\n\x1b[31m", "From: =?utf-8?q?Zo=C3=AB?=\r\n\r\nnaïve café 李娜 🎉", None,
    bytes(range(256)), b"", "\u200b\u202eRTL\U0001F600"]


def fill(path: Path, conversations: int = 40) -> Store:
    """Build the workspace at *path* and return its store (the caller closes it)."""
    clock = FrozenClock(T0)
    store = Store(path, clock)
    mail = store.ensure_account("support-mail", "email", "demo", handle="help@shop.example",
                                settings={"interval": 60, "ünï": "cödé"})
    social = store.ensure_account("shop-x", "x", "demo", handle="@shop")
    agent = store.ensure_agent("Dana", "DK", "Europe/Berlin")
    other = store.ensure_agent("Ωmar \"the\" O'Brien", "", "UTC")
    for c in range(conversations):
        account = mail if c % 2 else social
        kind = Kind.EMAIL if account == mail else (Kind.DM if c % 3 == 0 else Kind.PUBLIC)
        who = Person(f"p{c}", f"@user{c}", ["Zoë", "李娜", "Αλέξανδρος", "محمد", "O'Neil; DROP"][c % 5])
        batch = []
        for k in range(4):
            out = k % 2 == 1
            batch.append(InboundMessage(
                f"m{c}-{k}", f"t{c}", kind, Person("shop", "@shop", "Shop") if out else who,
                f"message {k} of {c}: naïve ünïcode 🎉 \u0301combining '\"quotes\"' %s {{}}", T0 + c * 60 + k,
                direction=Direction.OUT if out else Direction.IN, subject=f"Re: order {c}" if kind == Kind.EMAIL else "",
                in_reply_to=f"m{c}-{k - 1}" if k else None, raw=RAWS[(c + k) % len(RAWS)],
                parse_note="charset guessed" if k == 3 else ""))
        store.ingest(account, batch, f"cursor-{c}")
    clock.set(T0 + 86_400)
    conn = store.conn
    ids = [r[0] for r in conn.execute("SELECT id FROM conversations ORDER BY id")]
    from agentconsole.replies.outbox import Outbox

    outbox = Outbox(store)
    items = [outbox.enqueue_reply(ids[i], f"reply {i} «ok» 😀", agent_id=agent) for i in range(len(OUTBOX_STATES))]
    with store.transaction() as conn:
        for item, state in zip(items, OUTBOX_STATES):
            conn.execute("UPDATE outbox SET state = ?, attempts = ?, last_error = ?, phase = ?, external_id = ?"
                         " WHERE id = ?", (state, len(state) % 4, "timeout\x1b[0m" if state == "failed" else "",
                                           "unknown" if state == "sending" else "",
                                           f"ext-{item}" if state == "sent" else None, item))
        conn.execute("UPDATE outbox SET after_id = ? WHERE id = ?", (items[-1], items[0]))  # a later row
        conn.execute("UPDATE conversations SET linked_id = ? WHERE id = ?", (ids[-1], ids[0]))
        conn.execute("UPDATE messages SET edited_at = ? WHERE id = 1", (T0 + 5,))
        conn.execute("INSERT INTO message_versions(message_id, text, raw, edited_at, replaced_at)"
                     " VALUES (1, 'first text', ?, NULL, ?)", (b"\x00old\xff", T0 + 5))
        conn.execute("INSERT INTO notes(conversation_id, agent_id, text, created_at) VALUES (?,?,?,?)",
                     (ids[1], agent, "called them 📞; said 'fine'", T0 + 10))
        conn.execute("INSERT INTO notes(conversation_id, agent_id, text, created_at) VALUES (?,NULL,?,?)",
                     (ids[2], "", T0 + 11))
        conn.execute("INSERT INTO escalations(public_conversation_id, dm_conversation_id, dm_item, public_item,"
                     " status_item, batch, agent_id, created_at) VALUES (?,?,?,?,NULL,?,?,?)",
                     (ids[3], ids[4], items[0], items[1], "b1", agent, T0 + 20))
        conn.execute("INSERT INTO sync_cursors(account_id, stream, cursor, updated_at) VALUES (?, 'mentions', NULL, ?)",
                     (social, T0))
        conn.execute("INSERT INTO presence(console, agent_id, conversation_id, activity, since, expires_at)"
                     " VALUES ('host-a:123', ?, ?, 'composing', ?, ?)", (agent, ids[5], T0, T0 + 30))
        conn.execute("INSERT INTO presence(console, agent_id, conversation_id, activity, since, expires_at)"
                     " VALUES ('host-b:9', ?, NULL, 'viewing', ?, ?)", (other, T0, T0 + 30))
        conn.execute("INSERT INTO leases(name, owner, label, acquired_at, expires_at) VALUES"
                     " ('account:1', 'host-a:123', 'Dana''s console', ?, ?)", (T0, T0 + 60))
        cur = conn.execute("INSERT INTO shifts(agent_id, started_at, planned_end, ended_at, next_agent, handoff_note,"
                           " answered, median_first_response) VALUES (?,?,?,?,?,?,?,?) RETURNING id",
                           (agent, T0, T0 + 28_800, T0 + 28_000, "Ωmar", "watch #42 ⚠", 12, 95.5))
        shift = cur.fetchone()[0]
        conn.execute("INSERT INTO shifts(agent_id, started_at) VALUES (?, ?)", (other, T0 + 28_000))
        conn.execute("INSERT INTO shift_posts(shift_id, kind, account_id, outbox_id, problem) VALUES (?,?,?,?,?)",
                     (shift, "hello", social, items[3], ""))
        conn.execute("INSERT INTO shift_posts(shift_id, kind, account_id, outbox_id, problem) VALUES (?,?,?,NULL,?)",
                     (shift, "goodbye", social, "rate limited"))
        conn.execute("INSERT INTO shift_accounts(account_id, hello, hello_template, goodbye_template, away,"
                     " away_template) VALUES (?, 1, 'Hi, {agent} here 👋', NULL, 1, NULL)", (social,))
        conn.execute("INSERT INTO away_replies(off_since, person, conversation_id, outbox_id, at) VALUES (?,?,?,?,?)",
                     (T0, "p3", ids[3], items[2], T0 + 1))
        conn.execute("INSERT INTO handons(conversation_id, to_agent_id, shift_id, at) VALUES (?,?,NULL,?)",
                     (ids[6], other, T0))
        conn.execute("INSERT INTO conversation_triage(conversation_id, heat, peak, episode_messages, episode_since,"
                     " corrected_by, corrected_at) VALUES (?, 0.75, 1.0, 3, ?, NULL, NULL)"
                     " ON CONFLICT (conversation_id) DO NOTHING", (ids[7], T0))
        conn.execute("INSERT INTO triage_corrections(conversation_id, message_id, agent_id, scored, level, at)"
                     " VALUES (?, NULL, ?, -0.0, 2, ?)", (ids[7], agent, T0))
        conn.execute("INSERT INTO survey_settings(account_id, enabled, public, every_days, question) VALUES"
                     " (?, 1, 0, 30, 'How did we do? 1–5 ⭐')", (mail,))
        conn.execute("INSERT INTO surveys(conversation_id, account_id, contact_id, agent_id, channel, asked_at,"
                     " outbox_id, answered_at, score, how, words, answer_message_id) VALUES"
                     " (?,?,NULL,?,?,?,?,?,?,?,?,NULL)", (ids[1], mail, agent, "email", T0, items[3], T0 + 9,
                                                          5, "number", "great! 🎉"))
        conn.execute("INSERT INTO surveys(conversation_id, account_id, contact_id, agent_id, channel, asked_at)"
                     " VALUES (?,?,NULL,NULL,?,?)", (ids[3], mail, "email", T0 + 1e-6))
        conn.execute("INSERT INTO heard_posts(account_id, external_id, thread_key, author_id, author_handle, text,"
                     " matched, reply, receives_dm, raw, sent_at, heard_at) VALUES (?,?,?,?,?,?,?,?,NULL,?,?,?)",
                     (social, "h1", "h1", "u9", "@fan", "love the #ShopName mugs ☕ \x1b[2J", "#shopname", "like",
                      '{"id": "h1", "ünï": true}', T0 + 3, T0 + 4))
        conn.execute("INSERT INTO heard_posts(account_id, external_id, thread_key, author_id, text, receives_dm,"
                     " sent_at, heard_at, state, conversation_id, decided_by, decided_at) VALUES"
                     " (?,?,?,?,?,1,?,?,'promoted',?,?,?)", (social, "h2", "h2", "u10", "shop name broke again",
                                                             T0 + 5, T0 + 6, ids[2], agent, T0 + 7))
        knowledge.refresh(conn)
    store.audit(agent, "exported", ids[0], why="ünïcode \x1b]0;title\x07", n=1.5)
    store.set_status(ids[8], Status.DONE, agent)
    store.add_note(ids[9], agent, "from the API")
    from agentconsole.domain.rows import DraftRow

    store.keep_draft(agent, DraftRow(ids[9], "reply", "unsent: naïve 🎉 '\"quotes\"'", "Hi {first_name}", None))
    store.keep_draft(other, DraftRow(ids[9], "note", "call back", None, None))
    from agentconsole.replies.canned import CannedLibrary

    CannedLibrary(store).install_starters()
    from agentconsole import metrics

    # A week's figures fill the day cache (metrics_days) and its marks (metrics_marks).
    metrics.report(store, metrics.period("7d", clock.now()))
    return store


def counts(store: Store) -> dict[str, int]:
    """Rows per table of the workspace (every table but SQLite's own and the FTS5 indexes)."""
    from agentconsole.storage.transfer import source_tables

    return {t.name: store.conn.execute(f'SELECT count(*) FROM "{t.name}"').fetchone()[0]
            for t in source_tables(store.conn)}


if __name__ == "__main__":
    import sys

    s = fill(Path(sys.argv[1]))
    print(json.dumps(counts(s), indent=1))
    s.close()
