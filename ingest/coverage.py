"""Speech coverage: how much of the time the audio has voice the transcript has words for.

A transcript can look complete and still miss a speaker or a noisy minute; comparing where
voice detection heard speech with where the words are tells staff where to look.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from library.models import Segment, Word

Span = tuple[float, float]
# A word covers a little around itself: the pauses between words are part of the speech.
_WORD_REACH = 0.5
# A voiced stretch at least this long with no word at all is shown to staff as a gap.
MIN_GAP_SECONDS = 2.0
# The sidecar beside the transcript files, in the recording's folder.
GAPS_FILE = "speech-gaps.json"


@dataclass(frozen=True)
class Coverage:
    share: float | None  # of voiced time with words; None when nothing is voiced
    gaps: tuple[Span, ...]  # voiced stretches with no words, for the editor to jump to


def merge(spans: Iterable[Span]) -> list[Span]:
    """Overlapping or touching spans joined, in order."""
    out: list[list[float]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return [(a, b) for a, b in out]


def _overlap(a: Sequence[Span], b: Sequence[Span]) -> float:
    """Total length of the intersection of two merged, ordered span lists."""
    total, i, j = 0.0, 0, 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        total += max(0.0, hi - lo)
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return total


def _subtract(a: Sequence[Span], b: Sequence[Span]) -> list[Span]:
    """Parts of ``a`` outside every span of ``b`` (both merged and ordered)."""
    out: list[Span] = []
    for start, end in a:
        cursor = start
        for lo, hi in b:
            if hi <= cursor or lo >= end:
                continue
            if lo > cursor:
                out.append((cursor, lo))
            cursor = max(cursor, hi)
        if cursor < end:
            out.append((cursor, end))
    return out


def measure(voiced: Iterable[Span], segments: Sequence[Segment]) -> Coverage:
    """The share of ``voiced`` time within half a second of a transcribed word, and the
    voiced stretches of 2 s or more with none."""
    speech = merge(voiced)
    total = sum(b - a for a, b in speech)
    if total <= 0:
        return Coverage(None, ())
    heard = merge(
        (max(0.0, w.start - _WORD_REACH), w.end + _WORD_REACH)
        for s in segments
        # A cue edited without word timings covers its whole span.
        for w in (s.words or (Word(s.start, s.end, s.text),))
    )
    share = min(1.0, _overlap(speech, heard) / total)
    gaps = [(round(a, 2), round(b, 2)) for a, b in _subtract(speech, heard)]
    return Coverage(round(share, 3), tuple(g for g in gaps if g[1] - g[0] >= MIN_GAP_SECONDS))


def gaps_json(coverage: Coverage) -> str:
    """The sidecar file staff tools read: ``{"coverage": 0.62, "gaps": [[start, end], ...]}``."""
    return json.dumps({"coverage": coverage.share, "gaps": [list(g) for g in coverage.gaps]})


def low_coverage_note(share: float | None, threshold: float) -> str:
    """What staff are told when much of the speech has no words; "" when all is well."""
    if share is None or share >= threshold:
        return ""
    return f"about {round((1 - share) * 100)} % of the speech has no transcript"


def read_gaps(path: Path) -> list[Span]:
    """The gaps stored beside a recording's transcript; none when there is no file."""
    try:
        return parse_gaps(path.read_text())
    except OSError:
        return []


def parse_gaps(text: str) -> list[Span]:
    """The gaps of a sidecar written by :func:`gaps_json`; none when it cannot be read."""
    try:
        data = json.loads(text)
        return [(float(a), float(b)) for a, b in data.get("gaps", [])]
    except (ValueError, TypeError, AttributeError):
        return []
