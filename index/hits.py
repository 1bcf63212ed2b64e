"""Search hits from matching documents: a sentence as it is, a passage narrowed to its
tightest run of sentences, each with its words marked; at most a few per recording.

Highlighting re-tokenizes only the sentences shown, with the query's own terms.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from index import matching
from index.passages import holds_phrase, tightest_span
from index.schema import WORD, index_terms, term_of
from library.models import RecordingId, SearchHit

# At most this many hits of one recording, so the first page shows several recordings.
PER_RECORDING = 3
# How many documents are looked at to fill a page after de-duplication and the cap above.
CANDIDATES = 8


@dataclass(frozen=True)
class Found:
    hits: list[SearchHit]
    total: int
    # The results the hits come from and their matches per recording (asked for facets).
    counted: tuple[Any, Counter[bytes]] | None
    exact: int  # how many of the hits have every word of the query near each other
    estimated: bool = False  # the total is an estimate (too many matches to count)
    # Moments per recording, counted as the total is.
    per_recording: dict[str, int] = field(default_factory=dict)


def moment_key(recording_id: str, start: float) -> str:
    """One moment of one recording, whichever way it was found."""
    return f"{recording_id}@{start:.3f}"


def count(results: Any, wanted: int) -> int:
    # An exact count would score every match: an estimate when there are many (as many as
    # were wanted, or as a ranked search looks at).
    scored = int(results.scored_length())
    if scored < min(wanted, matching.BUDGET) and not getattr(results, "is_cut", False):
        return scored
    return max(scored, matching.estimate(results))


def make_hits(
    results: Any,
    limit: int,
    per_recording: int,
    terms: set[str],
    already: Sequence[SearchHit] = (),
    phrases: Sequence[Sequence[str]] = (),
) -> list[SearchHit]:
    """Hits from matching documents: de-duplicated (a passage and the sentence inside it
    are one moment), at most ``per_recording`` of each recording counting ``already``, each
    saying every one of ``phrases`` in order, until there are ``limit`` with ``already``."""
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
        # A passage's sentences' terms, analysed once: for the order of phrases and the span.
        sentences = fields.get("cues")
        sentence_terms = [index_terms(s[2]) for s in sentences] if sentences else []
        if phrases:
            hit_terms = [t for ts in sentence_terms for t in ts] or index_terms(fields["text"])
            if not all(holds_phrase(hit_terms, phrase) for phrase in phrases):
                continue
        start, end, text, speaker = _moment(fields, sentence_terms, terms, phrases)
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
                snippet=snippet(text, terms),
                event=fields.get("event", ""),
                speakers=tuple(fields.get("speakers", ())),
                score=float(result.score or 0.0),
                speaker=speaker,
            )
        )
        if len(hits) + len(already) >= limit:
            break
    return hits


def _moment(
    fields: dict[str, Any],
    sentence_terms: Sequence[Sequence[str]],
    terms: set[str],
    phrases: Sequence[Sequence[str]] = (),
) -> tuple[float, float, str, str]:
    """A sentence as it is; a passage (its sentences' terms in ``sentence_terms``) narrowed
    to its tightest run of sentences. With who says it: the sentence's speaker label, or for
    a run of sentences the label they all share ("" when none or several)."""
    sentences = fields.get("cues")
    if not sentences:
        speaker = fields.get("speaker") or ""
        return float(fields["start"]), float(fields["end"]), fields["text"], speaker
    first, last = tightest_span(sentence_terms, terms, phrases)
    run = sentences[first : last + 1]
    text = " ".join(s[2].strip() for s in run)
    labels = {s[3] if len(s) > 3 else "" for s in run}
    speaker = labels.pop() if len(labels) == 1 else ""
    return float(sentences[first][0]), float(sentences[last][1]), text, speaker


def snippet(text: str, terms: Collection[str]) -> str:
    """``text`` HTML-escaped, with each word whose index term is one of ``terms`` in a
    ``<mark>``: what Whoosh's ``highlight()`` with the index's analyzer and a whole-text
    fragment gives (tests/test_index.py compares the two), in a fifth of the time, without
    Whoosh's token objects and analyzer chain (a sixth of a search's time with them)."""
    parts: list[str] = []
    done = 0
    for match in WORD.finditer(text):
        word = match.group()
        # Whoosh's highlight() compares a stop word as it is, lowercased.
        if (term_of(word) or word.lower()) in terms:
            parts += [html.escape(text[done : match.start()], quote=False), "<mark>"]
            parts += [html.escape(word, quote=False), "</mark>"]
            done = match.end()
    parts.append(html.escape(text[done:], quote=False))
    return "".join(parts)
