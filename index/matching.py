"""Matching: the query clauses for words and phrases, and the ranked search that bounds how
many matching documents it scores.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

from whoosh.collectors import WrappingCollector
from whoosh.query import And, Query, Term

from index.memo import PerReader
from index.postings import Conjunction
from index.schema import PAIR

# A ranked search scores at most this many matching documents, taken evenly from across the
# index (STRIPES ranges of document numbers, oldest recordings first), so words said in
# thousands of sentences cost about the same in a library of 3,000 hours as of 300: the page
# is then the best of a sample spread over the whole library, and the count an estimate.
# Date order, which must see every match to find the newest, is not bounded.
BUDGET = 500
STRIPES = 64


def phrase(terms: Sequence[str]) -> Query:
    """Words said one after the other: every two neighbours a term of `pairs`."""
    return And([Term("pairs", f"{a}{PAIR}{b}") for a, b in itertools.pairwise(terms)])


def leaves(clause: Query) -> list[Term]:
    """A clause's terms: itself (a word), or a phrase's pairs."""
    return [clause] if isinstance(clause, Term) else list(clause.subqueries)


def words(clause: Query) -> list[str]:
    """The words (terms of `text`) of a query clause."""
    return [word for term in leaves(clause) for word in term.text.split(PAIR)]


def phrase_words(clause: Query) -> list[str]:
    """The words of a phrase in order, from its pairs."""
    pairs = [term.text.split(PAIR) for term in leaves(clause)]
    return [pairs[0][0], *(second for _, second in pairs)]


class _Bounded(WrappingCollector):  # type: ignore[misc]
    """Passes matching documents to the collector it wraps: only those of the recordings in
    ``within`` (all when None), and at most ``budget`` of them in the whole index (no limit
    when None), an even share from each of ``STRIPES`` ranges of document numbers (a share a
    range cannot use passes to the ranges after it)."""

    def __init__(
        self, child: Any, budget: int | None, within: Within, tally: Counter[bytes] | None
    ) -> None:
        super().__init__(child)
        self.budget = budget
        self.within = within
        self.tally = tally
        # Matches looked at, and how many of them were of recordings within reach.
        self.looked = self.taken = 0
        self.is_cut = False

    def collect_matches(self) -> None:
        matcher, collect, within = self.child.matcher, self.child.collect, self.within
        conjunction = Conjunction.of(matcher)
        if conjunction is not None:  # the collector scores with it too
            matcher = self.child.matcher = conjunction
        docs = int(self.subsearcher.doc_count_all())
        if not docs:
            return
        tally = self.tally
        by_recording = within is not None or tally is not None
        if by_recording:
            ids = _recording_ids(self.subsearcher.reader())
        # This segment's part of the budget (an optimized index has one segment).
        part = docs / max(1, int(self.top_searcher.doc_count_all()))
        share = (self.budget or 0) * part
        stripes = max(1, round(STRIPES * part))  # the segment's part of the ranges too
        taken = looked = 0
        for stripe in range(stripes):
            low, high = docs * stripe // stripes, docs * (stripe + 1) // stripes
            # Up to an even share by the end of each range, with what earlier ranges left;
            # matches of recordings out of reach are passed over, up to four times as many.
            until = math.inf if self.budget is None else math.ceil(share * (stripe + 1) / stripes)
            if matcher.is_active() and matcher.id() < low:
                matcher.skip_to(low)
            while taken < until and looked < 5 * until and matcher.is_active():
                doc = matcher.id()
                if doc >= high:
                    break
                looked += 1
                rid = ids[doc] if by_recording else b""
                if within is None or rid in within:
                    collect(doc)
                    taken += 1
                    if tally is not None:
                        tally[rid] += 1
                matcher.next()
            if matcher.is_active() and matcher.id() < high:
                self.is_cut = True  # matches were left unseen: counts are estimates
        self.looked += looked
        self.taken += taken


_IDS: PerReader[Any] = PerReader()


class _Ranges:
    """Document number -> recording id, for a segment where each recording's documents are
    one run of numbers (a recording is written at once, and merges keep the order): a binary
    search among the runs' first documents."""

    def __init__(self, firsts: list[int], ids: list[bytes]) -> None:
        self._firsts, self._ids = firsts, ids

    def __getitem__(self, doc: int) -> bytes:
        return self._ids[bisect.bisect_right(self._firsts, doc) - 1]

    def after_run(self, doc: int) -> int | None:
        """The first document of the run after ``doc``'s, None after the last run."""
        i = bisect.bisect_right(self._firsts, doc)
        return self._firsts[i] if i < len(self._firsts) else None


