"""Semantic fusion: keyword hits and the sentences closest in meaning, in one ranking."""

from __future__ import annotations

from typing import Any

from whoosh.reading import TermNotFound

from index.hits import CANDIDATES, Found, moment_key, snippet
from index.schema import index_terms
from index.semantic import Match, SemanticIndex, fuse
from library.models import RecordingId, SearchHit


def with_meaning(
    semantic: SemanticIndex,
    searcher: Any,
    topic: str,
    found: Found,
    allowed: list[str],
    limit: int,
    per_recording: int,
) -> list[SearchHit]:
    """Moments with every word of the query stay first; after them, the other keyword
    hits fused (reciprocal rank fusion) with the sentences closest in meaning, so
    paraphrases find the moment and moments found both ways rank higher."""
    hits = found.hits
    matches = semantic.search(topic, allowed, limit * CANDIDATES)
    by_key = {moment_key(h.recording_id, h.start): h for h in hits}
    terms = set(index_terms(topic))
    meaning: list[str] = []
    unread: dict[str, Match] = {}  # moments found only by meaning, read when shown
    for match in matches:
        read: SearchHit | None = None
        if match.start is not None:
            start = match.start
        else:  # a vectors file written without times: its sentences are read now
            read = _read(searcher, match, terms)
            if read is None:
                continue
            start = read.start
        # The same moment as a keyword hit (a sentence inside its span) is that hit.
        same = next(
            (h for h in hits if h.recording_id == match.recording_id
             and h.start <= start < h.end + 0.01),
            None,
        )  # fmt: skip
        key = moment_key(match.recording_id, same.start if same else start)
        if key not in by_key and key not in unread:
            if read is not None:
                by_key[key] = read
            else:
                unread[key] = match
        meaning.append(key)
    exact = [moment_key(h.recording_id, h.start) for h in hits[: found.exact]]
    keywords = [moment_key(h.recording_id, h.start) for h in hits[found.exact :]]
    fused: list[SearchHit] = []
    count: dict[str, int] = {}
    # A keyword hit counts for the share of the query's words it says: a sentence with one
    # word of six ("talking" for "... not a talk in front of a webcam") is weak evidence and
    # must not push the sentence that means the whole question off the page. Measured on
    # bench/relevance.py: paraphrase hit@5 0.79 -> 0.92 with the floor lowered to 0.27.
    said = {
        moment_key(h.recording_id, h.start): max(0.0, 1.0 - len(h.missing) / max(1, len(terms)))
        for h in hits[found.exact :]
    }
    rest = [key for key in fuse([keywords, meaning], weights=[said]) if key not in exact]
    for key in exact + rest:
        if key in unread:
            read = _read(searcher, unread[key], terms)
            if read is None:  # gone from the index since the vectors were read
                continue
            by_key[key] = read
        hit = by_key[key]
        rid = hit.recording_id
        if count.get(rid, 0) < per_recording:
            count[rid] = count.get(rid, 0) + 1
            fused.append(hit)
        if len(fused) == limit:
            break
    return fused


def _read(searcher: Any, match: Match, terms: set[str]) -> SearchHit | None:
    """The hit for a moment found by meaning: its sentences read from the index (one, or a
    passage's), or None when one is gone."""
    reader = searcher.reader()
    read = [
        _stored(reader, f"{match.recording_id}/c{i}") for i in range(match.first, match.last + 1)
    ]
    docs = [d for d in read if d is not None]
    if len(docs) < len(read):
        return None
    text = " ".join(d["text"].strip() for d in docs)
    return SearchHit(
        recording_id=RecordingId(match.recording_id),
        title=docs[0]["title"],
        start=float(docs[0]["start"]),
        end=float(docs[-1]["end"]),
        text=text,
        snippet=snippet(text, terms),
        event=docs[0].get("event", ""),
        speakers=tuple(docs[0].get("speakers", ())),
        score=match.score,
    )


def _stored(reader: Any, doc_id: str) -> dict[str, Any] | None:
    """The stored fields of the live document ``doc_id``, or None: read through its postings,
    a third of the time of ``searcher.document(doc_id=...)`` (which builds and runs a query),
    and passing over a replaced one's deleted copy."""
    try:
        postings = reader.postings("doc_id", doc_id)
    except TermNotFound:
        return None
    for docnum in postings.all_ids():
        if not reader.is_deleted(docnum):
            fields: dict[str, Any] = reader.stored_fields(docnum)
            return fields
    return None
