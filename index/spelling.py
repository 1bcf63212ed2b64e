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

from collections.abc import Callable
from typing import Any

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from index.memo import PerReader

# Per searcher and first letter: the words of the spelling field with it, and their sentences.
_WORDS: PerReader[tuple[list[str], list[int]]] = PerReader()


def nearest(
    searcher: Any,
    fieldname: str,
    word: str,
    maxdist: int,
    frequency: Callable[[str, str], int] | None = None,
) -> str | None:
    """The word of ``fieldname``'s spelling field nearest to ``word`` (at most ``maxdist``
    edits, same first letter), the more frequent of equally near ones; None when none is.

    ``frequency(spelling_field, word)``, when given, says in how many documents the asker may
    search a candidate is said: candidates said in none of them are never offered (a
    private recording's words must not be suggested to a visitor)."""
    if not word:
        return None
    words, frequencies = _starting(searcher, fieldname, word[0])
    near = process.extract(
        word, words, scorer=Levenshtein.distance, score_cutoff=maxdist, limit=None
    )
    field = spelling_field(searcher, fieldname)
    ranked = []
    for text, distance, i in near:
        if text == word:
            continue
        said = frequencies[i] if frequency is None else frequency(field, text)
        if said:
            ranked.append((distance, -said, text))
    return min(ranked)[2] if ranked else None


def spelling_field(searcher: Any, fieldname: str) -> str:
    """The name of the field that holds ``fieldname``'s words as said."""
    return str(searcher.schema[fieldname].spelling_fieldname(fieldname))


def _starting(searcher: Any, fieldname: str, letter: str) -> tuple[list[str], list[int]]:
    """The spelling words that start with ``letter`` and how many documents hold each."""

    def read() -> tuple[list[str], list[int]]:
        field = spelling_field(searcher, fieldname)
        reader = searcher.reader()
        words = [w.decode() for w in reader.expand_prefix(field, letter)]
        return words, [reader.doc_frequency(field, w) for w in words]

    return _WORDS.get(searcher, (fieldname, letter), read)
