"""Faster steps through Whoosh's posting lists (whoosh-reloaded 2.7.5), same results.

- ``skip_to`` by binary search in a block: Whoosh moves a posting list to a target document
  one posting at a time, in Python ("learning systems" at 320 h: 38 -> 20 ms).
- A block's document numbers undone from their differences by ``itertools.accumulate`` (C),
  and a block of equal weights made an array by repetition, not by generators.
- :class:`Conjunction`, the documents several lists share, a block at a time (below).

Tests in tests/test_index.py walk each against Whoosh's own; :func:`install` puts the first
two in place once, at import of :mod:`index.search`; the collector of
:mod:`index.matching` uses the third.
"""

from __future__ import annotations

import bisect
import itertools
from array import array
from typing import Any

from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.matching import IntersectionMatcher, ReadTooFar

_ORIGINAL = W3LeafMatcher.skip_to


def skip_to(self: Any, targetid: int) -> None:
    """Move to the first posting at or after ``targetid`` (:meth:`W3LeafMatcher.skip_to`)."""
    if not self.is_active():
        raise ReadTooFar
    if targetid <= self.id():
        return
    # Whole blocks that end before the target are passed over without being read.
    while targetid > self._maxid:
        self._next_block()
        if self._atend:
            return
    if self._ids is None:
        self._read_ids()
    # The target is at most this block's last document, so the search ends inside it.
    self._i = bisect.bisect_left(self._ids, targetid, self._i)


_ORIGINAL_READ_IDS = W3LeafMatcher._read_ids


def _read_ids(self: Any) -> None:
    """A block's document numbers (:meth:`W3LeafMatcher._read_ids`), undone from their
    differences by ``itertools.accumulate`` (C) instead of Whoosh's generator (Python)."""
    if self._data is None:
        self._read_data()
    ids = self._data[0]
    self._ids = ids if self._byteids else tuple(itertools.accumulate(ids))


_ORIGINAL_READ_WEIGHTS = W3LeafMatcher._read_weights


def _read_weights(self: Any) -> None:
    """A block's weights (:meth:`W3LeafMatcher._read_weights`); a block whose postings all
    weigh the same stores one number, made an array by repetition (C) instead of a generator."""
    if self._data is None:
        self._read_data()
    weights = self._data[1]
    if weights is None:
        weights = 1.0
    if isinstance(weights, float):
        self._weights = array("f", [weights]) * self._blocklength
    else:
        self._weights = weights


def install() -> None:
    W3LeafMatcher.skip_to = skip_to
    W3LeafMatcher._read_ids = _read_ids
    W3LeafMatcher._read_weights = _read_weights


def uninstall() -> None:
    """Whoosh's own, again (for comparing the two)."""
    W3LeafMatcher.skip_to = _ORIGINAL
    W3LeafMatcher._read_ids = _ORIGINAL_READ_IDS
    W3LeafMatcher._read_weights = _ORIGINAL_READ_WEIGHTS


class Conjunction:
    """The documents every one of ``leaves`` holds, found a block at a time: the posting
    lists' current blocks are sliced to the range they all cover and intersected as sets (in
    C), where Whoosh's ``IntersectionMatcher`` steps the lists against each other one posting
    at a time, in Python.

    It stands in for the matcher ``tree`` (nested intersections of ``leaves``) in a collector
    loop: ``is_active``, ``id``, ``next``, ``skip_to`` and ``score``, which puts each list on
    the document and asks ``tree`` for its score: the scores are Whoosh's own.
    """

    def __init__(self, tree: Any, leaves: list[Any]) -> None:
        self._tree = tree
        self._leaves = leaves
        self._found: list[int] = []  # the common documents of the current range
        self._at = 0
        self._high = -1  # the last document of the current range
        self._fill()

    @staticmethod
    def of(tree: Any) -> Conjunction | None:
        """A conjunction standing in for ``tree``, when it is intersections of posting lists
        alone (other matchers: None)."""
        leaves, todo = [], [tree]
        while todo:
            node = todo.pop()
            if type(node) is IntersectionMatcher:
                todo += [node.b, node.a]
            elif type(node) is W3LeafMatcher and not node._byteids:
                leaves.append(node)
            else:
                return None
        return Conjunction(tree, leaves) if len(leaves) > 1 else None

    def _fill(self, target: int = 0) -> None:
        """The common documents of the first range, from ``target`` on, that holds any."""
        leaves = self._leaves
        self._found, self._at = [], 0
        while all(leaf.is_active() for leaf in leaves):
            low = max(target, *(leaf.id() for leaf in leaves))
            for leaf in leaves:
                leaf.skip_to(low)
            if not all(leaf.is_active() for leaf in leaves):
                return
            high = min(leaf._maxid for leaf in leaves)
            common: set[int] | None = None
            for leaf in leaves:
                ids, start = leaf._ids, leaf._i
                part = ids[start : bisect.bisect_right(ids, high, start)]
                common = set(part) if common is None else common.intersection(part)
            self._found, self._high = sorted(common or ()), high
            if self._found:
                return
            target = high + 1

    def is_active(self) -> bool:
        return self._at < len(self._found)

    def id(self) -> int:
        return self._found[self._at]

    def next(self) -> None:
        self._at += 1
        if self._at == len(self._found):
            self._fill(self._high + 1)

    def skip_to(self, target: int) -> None:
        if target <= self._high:
            self._at = bisect.bisect_left(self._found, target, self._at)
            if self._at < len(self._found):
                return
        self._fill(max(target, self._high + 1))

    def score(self) -> float:
        doc = self._found[self._at]
        for leaf in self._leaves:
            leaf._i = bisect.bisect_left(leaf._ids, doc, leaf._i)
        return float(self._tree.score())
