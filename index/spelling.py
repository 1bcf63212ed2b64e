"""Spelling ("did you mean"): the word of the index nearest to one it does not hold.

The index keeps the words as said (unstemmed) in a spelling field. A correction is the word
of that field within a small edit distance (Damerau-Levenshtein as the optimal string
alignment: a swap of two neighbouring letters, "trsut", is one edit) that starts with the same
letter (few misspellings change the first letter, and it keeps the candidates few): the
nearest, then the one said in the most sentences the asker may search. Each word of a query
is corrected on its own ("breakout roms" -> "breakout rooms"). Distances are computed by
rapidfuzz (C++) over the words of that first letter, read from the index once per searcher:
Whoosh's own corrector walks a Levenshtein automaton over the lexicon in Python, 3-7 ms a
word, which was most of the time of a search with a misspelled word or a topic the library
does not hold.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rapidfuzz import process
from rapidfuzz.distance import OSA

from index import matching
from index.memo import PerReader
from index.query import ParsedQuery
from index.schema import index_terms

# Shorter words are never corrected: too many words are one edit from them.
MIN_LENGTH = 4
# Words this long or longer may be two edits from their correction; shorter ones one.
TWO_EDITS_FROM = 8
# Frequencies of candidate corrections are counted up to this many sentences.
_SAID_OFTEN = 1000

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
    near = process.extract(word, words, scorer=OSA.distance, score_cutoff=maxdist, limit=None)
    field = spelling_field(searcher, fieldname)
    ranked = []
    for text, distance, i in near:
        if text == word:
            continue
        times = frequencies[i] if frequency is None else frequency(field, text)
        if times:
            ranked.append((distance, -times, text))
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


def corrections(searcher: Any, parsed: ParsedQuery, allowed: matching.Within) -> dict[str, str]:
    """Misspelled words of the query -> the nearest word said in the recordings ``allowed``
    (the ones the asker may search; all when None), each word on its own. A word none of
    whose index terms is said there is misspelled."""
    fixes: dict[str, str] = {}

    def frequency(field: str, text: str) -> int:
        # Counted up to a point: past it, a word is as good a correction as another.
        return matching.frequency(searcher, field, text, allowed, cap=_SAID_OFTEN)

    for word in sorted({w for group in (*parsed.phrases, parsed.words) for w in group}):
        word_terms = index_terms(word)
        if len(word) < MIN_LENGTH or not word_terms or not word.isalpha():
            continue
        if any(matching.is_said(searcher, "text", t, allowed) for t in word_terms):
            continue
        fix = nearest(
            searcher,
            "text",
            word,
            1 if len(word) < TWO_EDITS_FROM else 2,
            None if allowed is None else frequency,
        )
        if fix:
            fixes[word] = fix
    return fixes


def related(
    searcher: Any, words: Sequence[str], allowed: matching.Within, limit: int = 6
) -> list[str]:
    """Words said in the recordings ``allowed`` that begin as one of ``words`` does (its
    first 4 letters: "volunteering" -> "volunteers", "volunteer") or are two edits from it,
    the most said first: what to try when nothing was found."""
    field = spelling_field(searcher, "text")
    ranked: dict[str, int] = {}
    for word in words:
        if len(word) < MIN_LENGTH or not word.isalpha():
            continue
        candidates, _ = _starting(searcher, "text", word[0])
        for text in candidates:
            near = text.startswith(word[:4]) or OSA.distance(word, text, score_cutoff=2) <= 2
            if text != word and near and text not in ranked:
                times = matching.frequency(searcher, field, text, allowed, cap=_SAID_OFTEN)
                if times:
                    ranked[text] = times
    return sorted(ranked, key=lambda w: (-ranked[w], w))[:limit]
