"""Matching: the query clauses for words and phrases, and the ranked search that bounds how
many matching documents it scores.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

from whoosh import sorting
from whoosh.collectors import WrappingCollector
from whoosh.query import And, Query, Term

from index.schema import PAIR

# A ranked search scores at most this many matching documents, taken evenly from across the
# index (STRIPES ranges of document numbers, oldest recordings first), so words said in
# thousands of sentences cost about the same in a library of 3,000 hours as of 300: the page
# is then the best of a sample spread over the whole library, and the count an estimate.
# Date order, which must see every match to find the newest, is not bounded.
BUDGET = 1000
STRIPES = 64
# Facet counts look at more: they are counts, and cost a column lookup per match, no score.
FACET_BUDGET = 20000


def phrase(terms: Sequence[str]) -> Query:
    """Words said one after the other: every two neighbours a term of `pairs`."""
    return And([Term("pairs", f"{a}{PAIR}{b}") for a, b in itertools.pairwise(terms)])


def leaves(clause: Query) -> list[Term]:
    """A clause's terms: itself (a word), or a phrase's pairs."""
    return [clause] if isinstance(clause, Term) else list(clause.subqueries)


def words(clause: Query) -> list[str]:
    """The words (terms of `text`) of a query clause."""
    return [word for term in leaves(clause) for word in term.text.split(PAIR)]


def said(clause: Query) -> list[str]:
    """The words of a phrase in order, from its pairs."""
    pairs = [term.text.split(PAIR) for term in leaves(clause)]
    return [pairs[0][0], *(second for _, second in pairs)]


class _Bounded(WrappingCollector):  # type: ignore[misc]
    """Passes at most ``budget`` matching documents of the whole index to the collector it
    wraps, an even share from each of ``STRIPES`` ranges of document numbers (a share a
    range cannot use passes to the ranges after it)."""

    def __init__(self, child: Any, budget: int) -> None:
        super().__init__(child)
        self.budget = budget

    def collect_matches(self) -> None:
        matcher, collect = self.child.matcher, self.child.collect
        docs = int(self.subsearcher.doc_count_all())
        # This segment's part of the budget (an optimized index has one segment).
        budget = self.budget * docs / max(1, int(self.top_searcher.doc_count_all()))
        taken = 0
        for stripe in range(STRIPES):
            low, high = docs * stripe // STRIPES, docs * (stripe + 1) // STRIPES
            # Up to an even share by the end of each range, with what earlier ranges left.
            until = math.ceil(budget * (stripe + 1) / STRIPES)
            if matcher.is_active() and matcher.id() < low:
                matcher.skip_to(low)
            while taken < until and matcher.is_active() and matcher.id() < high:
                collect(matcher.id())
                matcher.next()
                taken += 1


def ranked(searcher: Any, query: Query, limit: int, by_date: bool) -> Any:
    """The best ``limit`` matches of ``query``, by score within the budget, or newest first."""
    if by_date:
        return searcher.search(query, limit=limit, sortedby="recorded", reverse=True)
    collector = _Bounded(searcher.collector(limit=limit), BUDGET)
    searcher.search_with_collector(query, collector)
    return collector.results()


def count_by(
    searcher: Any, query: Query, column: str, budget: int | None
) -> tuple[dict[str, int], int]:
    """Matching documents per value of a sortable field (within ``budget`` matches, taken as
    :func:`ranked` takes them; all when None), and how many matches were counted."""
    child = searcher.collector(limit=1, groupedby=sorting.FieldFacet(column), maptype=sorting.Count)
    collector = _Bounded(child, budget) if budget is not None else child
    searcher.search_with_collector(query, collector)
    groups = collector.results().groups(column)
    counts = {str(k): int(v) for k, v in groups.items() if k}
    return counts, sum(counts.values())
