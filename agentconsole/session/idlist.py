"""A view's id list as blocks shared between versions, so placing a few changed rows copies a few blocks
and the list of blocks, never the whole list of ids."""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from itertools import accumulate, chain
from typing import overload

# Ids per block as read; a block that grows to twice this splits in two. Copying a block costs a few
# microseconds and indexing the blocks one step per block, so both stay small at 300k ids.
BLOCK = 4096


class IdList:
    """An immutable sequence of conversation ids (array('q') semantics for reading).

    A change goes through edit(): the editor copies a block the first time it changes it and hands
    back a new IdList that shares every untouched block with this one, so a list handed to the screen
    is never changed under it (a worker may build the next one meanwhile)."""

    __slots__ = ("_blocks", "_starts", "_len", "top", "placed", "__weakref__")

    typecode = "q"

    def __init__(self, ids: Iterable[int] = (), top: int | None = None) -> None:
        flat = ids if isinstance(ids, array) else array("q", ids)
        blocks = [flat[i:i + BLOCK] for i in range(0, len(flat), BLOCK)]
        self._set(blocks)
        self.top = top  # the highest id the list may hold, when known
        self.placed: dict[int, int] = {}  # where the refresh that made this list put the rows it moved

    @classmethod
    def _of(cls, blocks: list[array[int]], top: int | None) -> IdList:
        out = cls.__new__(cls)
        out._set(blocks)
        out.top = top
        out.placed = {}
        return out

    def _set(self, blocks: list[array[int]]) -> None:
        self._blocks = blocks
        self._starts = [0, *accumulate(map(len, blocks))]  # one number per block, not per id
        self._len = self._starts[-1]

    # ------------------------------------------------------------------ reading

    def __len__(self) -> int:
        return self._len

    def __bool__(self) -> bool:
        return self._len > 0

    @overload
    def __getitem__(self, index: int) -> int: ...
    @overload
    def __getitem__(self, index: slice) -> array[int]: ...

    def __getitem__(self, index: int | slice) -> int | array[int]:
        if isinstance(index, slice):
            start, stop, step = index.indices(self._len)
            if step != 1:
                return array("q", [self[i] for i in range(start, stop, step)])
            return self._span(start, stop)
        if index < 0:
            index += self._len
        if not 0 <= index < self._len:
            raise IndexError("IdList index out of range")
        b = bisect_right(self._starts, index) - 1
        return self._blocks[b][index - self._starts[b]]

    def _span(self, start: int, stop: int) -> array[int]:
        out = array("q")
        if start >= stop:
            return out
        b = bisect_right(self._starts, start) - 1
        while b < len(self._blocks) and self._starts[b] < stop:
            s = self._starts[b]
            out.extend(self._blocks[b][max(0, start - s):stop - s])
            b += 1
        return out

    def __iter__(self) -> Iterator[int]:
        return chain.from_iterable(self._blocks)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, IdList | array | list | tuple):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=False))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # a sequence compared by value, like array

    def __repr__(self) -> str:
        return f"IdList({list(self)!r})"

    def find(self, cid: int, near: int = 0, reach: int = 512, start: int = 0, everywhere: bool = True
             ) -> int | None:
        """Where *cid* is, at *start* or after: looked for within *reach* of *near* first, then (when
        *everywhere*) block by block, a byte search of each, no Python loop over the ids; None if absent."""
        lo = max(start, near - reach)
        window = self._span(lo, min(self._len, near + reach))
        try:
            return lo + window.index(cid)
        except ValueError:
            if not everywhere:
                return None
        needle = array("q", [cid]).tobytes()
        first = max(0, bisect_right(self._starts, start) - 1)
        for b in range(first, len(self._blocks)):
            skip = max(0, start - self._starts[b])
            at = _find(self._blocks[b][skip:].tobytes() if skip else self._blocks[b].tobytes(), needle)
            if at is not None:
                return self._starts[b] + skip + at
        return None

    def index(self, cid: int) -> int:
        at = self.find(cid)
        if at is None:
            raise ValueError(f"{cid} is not in the list")
        return at

    def __contains__(self, cid: object) -> bool:
        return isinstance(cid, int) and self.find(cid) is not None

    def edit(self) -> IdListEditor:
        return IdListEditor(self)


class IdListEditor:
    """The changes to one IdList, made in place on copies of the blocks they touch."""

    __slots__ = ("_blocks", "_owned", "_starts", "_top")

    def __init__(self, base: IdList) -> None:
        self._blocks = list(base._blocks)  # the block list is copied (one reference per block), the ids not
        self._owned: dict[int, array[int]] = {}  # the blocks this editor made (by id()), safe to change
        self._starts: list[int] | None = base._starts
        self._top = base.top

    def _index(self) -> list[int]:
        if self._starts is None:
            self._starts = [0, *accumulate(map(len, self._blocks))]
        return self._starts

    def __len__(self) -> int:
        return self._index()[-1]

    def __getitem__(self, index: int) -> int:
        starts = self._index()
        b = bisect_right(starts, index) - 1
        if b >= len(self._blocks):
            raise IndexError("IdList index out of range")
        return self._blocks[b][index - starts[b]]

    def _own(self, b: int) -> array[int]:
        block = self._blocks[b]
        if id(block) not in self._owned:
            block = array("q", block)
            self._blocks[b] = block
            self._owned[id(block)] = block
        return block

    def _locate(self, index: int) -> tuple[int, int]:
        starts = self._index()
        b = min(bisect_right(starts, index) - 1, max(0, len(self._blocks) - 1))
        return b, index - starts[b]

    def delete(self, index: int) -> None:
        b, at = self._locate(index)
        block = self._own(b)
        del block[at]
        if not block:
            del self._blocks[b]
        self._starts = None

    def insert(self, index: int, cid: int) -> None:
        if not self._blocks:
            block = array("q", [cid])
            self._blocks.append(block)
            self._owned[id(block)] = block
            self._starts = None
            return
        b, at = self._locate(index)
        block = self._own(b)
        block.insert(at, cid)
        if len(block) >= 2 * BLOCK:
            half = array("q", block[BLOCK:])
            del block[BLOCK:]
            self._blocks.insert(b + 1, half)
            self._owned[id(half)] = half
        self._starts = None

    def replace_head(self, count: int, head: Iterable[int]) -> None:
        """The first *count* ids give way to *head*."""
        starts = self._index()
        count = min(count, starts[-1])
        b = bisect_right(starts, count) - 1
        rest = self._blocks[b:]
        if rest and count > starts[b]:
            rest[0] = rest[0][count - starts[b]:]
            self._owned[id(rest[0])] = rest[0]
            if not rest[0]:
                rest.pop(0)
        new = array("q", head)
        fresh = [new[i:i + BLOCK] for i in range(0, len(new), BLOCK)]
        self._owned.update((id(f), f) for f in fresh)
        self._blocks = fresh + rest
        self._starts = None

    def extend(self, ids: Iterable[int]) -> None:
        for cid in ids:
            self.insert(len(self), cid)

    def done(self, top: int | None = None) -> IdList:
        return IdList._of([b for b in self._blocks if b], self._top if top is None else top)


def _find(raw: bytes, needle: bytes) -> int | None:
    size = len(needle)
    at = raw.find(needle)
    while at != -1 and at % size:  # a match across two items: look on
        at = raw.find(needle, at + 1)
    return None if at == -1 else at // size
