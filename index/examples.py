"""Example questions for an empty search page, taken from the library's own words: the pairs
of words said together most often in a few recordings (never hard-coded, so they always find
something)."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Sequence

from index.schema import WORD, term_of

# Fewer words than this do not make an example.
_MIN_LETTERS = 4


def phrases(transcripts: Iterable[Sequence[str]], per_recording: int = 1) -> list[str]:
    """For each transcript (its sentences), the pair of neighbouring words it says most
    often (neither a stop word nor short), as said; transcripts with none give none."""
    found: list[str] = []
    for sentences in transcripts:
        pairs: Counter[tuple[str, str]] = Counter()
        said: dict[tuple[str, str], str] = {}
        for sentence in sentences:
            words = [m.group() for m in WORD.finditer(sentence)]
            for a, b in itertools.pairwise(words):
                if len(a) < _MIN_LETTERS or len(b) < _MIN_LETTERS:
                    continue
                ta, tb = term_of(a), term_of(b)
                if ta and tb and ta != tb:
                    pairs[ta, tb] += 1
                    said.setdefault((ta, tb), f"{a} {b}".lower())
        for pair, _ in pairs.most_common(per_recording):
            if said[pair] not in found:
                found.append(said[pair])
    return found