def _recording_ids(reader: Any) -> Any:
    """Document number -> recording id in one segment, worked out once per segment reader:
    from the runs of each recording's documents (the first and last document and the count
    of each recording_id term, from the term index), or, when some recording's documents are
    not one run, the recording_id column (a seek and a read per lookup)."""
    return _IDS.get(reader, None, lambda: _runs_or_column(reader))


def _runs_or_column(reader: Any) -> Any:
    runs = sorted(
        (info.min_id(), info.max_id(), info.doc_frequency(), rid)
        for rid, info in reader.iter_field("recording_id")
    )
    if all(last - first + 1 == n for first, last, n, _ in runs):
        return _Ranges([r[0] for r in runs], [r[3] for r in runs])
    return reader.column_reader("recording_id", translate=False)


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


def frequency(
    searcher: Any, fieldname: str, text: str, within: Within, cap: int | None = None
) -> int:
    """How many documents of the recordings ``within`` hold a term (of all recordings when
    None), counted up to ``cap``. What a visitor is told about words (known or not, "did you
    mean", how often said) must count only the recordings they may search: a private
    recording's words are never evidence. A walk over the term's postings that jumps past each
    recording out of reach in one step (its documents are one run of numbers)."""
    if within is None:
        return int(searcher.doc_frequency(fieldname, text))
    found = 0
    for leaf, _ in searcher.leaf_searchers():
        reader = leaf.reader()
        if (fieldname, text) not in reader:
            continue
        ids = _recording_ids(reader)
        matcher = reader.postings(fieldname, text)
        while matcher.is_active():
            doc = matcher.id()
            if ids[doc] in within:
                found += 1
                if cap is not None and found >= cap:
                    return found
                matcher.next()
                continue
            after = ids.after_run(doc) if isinstance(ids, _Ranges) else None
            if after is None and isinstance(ids, _Ranges):
                break
            if after is not None and after > doc + 1:
                matcher.skip_to(after)
            else:
                matcher.next()
    return found


def is_said(searcher: Any, fieldname: str, text: str, within: Within) -> bool:
    """Whether a document of the recordings ``within`` holds the term."""
    return frequency(searcher, fieldname, text, within, cap=1) > 0


def ranked(
    searcher: Any,
    query: Query,
    limit: int,
    by_date: bool,
    within: Within = None,
    tally: Counter[bytes] | None = None,
) -> Any:
    """The best ``limit`` matches of ``query`` within the budget, or all of them newest
    first; only those of the recordings ``within``. With ``tally``, counts there the matches
    it looked at per recording."""
    if by_date:
        child = searcher.collector(limit=limit, sortedby="recorded", reverse=True)
        collector = _Bounded(child, None, within, tally)
    else:
        collector = _Bounded(searcher.collector(limit=limit), BUDGET, within, tally)
    searcher.search_with_collector(query, collector)
    results = collector.results()
    results.is_cut = collector.is_cut
    # The share of the matches looked at that the asker may see: an estimate of how many
    # match in the whole index is scaled by it, so no count reveals how often recordings out
    # of reach say the words.
    results.share = (
        collector.taken / collector.looked if within is not None and collector.looked else 1.0
    )
    return results


def scale(results: Any, tally: Counter[bytes]) -> float:
    """By how much to multiply what :func:`ranked` counted for the whole index: past the
    budget, what it looked at is an even sample of the index."""
    looked = sum(tally.values())
    return 1.0 if looked < BUDGET else max(1.0, estimate(results) / looked)


def estimate(results: Any) -> int:
    """How many documents match the query of ``results``, from its terms' document counts
    (the collector counts only what it looked at)."""
    share: float = getattr(results, "share", 1.0)
    return round(int(results.q.estimate_size(results.searcher.reader())) * share)
