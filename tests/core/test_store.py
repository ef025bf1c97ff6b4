"""The store: schema, file mode, ingest atomicity and dedup, conversation summaries, views, search."""

from __future__ import annotations

import gc
import os
import sqlite3
import stat

import pytest

from agentconsole.storage import db
from agentconsole.domain.models import Direction, InboundMessage, Kind, Person, Status
from agentconsole.storage.store import Store, fts_query

pytestmark = pytest.mark.both_backends

DANA = Person("u1", "dana_k", "Dana Kim", bio="Boston", location="Boston")
SAM = Person("u2", "sam.ortiz", "Sam Ortiz")


def msg(ext, thread, text, at, person=DANA, direction=Direction.IN, kind=Kind.PUBLIC, **kw):
    return InboundMessage(ext, thread, kind, person, text, at, direction=direction, **kw)


@pytest.fixture
def account(store):
    return store.ensure_account("shop-x", "x", "demo", handle="shop")


def test_database_file_is_private_and_in_wal(tmp_path, clock):
    path = tmp_path / "sub" / "a.db"
    s = Store(path, clock)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert s.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert s.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    # Durability stays WAL + NORMAL (1); checkpoints are only spaced further apart for ingest.
    assert s.conn.execute("PRAGMA synchronous").fetchone()[0] == 1
    assert s.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == db.WAL_AUTOCHECKPOINT_PAGES
    assert s.conn.execute("PRAGMA user_version").fetchone()[0] == db.SCHEMA_VERSION
    s.close()


def test_migrations_are_idempotent_and_refuse_newer_schema(tmp_path, clock):
    path = tmp_path / "a.db"
    Store(path, clock).close()
    assert db.migrate(db.connect(path)) == db.SCHEMA_VERSION
    conn = db.connect(path)
    conn.execute(f"PRAGMA user_version = {db.SCHEMA_VERSION + 1}")
    with pytest.raises(RuntimeError, match="newer"):
        db.migrate(conn)


def test_ingest_dedups_by_external_id_and_commits_cursor(store, account, clock):
    batch = [msg("m1", "t1", "my order never arrived", clock.now() - 600),
             msg("m2", "t1", "hello??", clock.now() - 300)]
    first = store.ingest(account, batch, "c1")
    again = store.ingest(account, batch + [msg("m1", "t1", "dup in batch", 0)], "c2")
    assert (first.new_messages, first.duplicates) == (2, 0)
    assert (again.new_messages, again.duplicates) == (0, 3)
    assert store.cursor(account) == "c2"
    assert store.conn.execute("SELECT count(*) FROM messages").fetchone()[0] == 2


def test_failed_batch_leaves_neither_messages_nor_cursor(store, account, clock, monkeypatch):
    store.ingest(account, [msg("m1", "t1", "first", clock.now())], "c1")

    def boom(*a, **k):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr("agentconsole.storage.ingest._Summary.save_all", boom)
    with pytest.raises(sqlite3.OperationalError):
        store.ingest(account, [msg("m2", "t1", "second", clock.now())], "c2")
    assert store.cursor(account) == "c1"
    assert store.conn.execute("SELECT count(*) FROM messages").fetchone()[0] == 1


def test_an_error_after_which_sqlite_rolled_back_by_itself_is_the_error_raised(store, account):
    # A full disk (SQLITE_FULL) can end the transaction inside SQLite; a ROLLBACK after it would fail with
    # "no transaction is active" and the agent would read that instead of "the disk is full".
    with pytest.raises(sqlite3.OperationalError, match="disk is full"):
        with store.transaction() as conn:
            conn.execute("ROLLBACK")  # what SQLite did by itself
            raise sqlite3.OperationalError("database or disk is full")
    with store.transaction() as conn:  # and the store goes on
        conn.execute("SELECT 1")


