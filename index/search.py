"""Index transcripts in Whoosh and search them.

Two kinds of document per recording (:mod:`index.schema`): each sentence, and passages of
consecutive sentences 20-40 s long, so the words of an idea spread over two sentences are
found together. A search looks for every word near each other first, then for most of them
(:mod:`index.matching`); the moments found are de-duplicated, capped per recording and
highlighted (:mod:`index.hits`), then fused with the sentences closest in meaning when
semantic search is on (:mod:`index.fusion`). The searcher is kept open and refreshed only
when the index changed.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from whoosh.query import And, NumericRange, Or, Query, Term

from index import counting, matching, postings, recordings, spelling
from index.fusion import with_meaning
from index.hits import PER_RECORDING, Found
from index.memo import PerReader
from index.moments import Ask, Scope, find
from index.query import ParsedQuery, parse_query, with_corrections
from index.schema import (
    built_for,
    documents,
    index_key,
    index_terms,
    open_index,
    schema,
)
from index.scoring import MemoryBM25F
from index.semantic import SemanticIndex
from library.errors import QueryError
from library.models import Publish, Recording, RecordingMatch, SearchResults, Segment

postings.install()

# A query longer than this, or with more distinct words and phrases, is refused: no one types
# it, and each word is a clause of the query (a pasted page would cost a search per word).
MAX_QUERY_CHARS = 500
MAX_QUERY_WORDS = 32
# Pages beyond this are not offered: no one reads 50 pages of moments.
MAX_PAGE = 50

# A writer waits this long for another process's write lock before giving up (LockError).
_WRITE_TIMEOUT = 120.0


@dataclass(frozen=True)
class SearchOptions:
    """What narrows or orders a search (all optional)."""

    event: str | None = None
    speaker: str | None = None
    tag: str | None = None
    visibilities: Collection[str] | None = None
    recorded_from: dt.date | None = None
    recorded_to: dt.date | None = None
    sort: str = "relevance"  # or "date": newest recording first
    per_recording: int = PER_RECORDING
    facets: bool = False
    page: int = 1  # pages of ``limit`` moments
    recording: str | None = None  # only this recording's moments


class TranscriptIndex:
    """The keyword index, and with ``semantic`` the sentence embeddings kept in step with it."""

    def __init__(
        self,
        directory: Path,
        semantic: SemanticIndex | None = None,
        publish: Publish = Publish.IMMEDIATELY,
    ) -> None:
        self.directory = directory
        self.semantic = semantic
        # [library] publish: decides the visibility unreviewed transcripts are indexed with.
        self.publish = publish
        directory.mkdir(parents=True, exist_ok=True)
        # Two indexes: sentences, searched first, and passages, searched only when the
        # sentences alone do not fill a page. Frequent words (most queries) then never walk
        # the passages' postings, which hold every sentence twice more.
        self._ix = open_index(directory, passages=False)
        self._px = open_index(directory, passages=True)
        # And one document per recording, its metadata (index.recordings).
        had_recordings = recordings.exists(directory)
        self._rx = recordings.open_recordings(directory)
        # An index written by another Recall version has other fields: it is rebuilt.
        # So is one whose documents' visibility was made under another [library] publish:
        # switching to "after review" must hide unreviewed words at once, not after a reindex.
        self.is_current = (
            set(schema().names()) == set(self._ix.schema.names())
            and set(schema(passages=True).names()) == set(self._px.schema.names())
            and built_for(directory) == publish
        )
        self.is_current &= (had_recordings or self._ix.is_empty()) and set(
            recordings.schema().names()
        ) == set(self._rx.schema.names())
        # Scores as BM25F, with each segment's field lengths read once into memory.
        self._weighting = MemoryBM25F()
        # A searcher per thread (Whoosh's rule), kept open and refreshed when stale.
        self._local = threading.local()
        self._searchers: set[Any] = set()
        self._lock = threading.Lock()
        # Per searcher: the recordings each set of filters allows (the same few sets,
        # visibility above all, on every search). The last 64 sets only: a visitor may send
        # any date or event, and each set's ids (up to every one) would stay.
        self._allowed: PerReader[frozenset[bytes]] = PerReader(most=64)

    def close(self) -> None:
        with self._lock:
            for searcher in self._searchers:
                searcher.close()
            self._searchers.clear()
        self._local = threading.local()
        self._ix.close()
        self._px.close()
        self._rx.close()

    # -- writing ----------------------------------------------------------------------------

    def _writer(self, passages: bool = False, metadata: bool = False) -> Any:
        # compound=False: a searcher maps segment files instead of copying them into memory.
        ix = self._rx if metadata else self._px if passages else self._ix
        return ix.writer(timeout=_WRITE_TIMEOUT, delay=0.25, compound=False)

    def index_recording(self, recording: Recording, segments: Sequence[Segment]) -> None:
        """Add or replace one recording's sentences and passages. Raises whoosh's LockError."""
        for passages in (False, True):
            with self._writer(passages) as writer:
                writer.delete_by_term("recording_id", recording.id)
                for doc in documents(recording, segments, passages, self.publish):
                    writer.add_document(**doc)
        with self._writer(metadata=True) as writer:
            recordings.write(writer, recording)
        if self.semantic is not None:
            self.semantic.index_recording(recording.id, list(segments))

    def remove_recording(self, recording_id: str) -> None:
        for passages in (False, True):
            with self._writer(passages) as writer:
                writer.delete_by_term("recording_id", recording_id)
        with self._writer(metadata=True) as writer:
            writer.delete_by_term("recording_id", recording_id)
        if self.semantic is not None:
            self.semantic.remove_recording(recording_id)

    def optimize(self) -> None:
        """Merge into one segment (fast spelling and prefix queries); off the request path.
        An index already in one segment without deletions is left as it is (Whoosh would
        rewrite it all)."""
        for ix in (self._ix, self._px):
            segments = ix._segments()
            if len(segments) > 1 or any(s.has_deletions() for s in segments):
                ix.optimize()

    def document_count(self) -> int:
        """Sentences and passages."""
        return int(self._ix.doc_count()) + int(self._px.doc_count())

    # -- searching --------------------------------------------------------------------------

    def _current_searcher(self, passages: bool = False, metadata: bool = False) -> Any:
        name = "metadata" if metadata else "passages" if passages else "sentences"
        searcher = getattr(self._local, name, None)
        if searcher is not None and searcher.up_to_date():
            return searcher
        # A new searcher, not refresh(): refreshed searchers share segment readers with the
        # old one, which could then never be closed.
        if metadata:
            fresh = self._rx.searcher()
        else:
            fresh = (self._px if passages else self._ix).searcher(weighting=self._weighting)
        with self._lock:
            if searcher is not None:
                self._searchers.discard(searcher)
                searcher.close()
            self._searchers.add(fresh)
        setattr(self._local, name, fresh)
        return fresh

    def _clauses(self, parsed: ParsedQuery, labels: dict[str, str] | None = None) -> list[Query]:
        """A phrase for each quoted phrase and each word that analyses to several terms
        ("follow-up": both parts, next to each other), a Term for the rest. ``labels`` gets
        each clause's words as typed."""
        clauses: list[Query] = []
        for group in [*parsed.phrases, *((word,) for word in parsed.words)]:
            terms = [term for word in group for term in index_terms(word)]
            clause = (
                matching.phrase(terms)
                if len(terms) > 1
                else Term("text", terms[0])
                if terms
                else None
            )
            if clause is not None and clause not in clauses:  # a word said twice counts once
                clauses.append(clause)
                if labels is not None:
                    labels[repr(clause)] = " ".join(group)
        return clauses

    def _filters(self, options: SearchOptions) -> list[Query]:
        filters: list[Query] = []
        if options.event:
            filters.append(Term("event_key", index_key(options.event)))
        if options.speaker:
            filters.append(Term("speaker_key", index_key(options.speaker)))
        if options.tag:
            filters.append(Term("tag_key", index_key(options.tag)))
        if options.recording:
            filters.append(Term("recording_id", options.recording))
        if options.visibilities is not None:
            filters.append(Or([Term("visibility", v) for v in options.visibilities]))
        if options.recorded_from or options.recorded_to:
            low = options.recorded_from.toordinal() if options.recorded_from else 1
            high = options.recorded_to.toordinal() if options.recorded_to else None
            filters.append(NumericRange("recorded", low, high))
        return filters

    def search(
        self,
        query: str,
        *,
        limit: int = 10,
        event: str | None = None,
        speaker: str | None = None,
        visibilities: Collection[str] | None = None,
        options: SearchOptions | None = None,
    ) -> SearchResults:
        """Moments that say all of the query's words near each other first (in one sentence
        or one passage), then those that say most of them (naming the words they lack); a
        misspelled word is corrected from the index's own words when the query as typed finds
        nothing. ``options.page`` picks a page of ``limit`` moments; the first page also lists
        the recordings whose metadata holds the words.

        Raises :class:`QueryError` when nothing searchable is left of the query.
        """
        if options is None:
            options = SearchOptions(event=event, speaker=speaker, visibilities=visibilities)
        if len(query) > MAX_QUERY_CHARS:
            raise QueryError(query[:40] + "…", f"too long (at most {MAX_QUERY_CHARS} characters)")
        parsed = parse_query(query)
        clauses = self._clauses(parsed)
        if not clauses:
            raise QueryError(query, "nothing to search for (only common words or punctuation)")
        if len(clauses) > MAX_QUERY_WORDS:
            raise QueryError(
                query[:40] + "…", f"too many different words (at most {MAX_QUERY_WORDS})"
            )
        searcher = self._current_searcher()
        filters = self._filters(options)
        # What the asker may search at all: the words of other recordings are never evidence
        # for a suggestion, a correction or a count.
        allowed = self._reachable(searcher, options)
        fixes = spelling.corrections(searcher, parsed, allowed)
        suggestion = with_corrections(parsed, fixes) if fixes else ""
        scope = self._split_filters(searcher, filters)
        page = max(1, min(options.page, MAX_PAGE))
        # Every page up to the one asked for, and one moment more: whether a next one exists.
        wanted = limit * page + 1
        searchers = (searcher, self._current_searcher(passages=True))

        def run(parsed: ParsedQuery, loose: bool) -> Found:
            labels: dict[str, str] = {}
            clauses = self._clauses(parsed, labels)
            ask = Ask(clauses, labels, wanted, options.per_recording, options.sort == "date", loose)
            return find(searchers, ask, scope, allowed)

        # A misspelled word is corrected before moments with only some of the words are
        # offered: "breakout roms" means "breakout rooms", not "breakout".
        found, corrected = run(parsed, loose=not fixes), False
        if not found.hits and fixes:
            fixed = run(parse_query(suggestion), loose=True)
            found, corrected = fixed, bool(fixed.hits)
            if not corrected:
                found = run(parsed, loose=True)
        facets = {}
        if options.facets and found.counted is not None:
            facets = counting.facets(searcher, *found.counted)
        hits, total = found.hits, found.total
        words = [w for group in (*parsed.phrases, parsed.words) for w in group]
        by_metadata = self._by_metadata(words, fixes, options) if page == 1 else ()
        # Moments with every word come first whatever meaning adds: when they fill the pages
        # asked for, the query need not be embedded at all.
        if self.semantic is not None and options.sort == "relevance" and found.exact < wanted:
            topic = with_corrections(parse_query(suggestion) if corrected else parsed, {})
            shown = self._recordings(searcher, filters)
            hits = with_meaning(
                self.semantic, searcher, topic, found, shown, wanted, options.per_recording
            )
            total = max(total, len(hits))
        pages = max(page if hits[limit * (page - 1) :] else 1, math.ceil(total / limit))
        if len(hits) > limit * page:
            pages = max(pages, page + 1)
        related = () if hits else tuple(spelling.related(searcher, words, allowed))
        return SearchResults(
            query, total, tuple(hits[limit * (page - 1) : limit * page]), suggestion, corrected,
            facets, by_metadata,
            found.estimated, found.per_recording, page, min(pages, MAX_PAGE), related,
        )  # fmt: skip

    def _by_metadata(
        self, words: list[str], fixes: dict[str, str], options: SearchOptions
    ) -> tuple[RecordingMatch, ...]:
        """The recordings whose metadata holds the query's words (or their corrections), of
        those the asker may search, narrowed by the search's event, speaker and tag."""
        searcher = self._current_searcher(metadata=True)
        found = recordings.search(searcher, words, options.visibilities)
        if not found and fixes:
            found = recordings.search(
                searcher, [fixes.get(w, w) for w in words], options.visibilities
            )
        return tuple(m for m in found if counting.within_options(m, options))

    def _reachable(self, searcher: Any, options: SearchOptions) -> matching.Within:
        """The recordings the asker may search (by visibility), None for all of them."""
        if options.visibilities is None:
            return None
        return self._recordings_passing(
            searcher, [Or([Term("visibility", v) for v in options.visibilities])]
        )

    def _recordings(self, searcher: Any, filters: list[Query]) -> list[str]:
        """The recordings a search may show, after its filters (visibility, event, ...)."""
        if not filters:
            every = self._allowed.get(
                searcher, "every", lambda: frozenset(searcher.lexicon("recording_id"))
            )
            return sorted(rid.decode() for rid in every)
        return sorted(rid.decode() for rid in self._recordings_passing(searcher, filters))

    def _recordings_passing(self, searcher: Any, filters: list[Query]) -> frozenset[bytes]:
        """The recordings ``filters`` allow, found once per searcher (the same few sets of
        filters, visibility above all, come with every search)."""
        return self._allowed.get(
            searcher, repr(filters), lambda: matching.recordings_where(searcher, And(filters))
        )

    def _split_filters(self, searcher: Any, filters: list[Query]) -> Scope:
        """Filters that keep a small part of the index stay in the query, where they make
        matching cheaper. Those that keep most of it (visibility, as a rule) become the set of
        recordings they allow, checked per match: intersecting with a list of nearly every
        document would walk all of it on every search."""
        half = searcher.doc_count_all() / 2
        narrow: list[Query] = []
        broad: list[Query] = []
        for condition in filters:
            wide = condition.estimate_size(searcher.reader()) > half
            (broad if wide else narrow).append(condition)
        return Scope(narrow, self._recordings_passing(searcher, broad) if broad else None)
