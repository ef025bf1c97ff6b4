"""The canned storage, the same on every backend: rows, usage figures, transactions and ranking."""

from __future__ import annotations

import pytest

from agentconsole.storage.canned import CannedFields

SORRY = CannedFields("sorry", "Apology for a delay", "Sorry {name}, it is on its way.", ("delay",), ("x",), ())
HOURS = CannedFields("hours", "Opening hours", "We are open Mon-Fri 9-17.", ("opening",), (), ("dm", "email"))


def test_replies_round_trip_and_list_by_shortcut(backend):
    s, now = backend.canned(), backend.clock.now()
    assert s.all() == [] and s.get(1) is None and s.by_shortcut("sorry") is None
    sorry = s.insert(SORRY, now)
    hours = s.insert(HOURS, now)
    assert [r.shortcut for r in s.all()] == ["hours", "sorry"]
    got = s.get(sorry)
    assert got is not None and tuple(got[1:7]) == SORRY
    assert (got.usage_count, got.last_used_at) == (0, None)
    assert s.by_shortcut("hours") == s.get(hours)
    assert s.by_shortcut("Hours") == s.get(hours)  # shortcuts ignore case, so /Hours cannot sit beside /hours


def test_update_delete_and_usage(backend):
    s, now = backend.canned(), backend.clock.now()
    cid = s.insert(SORRY, now)
    changed = SORRY._replace(name="Sorry, late", tags=("delay", "shipping"))
    assert s.update(cid, changed, now + 1) is True
    assert tuple(s.get(cid)[1:7]) == changed
    assert s.update(cid + 100, changed, now) is False
    s.record_use(cid, now + 5)
    s.record_use(cid, now + 9)
    assert (s.get(cid).usage_count, s.get(cid).last_used_at) == (2, now + 9)
    s.delete(cid)
    assert s.get(cid) is None and s.all() == [] and s.ranks(["delay"]) == {}


def test_a_shortcut_is_unique(backend):
    s, now = backend.canned(), backend.clock.now()
    s.insert(SORRY, now)
    for taken in ("sorry", "SORRY"):
        with pytest.raises(backend.integrity_error):
            s.insert(SORRY._replace(shortcut=taken, name="Another"), now)
    assert len(s.all()) == 1


def test_a_transaction_applies_together_or_not_at_all(backend):
    s, now = backend.canned(), backend.clock.now()
    with pytest.raises(RuntimeError):
        with s.transaction():
            s.insert(SORRY, now)
            s.insert(HOURS, now)
            raise RuntimeError("a conflict found half way")
    assert s.all() == []


def test_ranks_weigh_names_and_tags_above_bodies(backend):
    s, now = backend.canned(), backend.clock.now()
    in_body = s.insert(CannedFields("a", "Shipping", "About your delay: we are on it.", (), (), ()), now)
    in_tag = s.insert(CannedFields("b", "Late parcel", "We are on it.", ("delay",), (), ()), now)
    s.insert(HOURS, now)
    ranks = s.ranks(["delay"])
    assert set(ranks) == {in_body, in_tag}
    assert ranks[in_tag] < ranks[in_body]  # lower is better
    assert s.ranks([]) == {} and s.ranks(['quote"d']) == {}
