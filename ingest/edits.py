"""Staff corrections of a transcript, as pure functions.

An edited transcript arrives as cues (start, end, text, speaker) without word timings. The
words that did not change keep the times Whisper gave them, found by aligning the old and
new word sequences (difflib); new or changed words are spread over the time between their
timed neighbours, in proportion to their length. So search hits, highlighting and clip
boundaries stay as exact as before for everything staff did not touch.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from library.errors import BadParameter
from library.models import Segment, Word

_TOKEN = re.compile(r"\S+")
_NORMAL = re.compile(r"[^\w']+")
MAX_CUE_CHARS = 2000


@dataclass(frozen=True)
class Cue:
    """One edited caption cue, as the editor sends it."""

    start: float
    end: float
    text: str
    speaker: str = ""


def _normal(token: str) -> str:
    return _NORMAL.sub("", token.lower())


def check_cues(cues: Sequence[Cue], duration: float) -> list[Cue]:
    """Cues that can be saved: trimmed text, none empty, in order, inside the recording.

    Raises :class:`BadParameter` naming the first cue (counted from 1) that is wrong.
    """
    checked: list[Cue] = []
    for number, cue in enumerate(cues, start=1):
        text = " ".join(cue.text.split())
        where = f"cue {number}"
        if not text:
            raise BadParameter(where, cue.text, "has no text (delete or merge it instead)")
        if len(text) > MAX_CUE_CHARS:
            raise BadParameter(where, text[:40] + "…", f"is longer than {MAX_CUE_CHARS} characters")
        if not (0 <= cue.start < cue.end):
            raise BadParameter(where, f"{cue.start}-{cue.end}", "must start before it ends")
        if cue.end > duration + 0.5:
            raise BadParameter(where, f"{cue.end}", f"ends after the recording ({duration:.1f} s)")
        if checked and cue.start < checked[-1].start:
            raise BadParameter(where, f"{cue.start}", "starts before the cue above it")
        checked.append(Cue(cue.start, min(cue.end, duration), text, " ".join(cue.speaker.split())))
    return checked


def align_words(old: Sequence[Segment], cues: Sequence[Cue]) -> list[Segment]:
    """The cues as segments whose words keep their old timings where the words are unchanged."""
    old_words = [w for s in old for w in s.words]
    new_tokens = [(i, token) for i, cue in enumerate(cues) for token in _TOKEN.findall(cue.text)]
    matcher = difflib.SequenceMatcher(
        None,
        [_normal(w.text) for w in old_words],
        [_normal(token) for _, token in new_tokens],
        autojunk=False,
    )
    timed: dict[int, Word] = {}
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            timed[block.b + k] = old_words[block.a + k]
    segments = []
    position = 0
    for i, cue in enumerate(cues):
        tokens = []
        while position < len(new_tokens) and new_tokens[position][0] == i:
            tokens.append((new_tokens[position][1], timed.get(position)))
            position += 1
        segments.append(Segment(cue.start, cue.end, cue.text, _timed(cue, tokens), cue.speaker))
    return segments


def _timed(cue: Cue, tokens: list[tuple[str, Word | None]]) -> tuple[Word, ...]:
    """Words for one cue: kept times (moved inside the cue if its edges moved), and the
    untimed ones spread over the gaps between them."""
    kept: list[Word | None] = []
    last_end = cue.start
    for token, old in tokens:
        if old is not None and old.start >= last_end - 0.01 and old.end <= cue.end + 0.01:
            start = max(old.start, cue.start, last_end)
            word = Word(start, max(start, min(old.end, cue.end)), " " + token, old.probability)
            kept.append(word)
            last_end = word.end
        else:
            kept.append(None)
    words: list[Word] = []
    i = 0
    while i < len(tokens):
        if kept[i] is not None:
            words.append(kept[i])  # type: ignore[arg-type]
            i += 1
            continue
        j = i
        while j < len(tokens) and kept[j] is None:
            j += 1
        gap_start = words[-1].end if words else cue.start
        nxt = kept[j] if j < len(tokens) else None
        gap_end = nxt.start if nxt is not None else cue.end
        run = [token for token, _ in tokens[i:j]]
        total = sum(len(t) for t in run)
        at = gap_start
        for token in run:
            end = at + (gap_end - gap_start) * len(token) / total
            words.append(Word(round(at, 3), round(end, 3), " " + token, 1.0))
            at = end
        i = j
    return tuple(words)
