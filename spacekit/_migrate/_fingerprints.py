"""``Fingerprints``: a set of strings in about 24 bytes each, whatever their length.

A migration remembers, for every space, a few facts it only ever asks "is this one
of them?" about: the source ids it has planned, the target ids it has claimed, the
names it has reserved. Kept as Python sets of strings they would cost a hundred
bytes or more per space; here each string is kept as its 64-bit hash in an
open-addressing table (an ``array`` of unsigned 64-bit integers, linear probing,
at most half full). Two strings sharing a hash (about one chance in 10^8 for a
million strings) would count as one: good enough to know what a run has already
seen, never used to decide what to write without a look at the target.

Not thread-safe: callers hold their own lock.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
from typing import Final

_MASK64: Final = (1 << 64) - 1
_FIRST: Final = 8  # slots of an empty table


class Fingerprints:
    """A set of strings, kept as their hashes."""

    __slots__ = ("_count", "_mask", "_table")

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._table = array("Q", bytes(8 * _FIRST))
        self._mask = _FIRST - 1
        self._count = 0
        for value in values:
            self.add(value)

    def add(self, value: str) -> None:
        self._insert(_key(value))

    def __contains__(self, value: object) -> bool:
        return self._table[self._slot(_key(value))] != 0

    def __len__(self) -> int:
        return self._count

    def without(self, other: Fingerprints) -> Fingerprints:
        """The members of this set that are not in ``other``."""
        rest = Fingerprints()
        for key in self._keys():
            if other._table[other._slot(key)] == 0:
                rest._insert(key)
        return rest

    def matching(self, values: Iterable[str]) -> frozenset[str]:
        """Those of ``values`` that are members."""
        return frozenset(value for value in values if value in self)

    def _keys(self) -> Iterator[int]:
        return (key for key in self._table if key)

    def _slot(self, key: int) -> int:
        """Where ``key`` is, or the empty slot where it would go."""
        table, mask = self._table, self._mask
        slot = key & mask
        while True:
            held = table[slot]
            if held == 0 or held == key:
                return slot
            slot = (slot + 1) & mask

    def _insert(self, key: int) -> None:
        slot = self._slot(key)
        if self._table[slot]:
            return
        self._table[slot] = key
        self._count += 1
        if 2 * self._count > len(self._table):
            self._grow()

    def _grow(self) -> None:
        old = self._table
        self._table = array("Q", bytes(16 * len(old)))
        self._mask = len(self._table) - 1
        self._count = 0
        for key in old:
            if key:
                self._insert(key)


def _key(value: object) -> int:
    """A string's hash as a non-zero unsigned 64-bit integer (zero marks an empty slot)."""
    return (hash(value) & _MASK64) or 1
