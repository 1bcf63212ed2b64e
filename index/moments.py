"""Finding the moments of one query: every word near each other first (a sentence, then a
passage), then, where those do not fill the page, moments with most of the words, each
naming the words it lacks. Counts add up: the total is the moments that exist (exact while
the search saw every match, else an estimate that says so), and the moments per recording
are counted the same way, so facets and "all 12 moments in this recording" agree with it.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

from whoosh.query import And, Or, Query

from index import matching
from index.hits import CANDIDATES, Found, count, make_hits
from index.schema import index_terms
from library.models import SearchHit


@dataclass(frozen=True)
class Scope:
    narrow: list[Query]  # filters that are part of the query
    within: matching.Within  # the recordings the other filters allow (None: no others)


@dataclass(frozen=True)
class Ask:
    """One search's clauses and how it wants them: its page size, cap per recording, order."""

    clauses: list[Query]
    labels: dict[str, str]  # repr(clause) -> the words as typed, to name what a hit lacks
    limit: int
    per_recording: int
    by_date: bool
    # Whether moments with only some of the words may fill the page.
    loose: bool = True


def find(
    searchers: tuple[Any, Any],
    ask: Ask,
    scope: Scope,
    allowed: matching.Within,
) -> Found:
    """Moments with all terms near each other first, then those with most of them."""
    searcher, passages = searchers
    clauses, limit, per_recording, by_date = ask.clauses, ask.limit, ask.per_recording, ask.by_date
    filters, within = scope.narrow, scope.within
    strict = And([And(clauses), *filters])
    wanted = limit * CANDIDATES
    # The query's own terms mark the words of a hit: every clause is a plain term or a
    # phrase, so a document matches exactly the query terms it contains. (terms=True
    # would record them for every matching document, most of which are never shown.)
    terms = {t for clause in clauses for t in matching.words(clause)}
    # A phrase of three words or more is every two of them next to each other: its
    # order is checked in each hit's own words.
    phrases = [matching.phrase_words(c) for c in clauses if len(matching.leaves(c)) > 1]
    tally: Counter[bytes] = Counter()
    results = matching.ranked(searcher, strict, wanted, by_date, within, tally)
    hits = make_hits(results, limit, per_recording, terms, phrases=phrases)
    estimated = bool(getattr(results, "is_cut", False))
    total = count(results, wanted) if estimated else sum(tally.values())
    if len(hits) < limit:  # the words may be said together across sentences
        spread = matching.ranked(passages, strict, wanted, by_date, within)
        more = make_hits(spread, limit, per_recording, terms, hits, phrases)
        # Only the moments the sentences did not already hold are new ones.
        for hit in more:
            tally[hit.recording_id.encode()] += 1
        hits += more
        total += len(more)
    counted = (results, tally) if hits else None
    exact = len(hits)
    known = [c for c in clauses if _is_known(searcher, c, allowed)]
    if ask.loose and len(hits) < limit and len(clauses) > 1 and known:
        # Most of the words: at least half of them, more matched ranking higher; words said
        # nowhere the asker may search cannot match, and are named as missing.
        need = math.ceil(len(clauses) / 2)
        if len(known) >= need:
            loose = And([Or(known, minmatch=need, scale=0.9), *filters])
            loose_tally: Counter[bytes] = Counter()
            found = matching.ranked(searcher, loose, wanted, by_date, within, loose_tally)
            seen = {(h.recording_id, h.start) for h in hits}
            extra = [
                _lacking(h, clauses, ask.labels)
                for h in make_hits(found, limit, per_recording, terms, hits)
                if (h.recording_id, h.start) not in seen
            ]
            hits = (hits + extra)[:limit]
            cut = bool(getattr(found, "is_cut", False))
            loose_total = count(found, wanted) if cut else sum(loose_tally.values())
            if loose_total > total:
                total, estimated = loose_total, estimated or cut
                # Facets count what the page shows: the loose query holds the strict one.
                if extra:
                    counted = (found, loose_tally)
    per = {rid.decode(): n for rid, n in (counted[1] if counted else Counter()).items()}
    return Found(hits, total, counted, exact, estimated, per)


def _is_known(searcher: Any, clause: Query, allowed: matching.Within) -> bool:
    return all(
        matching.is_said(searcher, term.fieldname, term.text, allowed)
        for term in matching.leaves(clause)
    )


def all_known(searcher: Any, clauses: list[Query], allowed: matching.Within) -> bool:
    """Whether every word of the query is said somewhere the asker may search. (Said only
    where the asker may not search is the same as not said: otherwise whether there is an
    answer would tell them.)"""
    return all(_is_known(searcher, c, allowed) for c in clauses)


def _lacking(hit: SearchHit, clauses: list[Query], labels: dict[str, str]) -> SearchHit:
    """A hit with some of the words, naming the words of the query it does not say."""
    hit_terms = set(index_terms(hit.text))
    missing = tuple(
        labels.get(repr(c), " ".join(matching.words(c)))
        for c in clauses
        if not set(matching.words(c)) <= hit_terms
    )
    return dataclasses.replace(hit, missing=missing)
