"""Recordings by what they are: title, speakers, event, tags and description.

A third small Whoosh index beside the sentences' and the passages', one document per
recording, kept in step by the same writes. A recording matches when every meaningful word of
the query is in its metadata (stemmed, so "summits" finds "Summit"; a word of 4 letters or
more also matches words one edit away, a swap of two letters counting as one, so "Kenedy"
finds "Kennedy"). Each match says which fields held the words. Visibility is stored with each
recording: a visitor never finds a private or unlisted recording by its title or tags.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

from rapidfuzz import process
from rapidfuzz.distance import OSA
from whoosh import index as whoosh_index
from whoosh.fields import ID, STORED, TEXT, Schema
from whoosh.query import And, Or, Query, Term

from index.memo import PerReader
from index.schema import analyzer, index_terms
from library.models import Recording, RecordingId, RecordingMatch, recording_url

NAME = "recordings"
# Searched fields, in the order a match names them.
FIELDS = ("title", "speakers", "event", "tags", "description")
# At most this many recordings are listed above the moments.
LIMIT = 10
# Words this long or longer also match words of the metadata one edit away.
FUZZY_FROM = 4

_LEXICON: PerReader[list[str]] = PerReader()


def schema() -> Schema:
    text = {name: TEXT(analyzer=analyzer(), phrase=False) for name in FIELDS}
    return Schema(
        recording_id=ID(unique=True, stored=True),
        visibility=ID(),
        about=STORED(),  # {"title", "event", "speakers", "tags"} as given
        # Every field's words together: the lexicon typos are corrected from.
        all=TEXT(analyzer=analyzer(), phrase=False),
        **text,
    )


def open_recordings(directory: Path) -> Any:
    if whoosh_index.exists_in(str(directory), indexname=NAME):
        return whoosh_index.open_dir(str(directory), indexname=NAME)
    return whoosh_index.create_in(str(directory), schema(), indexname=NAME)


def document(recording: Recording) -> dict[str, Any]:
    meta = recording.meta
    values = {
        "title": meta.title,
        "speakers": ", ".join(meta.speakers),
        "event": meta.event,
        "tags": ", ".join(meta.tags),
        "description": meta.description,
    }
    return {
        "recording_id": recording.id,
        "visibility": meta.visibility.value,
        "about": {
            "title": meta.title,
            "event": meta.event,
            "speakers": list(meta.speakers),
            "tags": list(meta.tags),
        },
        "all": " ".join(values.values()),
        **values,
    }


def write(writer: Any, recording: Recording) -> None:
    writer.delete_by_term("recording_id", recording.id)
    writer.add_document(**document(recording))


def _lexicon(searcher: Any) -> list[str]:
    return _LEXICON.get(
        searcher, None, lambda: [t.decode() for t in searcher.reader().lexicon("all")]
    )


def _variants(searcher: Any, term: str) -> list[str]:
    """``term`` and the metadata's terms one edit away from it (4 letters or more)."""
    if len(term) < FUZZY_FROM:
        return [term]
    near = process.extract(
        term, _lexicon(searcher), scorer=OSA.distance, score_cutoff=1, limit=None
    )
    return sorted({term, *(text for text, _, _ in near if text[:1] == term[:1])})


def search(
    searcher: Any, words: Sequence[str], visibilities: Collection[str] | None
) -> tuple[RecordingMatch, ...]:
    """The recordings whose metadata holds every one of ``words`` (of the visibilities given;
    all when None), best first, each with the fields that held them."""
    terms = list(dict.fromkeys(index_terms(" ".join(words))))
    if not terms:
        return ()
    per_term = [_variants(searcher, t) for t in terms]
    clauses: list[Query] = [Or([Term("all", v) for v in vs]) for vs in per_term]
    if visibilities is not None:
        clauses.append(Or([Term("visibility", v) for v in visibilities]))
    found = []
    for hit in searcher.search(And(clauses), limit=LIMIT):
        number = hit.docnum
        matched = [
            name
            for name in FIELDS
            if any(
                (name, v) in searcher.reader() and _holds(searcher, name, v, number)
                for vs in per_term
                for v in vs
            )
        ]
        about = hit["about"]
        rid = hit["recording_id"]
        found.append(
            RecordingMatch(
                id=RecordingId(rid),
                title=about["title"],
                event=about["event"],
                speakers=tuple(about["speakers"]),
                tags=tuple(about["tags"]),
                url=recording_url(rid),
                matched=tuple(matched),
            )
        )
    return tuple(found)


def _holds(searcher: Any, field: str, text: str, number: int) -> bool:
    matcher = searcher.reader().postings(field, text)
    matcher.skip_to(number)
    return bool(matcher.is_active() and matcher.id() == number)


def exists(directory: Path) -> bool:
    return bool(whoosh_index.exists_in(str(directory), indexname=NAME))
