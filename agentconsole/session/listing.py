"""Keeping a view's id list in order after a few conversations changed, without reading it all again."""

from __future__ import annotations

from array import array
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence

from agentconsole.session.idlist import IdList, IdListEditor


SortKeys = Callable[[Sequence[int]], dict[int, tuple[float, ...]]]
RestKeys = Callable[[Sequence[int]], dict[int, list[tuple[float, ...]]]]


def splice_front(old: array[int] | IdList, front: array[int], replaced: int, changed: Collection[int],
                 in_view: Collection[int], sort_keys: SortKeys | None = None, rest_at: int = 0,
                 newer_than: int | None = None, rest_keys: RestKeys | None = None) -> IdList:
    """The list after its first *replaced* ids were read again as *front* (in order, fresh).

    The ids after them keep their order; an id now in *front* is taken out of them, and so is a
    *changed* id the view no longer holds (*in_view*). A changed id the view holds but the front does
    not is put in place by a search over the rest with *sort_keys* (each id's key in the view's
    order, read for the few rows probed), so no step reads the whole list; without it, such a row
    keeps its place, or comes last when new. The search starts at the front of the row's part of the
    list: the waiting part at 0, the rest at *rest_at* (roughly where it begins below the front), where
    a row touched just now usually goes, so it probes a handful of rows. Ids above *newer_than* (the
    highest id *old* holds, when known) were never in it, so nobody looks for them there. *rest_keys*
    gives the keys an id may have had as a row nobody waits on (by its last activity, which done and
    reopen leave alone, and by its earlier messages', which a follow-up leaves where the list had it):
    where such a row sat in *old* is found by a search of each from *rest_at*, then looked for around
    there; only a row none of them finds is looked for block by block.
    The result shares every block of *old* that no change touched (old itself is left as it was).
    """
    if not isinstance(old, IdList):
        old = IdList(old)
    head = old[:replaced]
    replaced = len(head)
    in_front = set(front)
    head_set = set(head)
    moving = {i for i in changed if i not in in_front and i in in_view}
    take_out = {i for i in front if i not in head_set}
    take_out.update(i for i in changed if i not in in_front and (i not in in_view or sort_keys is not None))
    # Where the rows that leave the rest sit in it (a row of the head is dealt with in the head).
    wanted = {i for i in take_out | moving if (newer_than is None or i <= newer_than) and i not in head_set}
    old_below = _Below(old, replaced)
    earlier = rest_keys(sorted(wanted)) if rest_keys is not None and sort_keys is not None and wanted else {}

    def guesses(cid: int) -> Iterator[int]:
        """Where *cid* may sit in *old*, likeliest first, each found by a bounded search of its keys."""
        yield replaced  # just below the head: where a row pushed into the front comes from
        if sort_keys is None:
            return
        now = sort_keys([cid]).get(cid)
        if now is not None:  # its key unchanged (a row that only moved up, an assignment)
            yield replaced + _bisect(old_below, now, sort_keys, 0 if now[0] == 0.0 else rest_at)
        for key in earlier.get(cid, ()):  # a row nobody waited on, by the activity it had (done; a follow-up)
            yield replaced + _bisect(old_below, key, sort_keys, rest_at)

    found = _positions(old, replaced, wanted, guesses)
    # A row pushed out of the front stays just below it; a changed one is placed again (or goes).
    placed_again = moving if sort_keys is not None else set()
    new_head = array(old.typecode, front)
    new_head.extend(i for i in head if i not in in_front and i not in placed_again
                    and (i not in changed or i in in_view))
    # The rest stays in its blocks; the few rows that leave it are taken out of copies of theirs.
    edit = old.edit()
    edit.replace_head(replaced, new_head)
    base = len(new_head)
    for position in sorted((p for i, p in found.items() if i in take_out), reverse=True):
        edit.delete(base + position)
    if sort_keys is None:
        edit.extend(i for i in moving if i not in head_set and i not in found)
        return edit.done()
    below = _Below(edit, len(front))
    keys = sort_keys(sorted(moving))
    placed: dict[int, int] = {}
    # In the order of their keys, so a row placed later goes after those placed before: none shifts them.
    for cid in sorted(moving, key=lambda i: keys.get(i, (float("inf"),))):
        if cid in keys:
            hint = 0 if keys[cid][0] == 0.0 else rest_at
            placed[cid] = len(front) + _bisect(below, keys[cid], sort_keys, hint)
            edit.insert(placed[cid], cid)
    out = edit.done()
    out.placed = placed  # where the moved rows went, so the screen finds the selected one without a search
    return out


class _Below:
    """The list below its front, without copying it."""

    __slots__ = ("ids", "offset")

    def __init__(self, ids: IdList | IdListEditor, offset: int) -> None:
        self.ids, self.offset = ids, offset

    def __len__(self) -> int:
        return max(0, len(self.ids) - self.offset)

    def __getitem__(self, index: int) -> int:
        return self.ids[self.offset + index]


def _bisect(ids: _Below, key: tuple[float, ...], sort_keys: SortKeys, hint: int = 0) -> int:
    """Where *key* goes in *ids* (sorted by their keys when last read in full): a galloping search out
    from *hint*, then a binary one, so about 2 log2(distance from the hint) rows are read."""

    def before(i: int) -> bool:
        probe = sort_keys([ids[i]]).get(ids[i])
        return probe is None or probe <= key  # a row gone meanwhile counts as before: it moves nothing

    n = len(ids)
    hint = min(max(hint, 0), n)
    lo, hi = 0, n
    if hint < n and before(hint):  # it goes after the hint: gallop down
        lo, step = hint + 1, 1
        while hint + step < n:
            if not before(hint + step):
                hi = hint + step
                break
            lo, step = hint + step + 1, step * 2
    else:  # it goes at or before the hint: gallop up
        hi, step = hint, 1
        while hint - step >= 0:
            if before(hint - step):
                lo = hint - step + 1
                break
            hi, step = hint - step, step * 2
    while lo < hi:
        mid = (lo + hi) // 2
        if before(mid):
            lo = mid + 1
        else:
            hi = mid
    return lo


def _positions(ids: IdList, start: int, wanted: set[int], guesses: Callable[[int], Iterable[int]]
               ) -> dict[int, int]:
    """Where each of *wanted* is in *ids* from *start* on, counted from *start* (absent ones left out):
    looked for around each of its guessed places first, else block by block (no Python loop over *ids*)."""
    found: dict[int, int] = {}
    for cid in wanted:
        at = next((p for near in guesses(cid) if (p := ids.find(cid, near, start=start, everywhere=False)) is not None),
                  None)
        if at is None:
            at = ids.find(cid, start, reach=0, start=start)
        if at is not None:
            found[cid] = at - start
    return found


def find_id(ids: array[int] | IdList, cid: int, near: int = 0, reach: int = 512) -> int | None:
    """Where *cid* is in *ids*: looked for within *reach* of *near* first (a row that moved a few
    places), then by a byte search over the ids (no Python loop over them); None if absent."""
    if isinstance(ids, IdList):
        return ids.find(cid, near, reach)
    lo = max(0, near - reach)
    try:
        return lo + ids[lo:near + reach].index(cid)
    except ValueError:
        return _find(ids.tobytes(), ids.typecode, ids.itemsize, cid)


def _find(raw: bytes, typecode: str, size: int, cid: int, start: int = 0) -> int | None:
    needle = array(typecode, [cid]).tobytes()
    at = raw.find(needle, start * size)
    while at != -1 and at % size:  # a match across two items: look on
        at = raw.find(needle, at + 1)
    return None if at == -1 else at // size
