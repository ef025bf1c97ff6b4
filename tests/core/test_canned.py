"""The canned reply library: validation, CRUD, TOML round trips, import conflicts and ranking."""

from __future__ import annotations

import pytest

from agentconsole.replies.canned import (CannedDraft, CannedError, CannedLibrary, dumps, loads, query_words,
                                 search, starter_drafts)
from agentconsole.domain.clock import FrozenClock
from agentconsole.storage.store import Store

pytestmark = pytest.mark.both_backends


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(1_764_000_000.0)


@pytest.fixture
def library(tmp_path, clock) -> CannedLibrary:
    store = Store(tmp_path / "db.sqlite", clock)
    yield CannedLibrary(store)
    store.close()


def draft(shortcut="hi", name="Hi", body="Hi {first_name|there}!", **kw) -> CannedDraft:
    return CannedDraft(shortcut, name, body, **kw)


def test_create_get_update_delete(library):
    cid = library.create(draft(tags=("greeting",), channels=("x",), kinds=("public",)))
    got = library.get(cid)
    assert got.shortcut == "hi" and got.tags == ("greeting",) and got.channels == ("x",)
    assert got.usage_count == 0 and got.last_used_at is None
    library.update(cid, draft(name="Hello", body="Hello {name}"))
    assert library.by_shortcut("/hi").body == "Hello {name}"
    library.delete(cid)
    assert library.get(cid) is None and library.all() == []


@pytest.mark.parametrize("bad, words", [
    (draft(shortcut="Hi"), "shortcut 'Hi'"),
    (draft(shortcut=""), "shortcut ''"),
    (draft(name="  "), "name is empty"),
    (draft(body=""), "body is empty"),
    (draft(body="ok\n{frist_name}"), "body line 2, column 1: unknown placeholder"),
    (draft(channels=("myspace",)), "unknown channel 'myspace'"),
    (draft(kinds=("public", "public")), "listed twice"),
    (draft(tags=(" x",)), "blank or padded"),
])
def test_invalid_drafts_are_refused_with_the_reason(library, bad, words):
    with pytest.raises(CannedError) as info:
        library.create(bad)
    assert words in str(info.value)
    assert library.all() == []


def test_template_error_keeps_its_position(library):
    with pytest.raises(CannedError) as info:
        library.create(draft(body="one\ntwo {agent.name}"))
    assert (info.value.template_error.line, info.value.template_error.col) == (2, 5)


def test_shortcuts_are_unique(library):
    library.create(draft())
    with pytest.raises(CannedError, match="already used by 'Hi'"):
        library.create(draft(name="Other"))
    other = library.create(draft(shortcut="yo"))
    with pytest.raises(CannedError, match="already used"):
        library.update(other, draft(shortcut="hi"))


def test_duplicate_picks_a_free_shortcut(library):
    cid = library.create(draft(tags=("a",)))
    first = library.get(library.duplicate(cid))
    second = library.get(library.duplicate(cid))
    assert (first.shortcut, first.name, first.tags) == ("hi-copy", "Hi (copy)", ("a",))
    assert second.shortcut == "hi-copy2"


def test_record_use_counts_and_stamps(library, clock):
    cid = library.create(draft())
    clock.advance(60)
    library.record_use(cid)
    library.record_use(cid)
    got = library.get(cid)
    assert got.usage_count == 2 and got.last_used_at == clock.now()


def test_export_import_export_gives_the_same_file(library, tmp_path, clock):
    library.create(draft(body='Multi\nline "quoted" \\ back\ttab {{brace}}\n', tags=("b", "a")))
    library.create(draft(shortcut="abc", name="Ünïcode 🌻", body="Hej {name|där}", kinds=("dm",)))
    text = library.export_toml()
    other = Store(tmp_path / "other.sqlite", clock)
    fresh = CannedLibrary(other)
    report = fresh.import_toml(text)
    assert report.added == ("abc", "hi")
    assert fresh.export_toml() == text
    other.close()
    assert dumps(loads(text)) == text


def test_starter_file_is_in_export_format_and_valid(library):
    from importlib import resources
    shipped = resources.files("agentconsole.replies").joinpath("canned_starters.toml").read_text("utf-8")
    assert library.install_starters().added
    assert library.export_toml() == shipped
    names = {d.shortcut for d in starter_drafts()}
    assert {"hello", "thanks", "dm", "sorry", "closed", "delay", "feel", "sign"} <= names


