"""Spelling ("did you mean"): the word of the index nearest to one it does not hold.

The index keeps the words as said (unstemmed) in a spelling field. A correction is the word
of that field within a small edit distance that starts with the same letter (few misspellings
change the first letter, and it keeps the candidates few): the nearest, then the one said in
the most sentences. Distances are computed by rapidfuzz (C++) over the words of that first
letter, read from the index once per searcher: Whoosh's own corrector walks a Levenshtein
automaton over the lexicon in Python, 3-7 ms a word, which was most of the time of a search
with a misspelled word or a topic the library does not hold.
"""

from __future__ import annotations

from typing import Any

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from index.memo import PerReader

# Per searcher and first letter: the words of the spelling field with it, and their sentences.
_WORDS: PerReader[tuple[list[str], list[int]]] = PerReader()


def nearest(searcher: Any, fieldname: str, word: str, maxdist: int) -> str | None:
    """The word of ``fieldname``'s spelling field nearest to ``word`` (at most ``maxdist``
    edits, same first letter), the more frequent of equally near ones; None when none is."""
    if not word:
        return None
    words, frequencies = _starting(searcher, fieldname, word[0])
    near = process.extract(
        word, words, scorer=Levenshtein.distance, score_cutoff=maxdist, limit=None
    )
    ranked = [(distance, -frequencies[i], text) for text, distance, i in near if text != word]
    return min(ranked)[2] if ranked else None


def _starting(searcher: Any, fieldname: str, letter: str) -> tuple[list[str], list[int]]:
    """The spelling words that start with ``letter`` and how many documents hold each."""

    def read() -> tuple[list[str], list[int]]:
        field = searcher.schema[fieldname].spelling_fieldname(fieldname)
        reader = searcher.reader()
        words = [w.decode() for w in reader.expand_prefix(field, letter)]
        return words, [reader.doc_frequency(field, w) for w in words]

    return _WORDS.get(searcher, (fieldname, letter), read)
