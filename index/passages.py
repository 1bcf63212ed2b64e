"""Passages: overlapping windows of consecutive sentences, so an idea spread over two
sentences is found together; and, for a passage that matched, the tightest run of its sentences that
holds the matched words. Pure functions, no Whoosh.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from library.models import Segment

# A passage spans at least this many seconds when its sentences allow, and never more than
# the longest: long enough for a thought said over two or three sentences, short enough that
# its words are still "near each other".
MIN_PASSAGE_SECONDS = 20.0
MAX_PASSAGE_SECONDS = 40.0


@dataclass(frozen=True)
class Passage:
    first: int  # index of its first sentence
    last: int  # index of its last sentence (inclusive)
    start: float
    end: float


def build_passages(
    segments: Sequence[Segment],
    min_seconds: float = MIN_PASSAGE_SECONDS,
    max_seconds: float = MAX_PASSAGE_SECONDS,
) -> list[Passage]:
    """Windows of two or more consecutive sentences, each about ``min_seconds`` long (never
    over ``max_seconds``); the next one starts near the middle of the one before, so every
    pair of neighbouring sentences is inside some passage."""
    passages: list[Passage] = []
    n = len(segments)
    first = 0
    while first < n - 1:
        last = first
        while (
            last + 1 < n
            and segments[last + 1].end - segments[first].start <= max_seconds
            and (segments[last].end - segments[first].start < min_seconds or last == first)
        ):
            last += 1
        if last == first:  # the next sentence alone is too long to share a window
            first += 1
            continue
        passages.append(Passage(first, last, segments[first].start, segments[last].end))
        if last == n - 1:
            break
        middle = (segments[first].start + segments[last].end) / 2
        following = next(
            (i for i in range(first + 1, last + 1) if segments[i].start >= middle), last
        )
        first = max(first + 1, following)
    return passages


def tightest_span(
    sentence_terms: Sequence[Sequence[str]],
    wanted: Collection[str],
    phrases: Sequence[Sequence[str]] = (),
) -> tuple[int, int]:
    """The shortest run of sentences (first, last: indexes into ``sentence_terms``, each
    sentence's terms in order) that together hold every term of ``wanted`` that any of them
    holds, and each of ``phrases`` (a run of terms) when the sentences do; ties go to the
    earliest run."""
    everything = [t for terms in sentence_terms for t in terms]
    present = set(everything) & set(wanted)
    phrases = [p for p in phrases if holds_phrase(everything, p)]
    if not present and not phrases:
        return 0, len(sentence_terms) - 1
    best = (0, len(sentence_terms) - 1)
    for first in range(len(sentence_terms)):
        missing = set(present)
        for last in range(first, len(sentence_terms)):
            missing -= set(sentence_terms[last])
            if missing:
                continue
            run = [t for terms in sentence_terms[first : last + 1] for t in terms]
            if all(holds_phrase(run, p) for p in phrases):
                if last - first < best[1] - best[0]:
                    best = (first, last)
                break
    return best


def holds_phrase(terms: Sequence[str], phrase: Sequence[str]) -> bool:
    """Whether ``phrase`` is a run of ``terms``: said in that order, nothing between."""
    n = len(phrase)
    return any(list(terms[i : i + n]) == list(phrase) for i in range(len(terms) - n + 1))
