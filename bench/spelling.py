"""Spelling: how often a real typing error is corrected to the word meant, and how often a
correctly spelled word is changed.

    python bench/spelling.py

Indexes the reference transcripts of tests/data (tests/data/*.txt, a sentence a line) and,
for every word of 4 letters or more said in them (stop words, which are never searched,
left out), makes the typing errors people make: a keyboard neighbour struck instead, a letter
doubled, a letter dropped, two neighbouring letters swapped (one of each per word, at a
position drawn with a fixed seed, never the first letter). A misspelling shorter than 4
letters, or one whose stem the library says (a real word: "adults" -> "adult"), is not
counted. Each is searched for on its own; it counts as corrected when the search then looks
for the word meant (its suggestion has the same stem). Then each word as said is searched
for: it counts as changed when the search suggests anything. tests/test_spelling.py checks
the targets.
"""

from __future__ import annotations

import random
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index.schema import index_terms  # noqa: E402
from index.search import TranscriptIndex  # noqa: E402
from index.spelling import MIN_LENGTH  # noqa: E402
from library.errors import QueryError  # noqa: E402
from library.models import Segment  # noqa: E402
from tests.test_index import recording  # noqa: E402

DATA = ROOT / "tests" / "data"
# The targets: at least this share of typing errors corrected to the word meant, at
# most this share of correctly spelled words changed.
CORRECTED_TARGET = 0.90
CHANGED_TARGET = 0.02

_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
NEIGHBOURS = {
    letter: "".join(
        _ROWS[r][c]
        for r, c in ((row, col - 1), (row, col + 1), (row - 1, col), (row + 1, col))
        if 0 <= r < 3 and 0 <= c < len(_ROWS[r])
    )
    for row, keys in enumerate(_ROWS)
    for col, letter in enumerate(keys)
}


def typos(word: str, rng: random.Random) -> list[tuple[str, str]]:
    """(kind, misspelling) of ``word``: one of each kind, none of them a letter of the first
    position (few people mistype the first letter, and the corrector keeps it)."""
    out = []
    i = rng.randrange(1, len(word))
    out.append(("neighbour", word[:i] + rng.choice(NEIGHBOURS[word[i]]) + word[i + 1 :]))
    i = rng.randrange(1, len(word))
    out.append(("doubled", word[:i] + word[i] + word[i:]))
    i = rng.randrange(1, len(word))
    out.append(("dropped", word[:i] + word[i + 1 :]))
    i = rng.randrange(1, len(word) - 1)
    out.append(("swapped", word[:i] + word[i + 1] + word[i] + word[i + 2 :]))
    return [(kind, typo) for kind, typo in out if typo != word]


@dataclass(frozen=True)
class Figures:
    typos: int
    corrected: float
    words: int
    changed: float
    by_kind: dict[str, float]


def transcripts() -> dict[str, list[str]]:
    return {
        path.stem: [line.strip() for line in path.read_text().splitlines() if line.strip()]
        for path in sorted(DATA.glob("*.txt"))
        if path.name != "README.md"
    }


def build(folder: Path) -> tuple[TranscriptIndex, set[str]]:
    index = TranscriptIndex(folder)
    words: set[str] = set()
    for name, lines in transcripts().items():
        index.index_recording(
            recording(name, name), [Segment(i * 5.0, i * 5.0 + 4, t) for i, t in enumerate(lines)]
        )
        for line in lines:
            words |= {w.lower() for w in re.findall(r"[A-Za-z]+", line)}
    return index, {w for w in words if len(w) >= MIN_LENGTH and index_terms(w)}


def _is_said(index: TranscriptIndex, word: str) -> bool:
    terms = index_terms(word)
    if not terms:
        return True
    results = index.search(word)
    return bool(results.hits) and not results.corrected


def measure(folder: Path, seed: int = 1) -> Figures:
    index, words = build(folder)
    rng = random.Random(seed)
    try:
        done: dict[str, list[bool]] = {}
        for word in sorted(words):
            for kind, typo in typos(word, rng):
                if len(typo) < MIN_LENGTH or _is_said(index, typo):
                    continue
                fixed = _suggestion(index, typo)
                done.setdefault(kind, []).append(index_terms(fixed) == index_terms(word))
        changed = sum(1 for word in sorted(words) if _suggestion(index, word))
    finally:
        index.close()
    every = [ok for oks in done.values() for ok in oks]
    return Figures(
        typos=len(every),
        corrected=sum(every) / len(every),
        words=len(words),
        changed=changed / len(words),
        by_kind={kind: sum(oks) / len(oks) for kind, oks in done.items()},
    )


def _suggestion(index: TranscriptIndex, word: str) -> str:
    try:
        return index.search(word).suggestion
    except QueryError:  # a stop word alone is refused: nothing is changed
        return ""


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        figures = measure(Path(folder) / "ix")
    print(f"typing errors: {figures.typos}, corrected to the word meant: {figures.corrected:.1%}"
          f" (target ≥ {CORRECTED_TARGET:.0%})")  # fmt: skip
    for kind, share in figures.by_kind.items():
        print(f"  {kind:10} {share:.1%}")
    print(f"correctly spelled words: {figures.words}, changed: {figures.changed:.1%}"
          f" (target ≤ {CHANGED_TARGET:.0%})")  # fmt: skip


if __name__ == "__main__":
    main()
