"""Words the editor asks staff to check: those Whisper was unsure of, and names that look
like a glossary term but are spelt otherwise ("Okafer" for "Okafor").

The probability threshold is measured (bench/transcripts.py aligns transcripts to reference
texts and counts how many wrong and right words fall below each threshold).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from library.models import Segment, Word

# A transcript word this similar to a glossary word, and not the same, is probably that word
# misheard: "Okafer"/"Okafor" 0.83, "Natarajen"/"Natarajan" 0.89; "March"/"Marsh" 0.8.
_SIMILAR = 0.75
_MIN_LETTERS = 4
_LETTERS = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")


@dataclass(frozen=True)
class Unsure:
    """Why a word is flagged: low probability, or like a glossary term ``term``."""

    reason: str
    term: str = ""


def _glossary_words(terms: Iterable[str]) -> dict[str, str]:
    """Each word of the glossary long enough to compare, lower-cased, to its spelling."""
    out: dict[str, str] = {}
    for term in terms:
        for word in _LETTERS.findall(term):
            if len(word) >= _MIN_LETTERS:
                out.setdefault(word.lower(), word)
    return out


def like_term(text: str, glossary: dict[str, str]) -> str:
    """The glossary word ``text`` looks like but is not; "" when none. A proper name in the
    glossary ("Okafor") is compared with capitalised words only, so common words that look
    like a name ("march", "marsh") are left alone."""
    word = "".join(_LETTERS.findall(text))
    key = word.lower()
    if len(word) < _MIN_LETTERS or key in glossary:
        return ""
    best, best_ratio = "", _SIMILAR
    for lower, spelling in glossary.items():
        if spelling[0].isupper() and not word[0].isupper():
            continue
        ratio = difflib.SequenceMatcher(None, key, lower).ratio()
        if ratio >= best_ratio:
            best, best_ratio = spelling, ratio
    return best


def check_word(word: Word, glossary: dict[str, str], below: float) -> Unsure | None:
    term = like_term(word.text, glossary)
    if term:
        return Unsure("like-term", term)
    if word.probability < below:
        return Unsure("low-probability")
    return None


def unsure_words(
    segments: Sequence[Segment], terms: Iterable[str], below: float
) -> list[list[Unsure | None]]:
    """For each segment, for each of its words, why it should be checked (None: fine)."""
    glossary = _glossary_words(terms)
    return [[check_word(w, glossary, below) for w in s.words] for s in segments]
