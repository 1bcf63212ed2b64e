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
    """Passes matching documents to the collector it wraps: only those of the recordings in
    ``within`` (all when None), and at most ``budget`` of them in the whole index (no limit
    when None), an even share from each of ``STRIPES`` ranges of document numbers (a share a
    range cannot use passes to the ranges after it)."""

    def __init__(self, child: Any, budget: int | None, within: Within) -> None:
        super().__init__(child)
        self.budget = budget
        self.within = within

    def collect_matches(self) -> None:
        matcher, collect, within = self.child.matcher, self.child.collect, self.within
        docs = int(self.subsearcher.doc_count_all())
        if not docs:
            return
        if within is not None:
            ids = self.subsearcher.reader().column_reader("recording_id", translate=False)
        # This segment's part of the budget (an optimized index has one segment).
        share = (self.budget or 0) * docs / max(1, int(self.top_searcher.doc_count_all()))
        taken = looked = 0
        for stripe in range(STRIPES):
            low, high = docs * stripe // STRIPES, docs * (stripe + 1) // STRIPES
            # Up to an even share by the end of each range, with what earlier ranges left;
            # matches of recordings out of reach are passed over, up to four times as many.
            until = math.inf if self.budget is None else math.ceil(share * (stripe + 1) / STRIPES)
            if matcher.is_active() and matcher.id() < low:
                matcher.skip_to(low)
            while taken < until and looked < 5 * until and matcher.is_active():
                doc = matcher.id()
                if doc >= high:
                    break
                looked += 1
                if within is None or ids[doc] in within:
                    collect(doc)
                    taken += 1
                matcher.next()


# The recordings a search may show (their ids as the recording_id column holds them), or None
# for all of them.
Within = frozenset[bytes] | None


def recordings_where(searcher: Any, condition: Query) -> frozenset[bytes]:
    """The recordings whose documents meet ``condition``, a condition on a recording's own
    fields (visibility, event, ...), which all its documents share: its first one decides.
    A look at one document per recording, not a walk over every document."""
    firsts = sorted(
        (number, rid)
        for rid in searcher.lexicon("recording_id")
        if (number := searcher.document_number(recording_id=rid.decode())) is not None
    )
    matcher = condition.matcher(searcher)
    found = set()
    for number, rid in firsts:
        if matcher.is_active() and matcher.id() < number:
            matcher.skip_to(number)
        if not matcher.is_active():
            break
        if matcher.id() == number:
            found.add(rid)
    return frozenset(found)


def ranked(searcher: Any, query: Query, limit: int, by_date: bool, within: Within = None) -> Any:
    """The best ``limit`` matches of ``query`` within the budget, or all of them newest
    first; only those of the recordings ``within``."""
    if by_date:
        child = searcher.collector(limit=limit, sortedby="recorded", reverse=True)
        collector = _Bounded(child, None, within)
    else:
        collector = _Bounded(searcher.collector(limit=limit), BUDGET, within)
    searcher.search_with_collector(query, collector)
    return collector.results()


def count_by(
    searcher: Any, query: Query, column: str, budget: int, within: Within = None
) -> tuple[dict[str, int], int]:
    """Matching documents per value of a sortable field (within ``budget`` matches, taken as
    :func:`ranked` takes them), and how many matches were counted."""
    child = searcher.collector(limit=1, groupedby=sorting.FieldFacet(column), maptype=sorting.Count)
    collector = _Bounded(child, budget, within)
    searcher.search_with_collector(query, collector)
    groups = collector.results().groups(column)
    counts = {str(k): int(v) for k, v in groups.items() if k}
    return counts, sum(counts.values())
