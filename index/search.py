"""Index transcripts in Whoosh and search them.

One document per caption cue. The searcher is kept open and refreshed only when the index
changed (opening one per query costs 3-300 ms, see the measured notes); highlighting uses the
stored character offsets (``chars=True``) and the terms the search matched (``terms=True``),
so no hit is re-tokenized or re-expanded.
"""

from __future__ import annotations

import html
import shutil
import threading
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.analysis import StemmingAnalyzer
from whoosh.analysis.filters import STOP_WORDS
from whoosh.fields import ID, KEYWORD, NUMERIC, STORED, TEXT, Schema
from whoosh.highlight import HtmlFormatter, WholeFragmenter, get_text
from whoosh.lang.porter2 import stem as english_stem
from whoosh.query import And, Or, Phrase, Query, Term

from index.query import ParsedQuery, parse_query
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


def _schema() -> Schema:
    return Schema(
        doc_id=ID(unique=True),
        recording_id=ID(stored=True),
        position=NUMERIC(stored=True),
        title=STORED(),
        event=STORED(),
        event_key=ID(),
        visibility=ID(stored=True),
        speakers=STORED(),
        speaker_key=KEYWORD(commas=True, lowercase=True),
        start=STORED(),
        end=STORED(),
        text=TEXT(
            # Porter2 (Snowball English): "letting" -> "let", where Porter gives "lett".
            analyzer=StemmingAnalyzer(stemfn=english_stem, stoplist=SPEECH_STOP_WORDS),
            stored=True,
            chars=True,
            phrase=True,
        ),
    )


class _MarkFormatter(HtmlFormatter):  # type: ignore[misc]
    """Matched words in a plain ``<mark>``, everything else HTML-escaped."""

    def format_token(self, text: str, token: Any, replace: bool = False) -> str:
        return f"<mark>{self._text(get_text(text, token, replace))}</mark>"


def _key(value: str) -> str:
    return " ".join(value.lower().split())


class TranscriptIndex:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        if whoosh_index.exists_in(str(directory)):
            self._ix = whoosh_index.open_dir(str(directory))
        else:
            self._ix = whoosh_index.create_in(str(directory), _schema())
        self._analyzer = self._ix.schema["text"].analyzer
        # An index written by an older Recall lacks fields this one filters on.
        self.is_current = set(_schema().names()) <= set(self._ix.schema.names())
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

    # -- writing ----------------------------------------------------------------------------

    def _writer(self) -> Any:
        # compound=False: a searcher maps segment files instead of copying them into memory.
        return self._ix.writer(timeout=_WRITE_TIMEOUT, delay=0.25, compound=False)

    @staticmethod
    def _documents(recording: Recording, segments: Sequence[Segment]) -> Iterable[dict[str, Any]]:
        meta = recording.meta
        for position, segment in enumerate(segments):
            yield {
                "doc_id": f"{recording.id}/{position}",
                "recording_id": recording.id,
                "position": position,
                "title": meta.title,
                "event": meta.event,
                "event_key": _key(meta.event),
                "visibility": meta.visibility.value,
                "speakers": list(meta.speakers),
                "speaker_key": ",".join(_key(s) for s in meta.speakers),
                "start": segment.start,
                "end": segment.end,
                "text": segment.text,
            }

    def index_recording(self, recording: Recording, segments: Sequence[Segment]) -> None:
        """Add or replace one recording's passages. Raises whoosh's LockError on timeout."""
        with self._writer() as writer:
            writer.delete_by_term("recording_id", recording.id)
            for doc in self._documents(recording, segments):
                writer.add_document(**doc)

    def remove_recording(self, recording_id: str) -> None:
        with self._writer() as writer:
            writer.delete_by_term("recording_id", recording_id)

    def optimize(self) -> None:
        """Merge into one segment (fast fuzzy and prefix queries); off the request path."""
        self._ix.optimize()

    def document_count(self) -> int:
        return int(self._ix.doc_count())

    # -- searching --------------------------------------------------------------------------

    def _current_searcher(self) -> Any:
        searcher = getattr(self._local, "searcher", None)
        if searcher is not None and searcher.up_to_date():
            return searcher
        # A new searcher, not refresh(): refreshed searchers share segment readers with the
        # old one, which could then never be closed.
        fresh = self._ix.searcher()
        with self._lock:
            if searcher is not None:
                self._searchers.discard(searcher)
                searcher.close()
            self._searchers.add(fresh)
        self._local.searcher = fresh
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

    def search(
        self,
        query: str,
        *,
        limit: int = 10,
        event: str | None = None,
        speaker: str | None = None,
        visibilities: Collection[str] | None = None,
    ) -> SearchResults:
        """Cues that say all of the query's words (or, failing that, most of them), of
        recordings with one of ``visibilities`` (default: any).

        Raises :class:`QueryError` when nothing searchable is left of the query.
        """
        clauses = self._clauses(parse_query(query))
        if not clauses:
            raise QueryError(query, "nothing to search for (only common words or punctuation)")
        filters: list[Query] = []
        if event:
            filters.append(Term("event_key", _key(event)))
        if speaker:
            filters.append(Term("speaker_key", _key(speaker)))
        if visibilities is not None:
            filters.append(Or([Term("visibility", v) for v in visibilities]))
        searcher = self._current_searcher()
        results = searcher.search(And([And(clauses), *filters]), limit=limit, terms=True)
        if results.is_empty() and len(clauses) > 1:
            results = searcher.search(And([Or(clauses), *filters]), limit=limit, terms=True)
        results.fragmenter = WholeFragmenter()
        results.formatter = _MarkFormatter()
        hits = []
        for hit in results:
            fields = hit.fields()
            snippet = hit.highlights("text", top=1) or html.escape(fields["text"], quote=False)
            hits.append(
                SearchHit(
                    recording_id=RecordingId(fields["recording_id"]),
                    title=fields["title"],
                    start=float(fields["start"]),
                    end=float(fields["end"]),
                    text=fields["text"],
                    snippet=snippet,
                    event=fields.get("event", ""),
                    speakers=tuple(fields.get("speakers", ())),
                    score=float(hit.score or 0.0),
                )
            )
        # Fewer hits than asked for: that is all of them. Otherwise an estimate, since an
        # exact count would score every match.
        scored = results.scored_length()
        total = scored if scored < limit else max(scored, results.estimated_length())
        return SearchResults(query=query, total=int(total), hits=tuple(hits))


def rebuild_index(
    directory: Path, transcripts: Iterable[tuple[Recording, Sequence[Segment]]]
) -> int:
    """Build a fresh index beside ``directory`` from ``transcripts``, then swap it in.

    Searchers open on the old index keep working until they refresh. Returns the number of
    recordings indexed.
    """
    fresh = directory.with_name(directory.name + ".new")
    old = directory.with_name(directory.name + ".old")
    shutil.rmtree(fresh, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)
    index = TranscriptIndex(fresh)
    count = 0
    with index._writer() as writer:
        for recording, segments in transcripts:
            for doc in index._documents(recording, segments):
                writer.add_document(**doc)
            count += 1
    index.close()
    if directory.exists():
        directory.rename(old)
    fresh.rename(directory)
    shutil.rmtree(old, ignore_errors=True)
    return count