def test_import_reports_conflicts_and_never_overwrites_silently(library):
    library.create(draft(body="Mine"))
    library.create(draft(shortcut="same"))
    incoming = dumps([draft(body="Theirs", name="Theirs"), draft(shortcut="same"), draft(shortcut="new")])
    report = library.import_toml(incoming)
    assert report.added == ("new",)
    assert report.unchanged == ("same",)
    assert [(c.shortcut, c.existing_name, c.incoming_name, c.differs) for c in report.conflicts] == [
        ("hi", "Hi", "Theirs", ("name", "body"))]
    assert library.by_shortcut("hi").body == "Mine"
    again = library.import_toml(incoming, overwrite=True)
    assert again.replaced == ("hi",) and again.conflicts == ()
    assert library.by_shortcut("hi").body == "Theirs"


def test_dry_run_writes_nothing(library):
    report = library.import_toml(dumps([draft()]), dry_run=True)
    assert report.added == ("hi",) and library.all() == []


@pytest.mark.parametrize("text, words", [
    ("version = 1\n[[canned]]\nshortcut = 'a'\nname = 'A'\nbody = '{nope}'\n", "entry 1: /a: body line 1, column 1: unknown placeholder {nope}"),
    ("[[canned]]\nshortcut = 'a'\nname = 'A'\nbody = 'x'\ntagz = []\n", "unknown key(s) tagz"),
    ("[[canned]]\nshortcut = 'a'\nname = 'A'\n", "'body' must be a string"),
    ("version = 2\n", "format version 2"),
    ("[[canned]]\nshortcut='a'\nname='A'\nbody='x'\n[[canned]]\nshortcut='a'\nname='B'\nbody='y'\n",
     "appears twice"),
    ("canned = [", "not valid TOML"),
])
def test_bad_files_are_refused_whole(library, text, words):
    with pytest.raises(CannedError) as info:
        library.import_toml(text)
    assert words in str(info.value)
    assert library.all() == []


def test_fuzzy_search_by_shortcut_name_and_body(library):
    library.install_starters()
    templates = library.all()
    assert search(templates, "/del")[0].shortcut == "delay"
    assert search(templates, "del")[0].shortcut == "delay"
    assert search(templates, "sign off")[0].shortcut == "sign"
    assert search(templates, "Out of hours")[0].shortcut == "closed"
    assert search(templates, "carrier")[0].shortcut == "delay"
    assert search(templates, "tahnks")[0].shortcut == "thanks"
    assert search(templates, "zzzzqqq") == []
    assert len(search(templates, "")) == len(templates)


@pytest.mark.parametrize("message, expected", [
    ("my order never arrived", "delay"),
    ("Where is my package?? tracking hasn't moved in a week", "delay"),
    ("thank you so much, love the new app", "thanks"),
    ("This is ridiculous, I'm so frustrated with you people", "feel"),
    ("Are you open on Sunday?", "closed"),
    ("you charged me twice, I want a refund", "sorry"),
])
def test_suggestions_rank_the_likely_answer_first(library, message, expected):
    library.install_starters()
    ranked = library.suggest(message, "x", "public")
    assert ranked[0].shortcut == expected, [t.shortcut for t in ranked]


def test_suggestions_only_offer_suitable_replies_and_fall_back_to_usage(library):
    library.install_starters()
    on_x = {t.shortcut for t in library.suggest("hello", "x", "public")}
    assert "sign" not in on_x and "dm" in on_x
    by_email = {t.shortcut for t in library.suggest("hello", "email", "email")}
    assert "sign" in by_email and "dm" not in by_email and "delay" not in by_email
    library.record_use(library.by_shortcut("thanks").id)
    assert library.suggest("", "x", "public")[0].shortcut == "thanks"


def test_query_words_drop_filler():
    assert query_words("My order NEVER arrived, and I'm upset!!") == ["order", "never", "arrived", "upset"]


@pytest.mark.parametrize("before, found", [
    ("/delay", (0, "delay")), ("thanks! /sorry", (8, "sorry")), ("a/b", None), ("/delay ", None),
    ("http://x.org/path", None), ("/Delay", None), ("line\n/hi", (5, "hi")),
])
def test_shortcut_at(before, found):
    from agentconsole.replies.canned import shortcut_at
    assert shortcut_at(before) == found


def test_expand_a_typed_shortcut(library):
    library.install_starters()
    exp = library.expand("Hello! /delay", {"first_name": "Dana", "agent_initials": "AN"})
    assert exp.start == 7 and exp.canned.shortcut == "delay"
    assert exp.filled.text.startswith("Hi Dana, I'm so sorry") and exp.filled.complete
    assert library.expand("Hello! /nosuch", {}) is None
    assert library.expand("no shortcut", {}) is None


def test_import_refuses_repeated_shortcuts_given_directly(library):
    with pytest.raises(CannedError, match="appears twice"):
        library.import_drafts([draft(), draft(name="Again")])
    assert library.all() == []
