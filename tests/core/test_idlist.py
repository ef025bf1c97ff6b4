"""The blocked id list behind a view: any edits keep it equal to a plain list, an edit never changes the
version it started from, and a spliced list equals the view sorted again from scratch."""

from __future__ import annotations

from array import array

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentconsole.session import idlist
from agentconsole.session.idlist import IdList
from agentconsole.session.listing import splice_front

# The fixture only hands out a setter of the block size, which each example calls first.
small_blocks = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
def monkeypatch_block(monkeypatch):
    """Tiny blocks, so a few dozen ids span many of them and every boundary case is reached."""
    return lambda size: monkeypatch.setattr(idlist, "BLOCK", size)


@st.composite
def edits(draw):
    ops = []
    for _ in range(draw(st.integers(0, 40))):
        kind = draw(st.sampled_from(["insert", "delete", "head"]))
        ops.append((kind, draw(st.integers(0, 10_000)), draw(st.lists(st.integers(1, 10**9), max_size=12))))
    return ops


@small_blocks
@given(start=st.lists(st.integers(1, 10**9), max_size=60), ops=edits(), block=st.integers(1, 5))
def test_any_edits_keep_it_equal_to_a_plain_list(monkeypatch_block, start, ops, block):
    monkeypatch_block(block)
    ids = IdList(start)
    reference = list(start)
    for kind, at, values in ops:
        before, before_list = ids, list(reference)
        edit = ids.edit()
        if kind == "insert":
            at = at % (len(reference) + 1)
            for v in values:
                edit.insert(at, v)
                reference.insert(at, v)
        elif kind == "delete" and reference:
            at = at % len(reference)
            edit.delete(at)
            del reference[at]
        elif kind == "head":
            count = at % (len(reference) + 2)
            edit.replace_head(count, values)
            reference[:count] = values
        ids = edit.done()
        assert list(before) == before_list  # the version the screen holds is never changed under it
        assert list(ids) == reference and len(ids) == len(reference)
        assert all(len(b) < 2 * block for b in ids._blocks) and all(ids._blocks)
    for i, cid in enumerate(reference):
        assert ids[i] == cid
        assert ids.find(cid, near=(i * 7) % (len(reference) + 1)) == reference.index(cid)
    assert ids[3:11] == array("q", reference[3:11]) and ids[-1:] == array("q", reference[-1:])
    assert ids.find(0) is None and 0 not in ids


@small_blocks
@given(start=st.lists(st.integers(1, 50), max_size=40, unique=True), block=st.integers(1, 4),
       start_at=st.integers(0, 45), near=st.integers(0, 45))
def test_find_from_a_start_sees_only_what_follows_it(monkeypatch_block, start, block, start_at, near):
    monkeypatch_block(block)
    ids = IdList(start)
    for cid in range(1, 52):
        expected = start.index(cid) if cid in start[start_at:] else None
        assert ids.find(cid, near=near, reach=2, start=start_at) == expected


@st.composite
def view_changes(draw):
    """A view sorted by its keys, then some rows moving (a new key), leaving, and arriving."""
    n = draw(st.integers(0, 80))
    keys = dict(zip(range(1, n + 1), draw(st.permutations(range(n))), strict=True))
    ids = sorted(keys, key=keys.__getitem__)
    moved = draw(st.sets(st.sampled_from(ids), max_size=6)) if ids else set()
    gone = draw(st.sets(st.sampled_from(ids), max_size=4)) if ids else set()
    new_keys = dict(keys)
    for cid in moved:
        new_keys[cid] = draw(st.floats(-10, n + 10, allow_nan=False)) + 0.5
    for cid in gone:
        del new_keys[cid]
    arrived = range(n + 1, n + 1 + draw(st.integers(0, 4)))
    for cid in arrived:
        new_keys[cid] = draw(st.floats(-10, n + 10, allow_nan=False)) + 0.25
    front = draw(st.integers(0, 30))
    return ids, new_keys, moved | gone | set(arrived), front


@small_blocks
@given(change=view_changes(), block=st.integers(1, 6))
def test_a_spliced_list_equals_the_view_sorted_again(monkeypatch_block, change, block):
    monkeypatch_block(block)
    old_ids, keys, changed, front_size = change
    fresh = sorted(keys, key=lambda i: (keys[i], i))
    old = IdList(old_ids)

    def sort_keys(wanted):
        return {i: (0.0, keys[i], float(i)) for i in wanted if i in keys}

    spliced = splice_front(old, array("q", fresh[:front_size]), front_size, changed, set(changed) & set(keys),
                           sort_keys, newer_than=len(old_ids))
    assert list(spliced) == fresh
    assert list(old) == old_ids
    assert set(spliced.placed) == {i for i in changed & set(keys) if i not in fresh[:front_size]}
    assert all(spliced[at] == cid for cid, at in spliced.placed.items())  # where each moved row went


def test_a_refresh_shares_the_blocks_it_did_not_change(monkeypatch_block):
    monkeypatch_block(4)
    old = IdList(range(1, 41))
    edit = old.edit()
    edit.delete(21)
    new = edit.done()
    assert sum(a is b for a, b in zip(old._blocks, new._blocks, strict=True)) == len(old._blocks) - 1
    assert list(old) == list(range(1, 41)) and list(new) == [i for i in range(1, 41) if i != 22]
