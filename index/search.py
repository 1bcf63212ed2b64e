"""Index transcripts in Whoosh and search them.

Two kinds of document per recording: each caption cue (about a sentence), and passages of
consecutive cues 20-40 s long (:mod:`index.passages`), so the words of an idea spread over two
sentences are found together. A passage hit is reported as the tightest run of its sentences
that holds the matched words. The searcher is kept open and refreshed only when the index
changed; highlighting re-tokenizes only the sentences shown, with the terms the search matched.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import shutil
import threading
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh import sorting
from whoosh.analysis import StemmingAnalyzer
from whoosh.analysis.filters import STOP_WORDS
from whoosh.fields import ID, KEYWORD, NUMERIC, STORED, TEXT, Schema
from whoosh.highlight import HtmlFormatter, WholeFragmenter, get_text, highlight
from whoosh.lang.porter2 import stem as english_stem
from whoosh.query import And, NumericRange, Or, Phrase, Query, Term

from index.passages import build_passages, tightest_span
from index.query import ParsedQuery, parse_query, with_corrections
from index.semantic import SemanticIndex, fuse
from library.errors import QueryError
from library.models import Recording, RecordingId, SearchHit, SearchResults, Segment

# Whoosh's stop list is for written English; speech is full of fillers that match everywhere.
SPEECH_STOP_WORDS = frozenset(STOP_WORDS) | {
    "um", "uh", "erm", "er", "ah", "oh", "hmm", "mm", "yeah", "yes", "okay", "ok", "so",
    "like", "just", "really", "actually", "basically", "literally", "gonna", "wanna",
    "kinda", "sorta", "i", "i'm", "it's", "that's", "there's", "was", "were", "what", "about",
    "said", "they", "he", "she", "our", "my", "me", "them", "do", "did", "does", "going",
}  # fmt: skip
# A writer waits this long for another process's write lock before giving up (LockError).
_WRITE_TIMEOUT = 120.0
# At most this many hits of one recording, so the first page shows several recordings.
PER_RECORDING = 3
# How many documents are looked at to fill a page after de-duplication and the cap above.
_CANDIDATES = 8


def _schema(passages: bool = False) -> Schema:
    """Sentences (with the spelling words), or passages (with their sentences stored)."""
    extra = {"cues": STORED()} if passages else {}  # [[start, end, text], ...]
    return Schema(
        **extra,
        doc_id=ID(unique=True),
        recording_id=ID(stored=True),
        position=NUMERIC(stored=True),
        title=STORED(),
        event=STORED(),
        event_key=ID(),
        event_name=ID(),  # facet counts by the name as staff wrote it
        visibility=ID(stored=True),
        speakers=STORED(),
        speaker_key=KEYWORD(commas=True, lowercase=True),
        speaker_name=KEYWORD(commas=True),
        recorded=NUMERIC(stored=True, sortable=True),  # date.toordinal(); 0 when unknown
        start=STORED(),
        end=STORED(),
        text=TEXT(
            # Porter2 (Snowball English): "letting" -> "let", where Porter gives "lett".
            analyzer=StemmingAnalyzer(stemfn=english_stem, stoplist=SPEECH_STOP_WORDS),
            stored=True,
            chars=True,
            phrase=True,
            spelling=not passages,  # the unstemmed words, for "did you mean"
        ),
    )


_PASSAGES = "passages"  # the passages' index, beside the sentences' in the same directory


def _open(directory: Path, passages: bool) -> Any:
    name = _PASSAGES if passages else "MAIN"
    if whoosh_index.exists_in(str(directory), indexname=name):
        return whoosh_index.open_dir(str(directory), indexname=name)
    return whoosh_index.create_in(str(directory), _schema(passages), indexname=name)


class _MarkFormatter(HtmlFormatter):  # type: ignore[misc]
    """Matched words in a plain ``<mark>``, everything else HTML-escaped."""

    def format_token(self, text: str, token: Any, replace: bool = False) -> str:
        return f"<mark>{self._text(get_text(text, token, replace))}</mark>"


def _key(value: str) -> str:
    return " ".join(value.lower().split())


def _moment_key(recording_id: str, start: float) -> str:
    return f"{recording_id}@{start:.3f}"


@dataclass(frozen=True)
class _Found:
    hits: list[SearchHit]
    total: int
    matched: Query | None  # the query whose matches the hits are (for facet counts)
    exact: int  # how many of the hits have every word of the query near each other


@dataclass(frozen=True)
class SearchOptions:
    """What narrows or orders a search (all optional)."""

    event: str | None = None
    speaker: str | None = None
    visibilities: Collection[str] | None = None
    recorded_from: dt.date | None = None
    recorded_to: dt.date | None = None
    sort: str = "relevance"  # or "date": newest recording first
    per_recording: int = PER_RECORDING
    facets: bool = False


class TranscriptIndex:
    """The keyword index, and with ``semantic`` the sentence embeddings kept in step with it."""

    def __init__(self, directory: Path, semantic: SemanticIndex | None = None) -> None:
        self.directory = directory
        self.semantic = semantic
        directory.mkdir(parents=True, exist_ok=True)
        # Two indexes: sentences, searched first, and passages, searched only when the
        # sentences alone do not fill a page. Frequent words (most queries) then never walk
        # the passages' postings, which hold every sentence twice more.
        self._ix = _open(directory, passages=False)
        self._px = _open(directory, passages=True)
        self._analyzer = self._ix.schema["text"].analyzer
        # An index written by another Recall version has other fields: it is rebuilt.
        self.is_current = set(_schema().names()) == set(self._ix.schema.names()) and set(
            _schema(passages=True).names()
        ) == set(self._px.schema.names())
        # A searcher per thread (Whoosh's rule), kept open and refreshed when stale.
        self._local = threading.local()
        self._searchers: set[Any] = set()
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            for searcher in self._searchers:
                searcher.close()
            self._searchers.clear()
        self._local = threading.local()
        self._ix.close()
        self._px.close()

    # -- writing ----------------------------------------------------------------------------

    def _writer(self, passages: bool = False) -> Any:
        # compound=False: a searcher maps segment files instead of copying them into memory.
        ix = self._px if passages else self._ix
        return ix.writer(timeout=_WRITE_TIMEOUT, delay=0.25, compound=False)

    @staticmethod
    def _documents(
        recording: Recording, segments: Sequence[Segment], passages: bool = False
    ) -> Iterable[dict[str, Any]]:
        """The sentences' documents, or with ``passages`` the passages'."""
        meta = recording.meta
        common = {
            "recording_id": recording.id,
            "title": meta.title,
            "event": meta.event,
            "event_key": _key(meta.event),
            "event_name": meta.event,
            "visibility": meta.visibility.value,
            "speakers": list(meta.speakers),
            "speaker_key": ",".join(_key(s) for s in meta.speakers),
            "speaker_name": ",".join(s.replace(",", " ") for s in meta.speakers),
            "recorded": meta.recorded_on.toordinal() if meta.recorded_on else 0,
        }
        if not passages:
            for position, segment in enumerate(segments):
                yield common | {
                    "doc_id": f"{recording.id}/c{position}",
                    "position": position,
                    "start": segment.start,
                    "end": segment.end,
                    "text": segment.text,
                }
            return
        for passage in build_passages(segments):
            cues = segments[passage.first : passage.last + 1]
            yield common | {
                "doc_id": f"{recording.id}/p{passage.first}",
                "position": passage.first,
                "start": passage.start,
                "end": passage.end,
                "cues": [[c.start, c.end, c.text] for c in cues],
                "text": " ".join(c.text.strip() for c in cues),
            }

    def index_recording(self, recording: Recording, segments: Sequence[Segment]) -> None:
        """Add or replace one recording's cues and passages. Raises whoosh's LockError."""
        for passages in (False, True):
            with self._writer(passages) as writer:
                writer.delete_by_term("recording_id", recording.id)
                for doc in self._documents(recording, segments, passages):
                    writer.add_document(**doc)
        if self.semantic is not None:
            self.semantic.index_recording(recording.id, list(segments))

    def remove_recording(self, recording_id: str) -> None:
        for passages in (False, True):
            with self._writer(passages) as writer:
                writer.delete_by_term("recording_id", recording_id)
        if self.semantic is not None:
            self.semantic.remove_recording(recording_id)

    def optimize(self) -> None:
        """Merge into one segment (fast spelling and prefix queries); off the request path."""
        self._ix.optimize()
        self._px.optimize()

    def document_count(self) -> int:
        """Sentences and passages."""
        return int(self._ix.doc_count()) + int(self._px.doc_count())

    # -- searching --------------------------------------------------------------------------

    def _current_searcher(self, passages: bool = False) -> Any:
        name = "passages" if passages else "sentences"
        searcher = getattr(self._local, name, None)
        if searcher is not None and searcher.up_to_date():
            return searcher
        # A new searcher, not refresh(): refreshed searchers share segment readers with the
        # old one, which could then never be closed.
        fresh = (self._px if passages else self._ix).searcher()
        with self._lock:
            if searcher is not None:
                self._searchers.discard(searcher)
                searcher.close()
            self._searchers.add(fresh)
        setattr(self._local, name, fresh)
        return fresh

    def _terms(self, words: Iterable[str]) -> list[str]:
        return [t.text for w in words for t in self._analyzer(w)]

    def _clauses(self, parsed: ParsedQuery) -> list[Query]:
        """A Phrase for each quoted phrase and each word that analyses to several terms
        ("follow-up": both parts, next to each other), a Term for the rest."""
        clauses: list[Query] = []
        for group in [*parsed.phrases, *((word,) for word in parsed.words)]:
            terms = self._terms(group)
            if len(terms) > 1:
                clauses.append(Phrase("text", terms))
            elif terms:
                clauses.append(Term("text", terms[0]))
        return clauses

    def _corrections(self, searcher: Any, parsed: ParsedQuery) -> dict[str, str]:
        """Misspelled words -> the index's own nearest word. Short words are left alone (too
        many near neighbours), and a correction keeps the first letter."""
        corrector = searcher.corrector("text")
        fixes: dict[str, str] = {}
        for word in {w for group in (*parsed.phrases, parsed.words) for w in group}:
            terms = self._terms([word])
            if len(word) < 5 or not terms or any(searcher.doc_frequency("text", t) for t in terms):
                continue
            # prefix=1: only words with the same first letter are compared, which keeps the
            # lookup from scanning the whole vocabulary (20 ms a word at 32 h without it).
            distance = 1 if len(word) < 8 else 2
            suggestions = corrector.suggest(word, limit=1, maxdist=distance, prefix=1)
            if suggestions:
                fixes[word] = suggestions[0]
        return fixes

    def _filters(self, options: SearchOptions) -> list[Query]:
        filters: list[Query] = []
        if options.event:
            filters.append(Term("event_key", _key(options.event)))
        if options.speaker:
            filters.append(Term("speaker_key", _key(options.speaker)))
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
        or one passage), then those that say most of them; a misspelled word is corrected
        from the index's own words when the query as typed finds nothing.

        Raises :class:`QueryError` when nothing searchable is left of the query.
        """
        if options is None:
            options = SearchOptions(event=event, speaker=speaker, visibilities=visibilities)
        parsed = parse_query(query)
        clauses = self._clauses(parsed)
        if not clauses:
            raise QueryError(query, "nothing to search for (only common words or punctuation)")
        searcher = self._current_searcher()
        fixes = self._corrections(searcher, parsed)
        suggestion = with_corrections(parsed, fixes) if fixes else ""
        filters = self._filters(options)
        found = self._run(searcher, clauses, filters, limit, options)
        corrected = False
        if not found.hits and fixes:
            fixed = self._run(
                searcher, self._clauses(parse_query(suggestion)), filters, limit, options
            )
            found, corrected = fixed, bool(fixed.hits)
        facets = {}
        if options.facets and found.matched is not None:
            facets = self._facets(searcher, found.matched, filters)
        hits, total = found.hits, found.total
        if self.semantic is not None and options.sort == "relevance":
            topic = with_corrections(parse_query(suggestion) if corrected else parsed, {})
            hits = self._with_meaning(searcher, topic, found, filters, limit, options)
            total = max(total, len(hits))
        return SearchResults(query, total, tuple(hits), suggestion, corrected, facets)

    def _with_meaning(
        self,
        searcher: Any,
        topic: str,
        found: _Found,
        filters: list[Query],
        limit: int,
        options: SearchOptions,
    ) -> list[SearchHit]:
        """Moments with every word of the query stay first; after them, the other keyword
        hits fused (reciprocal rank fusion) with the sentences closest in meaning, so
        paraphrases find the moment and moments found both ways rank higher."""
        assert self.semantic is not None
        hits = found.hits
        allowed = self._recordings(searcher, filters)
        matches = self.semantic.search(topic, allowed, limit * _CANDIDATES)
        by_key = {_moment_key(h.recording_id, h.start): h for h in hits}
        terms = set(self._terms(topic.split()))
        meaning: list[str] = []
        for match in matches:
            # Its sentences, each read once: one, or a passage's.
            docs = [
                searcher.document(doc_id=f"{match.recording_id}/c{i}")
                for i in range(match.first, match.last + 1)
            ]
            if any(d is None for d in docs):
                continue
            doc = {**docs[0], "text": " ".join(d["text"].strip() for d in docs)}
            start, end = float(docs[0]["start"]), float(docs[-1]["end"])
            # The same moment as a keyword hit (a sentence inside its span) is that hit.
            same = next(
                (h for h in hits if h.recording_id == match.recording_id
                 and h.start <= start < h.end + 0.01),
                None,
            )  # fmt: skip
            key = _moment_key(match.recording_id, same.start if same else start)
            if key not in by_key:
                by_key[key] = SearchHit(
                    recording_id=RecordingId(match.recording_id),
                    title=doc["title"],
                    start=start,
                    end=end,
                    text=doc["text"],
                    snippet=self._snippet(doc["text"], terms),
                    event=doc.get("event", ""),
                    speakers=tuple(doc.get("speakers", ())),
                    score=match.score,
                )
            meaning.append(key)
        exact = [_moment_key(h.recording_id, h.start) for h in hits[: found.exact]]
        keywords = [_moment_key(h.recording_id, h.start) for h in hits[found.exact :]]
        fused: list[SearchHit] = []
        count: dict[str, int] = {}
        rest = [key for key in fuse([keywords, meaning]) if key not in exact]
        for key in exact + rest:
            hit = by_key[key]
            rid = hit.recording_id
            if count.get(rid, 0) < options.per_recording:
                count[rid] = count.get(rid, 0) + 1
                fused.append(hit)
            if len(fused) == limit:
                break
        return fused

    def _recordings(self, searcher: Any, filters: list[Query]) -> list[str]:
        """The recordings a search may show, after its filters (visibility, event, ...)."""
        if not filters:
            return [t.decode() for t in searcher.lexicon("recording_id")]
        results = searcher.search(
            And(filters),
            limit=1,
            groupedby=sorting.FieldFacet("recording_id"),
            maptype=sorting.Count,
        )
        return [str(k) for k in results.groups("recording_id")]

    def _run(
        self,
        searcher: Any,
        clauses: list[Query],
        filters: list[Query],
        limit: int,
        options: SearchOptions,
    ) -> _Found:
        """Moments with all terms near each other first, then those with most of them."""
        strict = And([And(clauses), *filters])
        wanted = limit * _CANDIDATES
        sort = {"sortedby": "recorded", "reverse": True} if options.sort == "date" else {}
        results = searcher.search(strict, limit=wanted, terms=True, **sort)
        hits = self._hits(results, limit, options.per_recording)
        total = self._count(results, wanted)
        if len(hits) < limit:  # the words may be said together across sentences
            passages = self._current_searcher(passages=True)
            spread = passages.search(strict, limit=wanted, terms=True, **sort)
            hits += self._hits(spread, limit, options.per_recording, hits)
            total += self._count(spread, wanted)
        matched: Query | None = strict if hits else None
        exact = len(hits)
        if len(hits) < limit and len(clauses) > 1 and self._all_known(searcher, clauses):
            # Most of the words: at least half of them, more matched ranking higher.
            need = math.ceil(len(clauses) / 2)
            loose = And([Or(clauses, minmatch=need, scale=0.9), *filters])
            more = searcher.search(loose, limit=wanted, terms=True, **sort)
            seen = {(h.recording_id, h.start) for h in hits}
            extra = [
                h
                for h in self._hits(more, limit, options.per_recording, hits)
                if (h.recording_id, h.start) not in seen
            ]
            hits = (hits + extra)[:limit]
            total = max(total, self._count(more, wanted))
            if hits:  # facets count what the page shows: the loose query holds the strict one
                matched = loose
        return _Found(hits, total, matched, exact)

    @staticmethod
    def _all_known(searcher: Any, clauses: list[Query]) -> bool:
        """Whether every word of the query is said somewhere. A word no recording contains
        marks a topic the library does not hold ("climate change"): answering with the other
        words alone ("change") would be noise, so only moments with all words count then."""
        return all(
            searcher.doc_frequency("text", term)
            for clause in clauses
            for term in (clause.words if isinstance(clause, Phrase) else [clause.text])
        )

    @staticmethod
    def _count(results: Any, wanted: int) -> int:
        # An exact count would score every match: an estimate when there are many.
        scored = int(results.scored_length())
        return scored if scored < wanted else max(scored, int(results.estimated_length()))

    def _hits(
        self,
        results: Any,
        limit: int,
        per_recording: int,
        already: Sequence[SearchHit] = (),
    ) -> list[SearchHit]:
        """Hits from matching documents: de-duplicated (a passage and the sentence inside it
        are one moment), at most ``per_recording`` of each recording."""
        hits: list[SearchHit] = []
        seen: set[tuple[str, float]] = {(h.recording_id, h.start) for h in already}
        count: dict[str, int] = {}
        for h in already:
            count[h.recording_id] = count.get(h.recording_id, 0) + 1
        for result in results:
            fields = result.fields()
            rid = fields["recording_id"]
            if count.get(rid, 0) >= per_recording:
                continue
            terms = {t.decode("utf-8") for f, t in (result.matched_terms() or ()) if f == "text"}
            start, end, text = self._moment(fields, terms)
            if (rid, start) in seen:
                continue
            seen.add((rid, start))
            count[rid] = count.get(rid, 0) + 1
            hits.append(
                SearchHit(
                    recording_id=RecordingId(rid),
                    title=fields["title"],
                    start=start,
                    end=end,
                    text=text,
                    snippet=self._snippet(text, terms),
                    event=fields.get("event", ""),
                    speakers=tuple(fields.get("speakers", ())),
                    score=float(result.score or 0.0),
                )
            )
            if len(hits) + len(already) >= limit:
                break
        return hits

    def _moment(self, fields: dict[str, Any], terms: set[str]) -> tuple[float, float, str]:
        """A cue as it is; a passage narrowed to its tightest run of sentences."""
        cues = fields.get("cues")
        if not cues:
            return float(fields["start"]), float(fields["end"]), fields["text"]
        first, last = tightest_span([set(self._terms([c[2]])) for c in cues], terms)
        text = " ".join(c[2].strip() for c in cues[first : last + 1])
        return float(cues[first][0]), float(cues[last][1]), text

    def _snippet(self, text: str, terms: set[str]) -> str:
        marked = highlight(text, terms, self._analyzer, WholeFragmenter(), _MarkFormatter(), top=1)
        return marked or html.escape(text, quote=False)

    def _facets(
        self, searcher: Any, matched: Query, filters: list[Query]
    ) -> dict[str, dict[str, int]]:
        """Moments (sentences) per event and per speaker among everything that matched."""
        facets = {
            "event": sorting.FieldFacet("event_name"),
            "speaker": sorting.FieldFacet("speaker_name", allow_overlap=True),
        }
        results = searcher.search(matched, limit=1, groupedby=facets, maptype=sorting.Count)
        found: dict[str, dict[str, int]] = {}
        for name in facets:
            groups = results.groups(name)
            counts = {str(k): int(v) for k, v in groups.items() if k}
            found[name] = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
        return found


def rebuild_index(
    directory: Path,
    transcripts: Iterable[tuple[Recording, Sequence[Segment]]],
    semantic: SemanticIndex | None = None,
) -> int:
    """Build a fresh index beside ``directory`` from ``transcripts``, then swap it in.
    With ``semantic``, recordings whose sentences were never embedded are embedded too.

    Searchers open on the old index keep working until they refresh. Returns the number of
    recordings indexed.
    """
    fresh = directory.with_name(directory.name + ".new")
    old = directory.with_name(directory.name + ".old")
    shutil.rmtree(fresh, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)
    index = TranscriptIndex(fresh)
    count = 0
    with index._writer() as sentences, index._writer(passages=True) as passages:
        for recording, segments in transcripts:
            for doc in index._documents(recording, segments):
                sentences.add_document(**doc)
            for doc in index._documents(recording, segments, passages=True):
                passages.add_document(**doc)
            if semantic is not None and not semantic.has(recording.id):
                semantic.index_recording(recording.id, list(segments))
            count += 1
    index.close()
    if directory.exists():
        directory.rename(old)
    fresh.rename(directory)
    shutil.rmtree(old, ignore_errors=True)
    return count
