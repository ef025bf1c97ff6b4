"""Full-text search: phrases in quotes, and prefixes spelled out as words finding what FTS5's own prefix
query finds, in the same order."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentconsole.domain.models import InboundMessage, Kind, Person
from agentconsole.storage import db
from agentconsole.storage.search import MAX_EXPANSION, Part, fts_query, match_query, parse
from agentconsole.storage.store import Store
from tests import pg

pytestmark = pytest.mark.both_backends

DANA = Person("u1", "dana_k", "Dana Kim")


def msg(ext, text, at, **kw):
    return InboundMessage(ext, f"t{ext}", Kind.PUBLIC, DANA, text, at, **kw)


@pytest.fixture
def account(store):
    return store.ensure_account("shop-x", "x", "demo", handle="shop")


def native(store: Store, text: str) -> list[int]:
    rows = store.conn.execute("SELECT rowid FROM messages_fts WHERE messages_fts MATCH ? ORDER BY rowid DESC",
                              (fts_query(text),)).fetchall()
    return [r[0] for r in rows][:50]


def test_quotes_make_a_phrase_and_an_open_one_is_a_phrase_prefix():
    assert parse('"never arrived" box') == [Part(("never", "arrived")), Part(("box",), prefix=True)]
    assert fts_query('"never arrived"') == '"never arrived"'  # a closed phrase is exact
    assert fts_query('where "never arr') == '"where" "never arr"*'
    assert fts_query('""') == "" and fts_query('" "') == ""


def test_a_phrase_finds_the_words_together_and_in_order(store, account, clock):
    t = clock.now()
    store.ingest(account, [msg("a", "my order never arrived", t - 30), msg("b", "arrived, never mind", t - 20),
                           msg("c", "it never really arrived", t - 10)])
    assert [h.snippet for h in store.search('"never arrived"')] == ["my order never arrived"]
    assert len(store.search("never arrived")) == 3
    assert [h.snippet for h in store.search('"never arr')] == ["my order never arrived"]
    assert [h.snippet for h in store.search('"arrived never"')] == ["arrived, never mind"]  # punctuation separates
    assert store.search('"really never"') == []


@pytest.mark.sqlite_only  # compares with FTS5's own query; see test_postgres_finds_what_fts5_finds
def test_a_long_prefix_finds_what_the_native_prefix_query_finds(store, account, clock):
    t = clock.now()
    words = ["order", "ordered", "ordering", "orders", "orderly", "ordinal", "café", "cafeteria", "Zoë",
             "zoetrope", "naïve", "ORDERS!", "re-order", "order_42", "李娜娜娜", "Αλέξανδρος"]
    store.ingest(account, [msg(str(i), f"{w} number {i}", t - 100 + i) for i, w in enumerate(words * 3)])
    for typed in ["orde", "order", "ordere", "orderi", "ordi", "cafe", "café", "cafet", "zoet", "zoë",
                  "naiv", "naïv", "Orde", "ORDER", "numb", "李娜娜", "αλέξ", "αλεξ", "orderl", "nothing"]:
        hits = [h.message_id for h in store.search(typed)]
        assert hits == native(store, typed), typed
    assert "OR" in match_query(store.conn, "orde")  # spelled out, not merged by FTS5


@pytest.mark.sqlite_only  # compares with FTS5's own query; see test_postgres_finds_what_fts5_finds
def test_a_prefix_with_too_many_words_is_left_to_fts5(store, account, clock):
    t = clock.now()
    store.ingest(account, [msg(str(i), f"code{i:04d}", t - 200 + i) for i in range(MAX_EXPANSION + 5)])
    assert match_query(store.conn, "code") == '"code"*'
    assert [h.message_id for h in store.search("code")] == native(store, "code")


def test_edits_and_subjects_and_names_reach_the_word_list(store, account, clock):
    t = clock.now()
    store.ingest(account, [msg("a", "first", t - 10, subject="Invoice question")])
    store.ingest(account, [msg("a", "parcelforce tracking", t - 10, extra={"edited_at": t})])
    assert [h.snippet for h in store.search("parcelf")] == ["parcelforce tracking"]
    assert len(store.search("invoi")) == 1 and len(store.search("dana")) == 1


def test_the_upgrade_fills_the_word_list_from_the_index(tmp_path, clock):
    path = tmp_path / "old.db"
    store = Store(path, clock)
    account = store.ensure_account("shop-x", "x", "demo")
    store.ingest(account, [msg("a", "refundable", clock.now())])
    store.conn.execute("DELETE FROM search_terms")
    step = next(i for i, m in enumerate(db.MIGRATIONS) if "search_terms" in m)
    store.conn.execute(f"PRAGMA user_version = {step}")
    store.close()
    store = Store(path, clock)
    assert {r[0] for r in store.conn.execute("SELECT term FROM search_terms")} >= {"refundable"}
    assert len(store.search("refu")) == 1 and len(store.search("refund")) == 1
    store.close()


def vocabulary(store: Store) -> set[str]:
    conn = store.conn
    conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.fts_vocab USING fts5vocab(main, messages_fts, 'row')")
    return {r[0] for r in conn.execute("SELECT term FROM temp.fts_vocab")}


def word_list(store: Store) -> set[str]:
    return {r[0] for r in store.conn.execute("SELECT term FROM search_terms")}


@pytest.mark.sqlite_only  # the word list is SQLite's (PostgreSQL reads prefixes from its own index)
def test_the_word_list_holds_the_words_fts5_indexed(store, account, clock):
    t = clock.now()
    store.ingest(account, [msg("a", "Café au lait, ORDERS_42 x", t - 10, subject="Invoice question"),
                           msg("b", "Αλέξανδρος wrote: the cafe\u0301s are open!", t - 9)])
    before = word_list(store)
    store.ingest(account, [msg("a", "parcelforce tracking", t - 10, extra={"edited_at": t})])
    words = word_list(store)
    assert {"cafe", "au", "lait", "orders", "42", "x", "invoice", "question", "dana", "kim",
            "αλέξανδροσ"} <= before
    assert "parcelforce" not in before and "parcelforce" in words
    assert before <= words  # the edited-away words stay: a word too many only costs a row
    assert words == before | vocabulary(store)
    assert [h.message_id for h in store.search("wrote .")] == native(store, "wrote .") != []
    assert [h.snippet for h in store.search("αλέξανδρος")] == [h.snippet for h in store.search("Αλέξαν")] != []


TEXT = st.text(st.sampled_from("aAéÉeEz ZσςΣ_-'.!,0 9\u0301李ßẞİı\n"), max_size=30)


@pytest.mark.sqlite_only
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(TEXT, min_size=1, max_size=6), typed=TEXT.filter(lambda t: any(c.isalnum() for c in t)))
def test_any_batch_leaves_its_words_in_the_list_and_prefixes_find_what_fts5_finds(store, account, clock,
                                                                                 texts, typed):
    start = store.conn.execute("SELECT coalesce(max(id), 0) FROM messages").fetchone()[0]
    n = store.conn.execute("SELECT count(*) FROM messages").fetchone()[0]
    store.ingest(account, [msg(f"h{n + i}", text, clock.now() - 100 + i) for i, text in enumerate(texts)])
    assert store.conn.execute("SELECT count(*) FROM messages WHERE id > ?", (start,)).fetchone()[0] == len(texts)
    assert vocabulary(store) <= word_list(store)
    assert [h.message_id for h in store.search(typed)] == native(store, typed)


@pytest.mark.sqlite_only  # compares with FTS5's own query; see test_postgres_finds_what_fts5_finds
def test_a_word_with_a_separate_combining_mark_is_found_by_its_prefix(store, account, clock):
    store.ingest(account, [msg("a", "the cafe\u0301s are open", clock.now())])
    assert [h.message_id for h in store.search("cafes")] == native(store, "cafes")
    assert [h.message_id for h in store.search("cafe")] == native(store, "cafe") != []


WORDS = ["order", "ordered", "ordering", "orders", "orderly", "ordinal", "café", "cafeteria", "Zoë", "zoetrope",
         "naïve", "ORDERS!", "re-order", "order_42", "李娜娜娜", "Αλέξανδρος", "the cafe\u0301s are open",
         "my order never arrived", "arrived, never mind", "it never really arrived", "dana@example.com wrote"]
TYPED = ["orde", "order", "ordere", "orderi", "ordi", "cafe", "café", "cafet", "zoet", "zoë", "naiv", "naïv", "Orde",
         "ORDER", "numb", "李娜娜", "αλέξ", "αλεξ", "orderl", "nothing", "cafes", '"never arrived"', "never arrived",
         '"never arr', '"arrived never"', '"really never"', "re-order", "order_42", "example", "dana", "Dana K",
         '"number 3', "code", "42", "order .", "number ! 4"]


def test_postgres_finds_what_fts5_finds(tmp_path, clock):
    """The same messages on both backends: every query finds the same messages, newest first."""
    url = pg.fresh_database()
    stores = [Store(tmp_path / "fts5.db", clock), Store(url, clock)]
    try:
        t = clock.now()
        for store in stores:
            account = store.ensure_account("shop-x", "x", "demo")
            store.ingest(account, [msg(str(i), f"{w} number {i}", t - 100 + i) for i, w in enumerate(WORDS * 3)])
            store.ingest(account, [msg(f"c{i}", f"code{i:04d}", t - 500 + i) for i in range(MAX_EXPANSION + 5)])
        for typed in TYPED:
            found = [[h.message_id for h in store.search(typed)] for store in stores]
            assert found[0] == found[1], typed
        assert stores[1].search("never arr")[0].snippet == "it never really arrived number 61"
    finally:
        for store in stores:
            store.close()
        pg.drop(url)


@pytest.mark.parametrize("window", [1, 3, 7, 5000])
def test_hits_are_the_newest_matches_whichever_look_finds_them(store, account, clock, monkeypatch, window):
    """PostgreSQL reads the newest messages first and the older ones through its index only when too few
    matched; wherever that boundary falls the hits are the newest matches, newest first, none twice."""
    from agentconsole.storage import search

    monkeypatch.setattr(search, "RECENT_WINDOW", window)
    t = clock.now()
    texts = ["rare parcel", "common word", "common word", "rare parcel", "common", "other", "rare parcel late",
             "common word", "nothing", "rare parcel"]
    store.ingest(account, [msg(f"w{i}", text, t - 100 + i) for i, text in enumerate(texts)])
    ids = {h.snippet: h for h in store.search("zzz")}
    assert ids == {}
    rare = store.search('"rare parcel"', limit=3)
    assert [h.sent_at for h in rare] == [t - 100 + 9, t - 100 + 6, t - 100 + 3]
    assert len({h.message_id for h in store.search("rare", limit=50)}) == 4
    common = store.search("common", limit=2)
    assert [h.sent_at for h in common] == [t - 100 + 7, t - 100 + 4]