def test_ingest_pauses_the_garbage_collector_only_while_it_runs(store, account, clock, monkeypatch):
    seen = []
    real = Store.transaction

    def spy(self):
        seen.append(gc.isenabled())
        return real(self)

    monkeypatch.setattr(Store, "transaction", spy)
    assert gc.isenabled()
    store.ingest(account, [msg("m1", "t1", "first", clock.now())])
    assert seen == [False] and gc.isenabled()
    gc.disable()
    try:
        store.ingest(account, [msg("m2", "t1", "second", clock.now())])
        assert not gc.isenabled()  # the collector's owner had switched it off: it stays off
    finally:
        gc.enable()
    monkeypatch.setattr("agentconsole.storage.ingest._Summary.save_all", lambda *a: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        store.ingest(account, [msg("m3", "t1", "third", clock.now())])
    assert gc.isenabled()  # back on after a failed batch too


def test_summary_tracks_waiting_since_and_first_response(store, account, clock):
    t = clock.now()
    store.ingest(account, [msg("m1", "t1", "where is my parcel", t - 900),
                           msg("m2", "t1", "hello??", t - 300)])
    conv = store.conversation(store.conversation_ids()[0])
    assert conv.needs_reply and conv.waiting_since == t - 900
    assert conv.last_preview == "hello??" and conv.message_count == 2
    store.ingest(account, [msg("o1", "t1", "On it!", t - 100, person=Person("me", "shop"),
                               direction=Direction.OUT)])
    conv = store.conversation(conv.id)
    assert not conv.needs_reply and conv.waiting_since is None
    assert conv.first_response_at == t - 100 and conv.first_customer_at == t - 900
    store.ingest(account, [msg("m3", "t1", "thanks, still nothing", t)])
    conv = store.conversation(conv.id)
    assert conv.needs_reply and conv.waiting_since == t
    assert conv.first_response_at == t - 100


def test_out_of_order_reply_keeps_later_customer_messages_waiting(store, account, clock):
    t = clock.now()
    store.ingest(account, [msg("m1", "t1", "a", t - 900), msg("m2", "t1", "b", t - 100)])
    store.ingest(account, [msg("o1", "t1", "reply", t - 500, person=Person("me", "shop"),
                               direction=Direction.OUT)])
    conv = store.conversation(store.conversation_ids()[0])
    assert conv.needs_reply and conv.waiting_since == t - 100


def test_new_message_reopens_a_done_conversation(store, account, clock):
    store.ingest(account, [msg("m1", "t1", "a", clock.now())])
    cid = store.conversation_ids()[0]
    store.set_status(cid, Status.DONE, None)
    assert store.conversation(cid).status == "done"
    clock.advance(60)
    store.ingest(account, [msg("m2", "t1", "one more thing", clock.now())])
    assert store.conversation(cid).status == "open"
    events = [r[0] for r in store.conn.execute(
        "SELECT event FROM conversation_events WHERE conversation_id = ? ORDER BY id", (cid,))]
    assert events == ["opened", "resolved", "reopened"]


def test_views_order_longest_waiting_first_then_recent(store, account, clock):
    t = clock.now()
    store.ingest(account, [msg("a", "ta", "x", t - 100, person=DANA),
                           msg("b", "tb", "y", t - 900, person=SAM),
                           msg("c", "tc", "z", t - 50, person=Person("u3", "kim")),
                           msg("co", "tc", "answered", t - 10, person=Person("me", "shop"),
                               direction=Direction.OUT)])
    ids = list(store.conversation_ids("all"))
    rows = store.conversations_by_ids(ids)
    assert [rows[i].contact_name for i in ids] == ["Sam Ortiz", "Dana Kim", "kim"]
    counts = store.view_counts()
    assert counts["all"] == 3 and counts["waiting"] == 2 and counts["public"] == 3
    assert store.waiting_summary() == (2, t - 900, "x")


def test_contact_card_lists_other_conversations(store, account, clock):
    store.ingest(account, [msg("a", "t1", "x", clock.now()), msg("b", "t2", "dm", clock.now(), kind=Kind.DM)])
    conv = store.conversation(store.conversation_ids()[0])
    card = store.contact_card(conv.contact_id)
    assert card.display_name == "Dana Kim" and card.location == "Boston"
    assert len(card.conversations) == 2 and ("x", "dana_k") in card.identities


def test_one_batch_creates_many_conversations_and_contacts_with_matching_ids(store, account, clock):
    t = clock.now()
    shop = Person("shop", "shop")
    people = [Person(f"p{i}", f"handle{i}", f"Name {i}") for i in range(30)]
    # t-new: our reply (no recipient) comes first, so the customer is learnt from a later message.
    batch = [msg("r0", "t-new", "we are on it", t - 200, person=shop, direction=Direction.OUT)]
    batch += [msg(f"m{i}", f"t{i}", f"question {i}", t - 100 + i, person=p) for i, p in enumerate(people)]
    batch.append(msg("late", "t-new", "thanks", t - 50, person=people[7]))
    store.ingest(account, batch)
    for i, person in enumerate(people):
        conv = store.conversation(store.conn.execute(
            "SELECT id FROM conversations WHERE thread_key = ?", (f"t{i}",)).fetchone()[0])
        assert (conv.contact_name, conv.handle, conv.message_count) == (person.display_name, person.handle, 1)
        assert conv.waiting_since == t - 100 + i
    late = store.conversation(store.conn.execute(
        "SELECT id FROM conversations WHERE thread_key = 't-new'").fetchone()[0])
    assert (late.handle, late.message_count, late.last_message_at) == ("handle7", 2, t - 50)
    assert store.conn.execute("SELECT count(*) FROM conversation_events WHERE event = 'opened'").fetchone()[0] == 31


def test_search_finds_text_and_names_newest_first(store, account, clock):
    t = clock.now()
    store.ingest(account, [msg("a", "t1", "my order never arrived", t - 50),
                           msg("b", "t2", "ordering a gift", t - 10, person=SAM),
                           msg("c", "t3", "café hours?", t, person=SAM)])
    assert [h.snippet for h in store.search("order")] == ["ordering a gift", "my order never arrived"]
    assert [h.author_name for h in store.search("dana")] == ["Dana Kim"]
    assert len(store.search("cafe")) == 1  # diacritics folded
    assert store.search('"') == [] and store.search("") == []
    assert store.search("AND OR NOT (") == []  # operators are quoted, never a syntax error


def test_fts_query_quotes_every_word():
    assert fts_query('order "x" OR') == '"order" "x" "OR"*'


def test_untrusted_text_is_cleaned_on_ingest(store, account, clock):
    store.ingest(account, [msg("a", "t1", "hi\x1b]52;c;ZXZpbA==\x07 there\x1b[2J",
                               clock.now(), person=Person("u9", "evil\x1b[31m", "Eve\u202e"))])
    [m] = store.messages(store.conversation_ids()[0])
    assert m.text == "hi there" and "\x1b" not in m.author_name and "\u202e" not in m.author_name
    assert store.message_raw(m.id) is None


def test_raw_payload_is_kept(store, account, clock):
    store.ingest(account, [msg("a", "t1", "x", clock.now(), raw=b"\xff\xfe raw bytes")])
    [m] = store.messages(store.conversation_ids()[0])
    assert store.message_raw(m.id) == b"\xff\xfe raw bytes"


def test_optional_message_columns_store_null_or_their_exact_value(store, account, clock):
    agent = store.ensure_agent("Alice Ng")
    store.ingest(account, [
        msg("a", "t1", "x", clock.now()),
        msg("b", "t1", "y", clock.now(), raw="", in_reply_to="0", direction=Direction.OUT,
            extra={"agent_id": agent, "source": "canned"}),
        msg("c", "t1", "z", clock.now(), raw=b"", in_reply_to=""),
    ])
    rows = store.conn.execute(
        "SELECT direction, identity_id IS NULL, raw, in_reply_to, agent_id, source"
        " FROM messages ORDER BY external_id").fetchall()
    # The payload's type too: an empty payload is empty bytes (a blob), never text or NULL.
    assert [(r[0], bool(r[1]), type(r[2]).__name__, r[2], r[3], r[4], r[5]) for r in rows] == [
        ("in", False, "NoneType", None, None, None, None),
        ("out", True, "bytes", b"", "0", agent, "canned"),
        ("in", False, "bytes", b"", "", None, None),
    ]


def test_notes_and_assignment_are_audited(store, account, clock):
    store.ingest(account, [msg("a", "t1", "x", clock.now())])
    cid = store.conversation_ids()[0]
    agent = store.ensure_agent("Alice Ng")
    store.add_note(cid, agent, "called her back")
    store.assign(cid, agent, agent)
    assert store.notes(cid)[0].agent_name == "Alice Ng"
    assert store.conversation(cid).assignee_name == "Alice Ng"
    assert store.view_counts(agent)["mine"] == 1
    assert store.agent(agent).initials == "AN"


def test_two_processes_share_one_database(tmp_path, clock):
    a, b = Store(tmp_path / "s.db", clock), Store(tmp_path / "s.db", clock)
    acc = a.ensure_account("x", "x", "demo")
    a.ingest(acc, [msg("m1", "t1", "x", 1.0)], "c1")
    b.ingest(acc, [msg("m1", "t1", "x", 1.0), msg("m2", "t1", "y", 2.0)], "c2")
    assert a.conn.execute("SELECT count(*) FROM messages").fetchone()[0] == 2
    a.close(), b.close()


def test_connections_of_finished_threads_are_closed(store):
    import threading

    def work():
        store.view_counts()

    for _ in range(20):
        t = threading.Thread(target=work)
        t.start()
        t.join()
    store.view_counts()
    assert store.open_connections() <= 2


def _open_files(path) -> int:
    import os

    n = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            n += os.readlink(f"/proc/self/fd/{fd}") == str(path)
        except OSError:  # closed while listed
            pass
    return n


@pytest.mark.sqlite_only  # counts the process's open files on the database
def test_the_team_feed_made_here_and_closed_by_its_watcher_leaves_no_file_open(tmp_path, clock):
    import threading

    from agentconsole.config import Config
    from agentconsole.session.session import Session

    store = Store(tmp_path / "w.db", clock)
    agent = store.ensure_agent("Alice Ng")
    session = Session(store, clock=clock, config=Config(), agent_id=agent)
    session.open_change_feed()  # on this thread, as the console does at mount
    watcher = threading.Thread(target=session.watch_team, args=(lambda: True, lambda _: None, lambda _: None))
    watcher.start()
    watcher.join()
    store.close()
    # The feed's store was closed on the watcher's thread. Had this thread's connection to it stayed
    # open, SQLite would keep the file of every connection closed since open beside it (WAL holds a
    # lock on the file), for as long as the process runs: 9 files a console in the test run.
    assert _open_files(tmp_path / "w.db") == 0
