"""Pure transcript clean-up: drop hallucination loops, re-cut Whisper's segments into cues.

Whisper's segments run up to 30 s and often hold several sentences; captions, search hits and
clips want one sentence each. With word timings the text can be re-cut at sentence ends.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from library.models import Segment, Word

_SENTENCE_END = (".", "?", "!", "…")
_CLAUSE_END = (",", ";", ":", "—", "–")
# Cues shorter than this merge with the next sentence ("Yes." alone flashes past).
MIN_CUE_SECONDS = 1.0
# A pause this long ends a cue even without punctuation: the speaker stopped.
PAUSE_SECONDS = 2.0
# A phrase repeated this many times in a row is a decoding loop, not speech. One word needs
# more: people do say "words, words, words, words" (a test recording's reference has it).
LOOP_REPEATS = 3
WORD_LOOP_REPEATS = 5
_MAX_LOOP_PHRASE = 8


def _norm(word: Word) -> str:
    return word.text.strip().lower().strip(".,;:!?…\"'")


def drop_loops(words: Sequence[Word]) -> list[Word]:
    """Collapse a phrase of 2-8 words repeated 3+ times in a row, or one word repeated 5+
    times, to one occurrence; the words before and after the loop stay.

    Whisper sometimes loops ("thank you thank you thank you ...", "okay, okay, okay, ...");
    a speaker who says a word twice ("very, very") is left alone.
    """
    keys = [_norm(w) for w in words]
    out: list[Word] = []
    i = 0
    while i < len(words):
        kept, skipped = 1, 1
        for size in range(1, _MAX_LOOP_PHRASE + 1):
            phrase = keys[i : i + size]
            if len(phrase) < size:
                break
            repeats = 1
            while keys[i + repeats * size : i + (repeats + 1) * size] == phrase:
                repeats += 1
            if repeats >= (WORD_LOOP_REPEATS if size == 1 else LOOP_REPEATS):
                kept, skipped = size, repeats * size
                break
        out.extend(words[i : i + kept])
        i += skipped
    return out


def _best_break(words: Sequence[Word]) -> int:
    """Index of the word after which a too-long cue is best cut: a clause end in its second
    half, else the longest pause between words."""
    half = len(words) // 2
    for i in range(len(words) - 2, max(half, 1) - 1, -1):
        if words[i].text.rstrip().endswith(_CLAUSE_END):
            return i
    gaps = [(words[i + 1].start - words[i].end, i) for i in range(len(words) - 1)]
    return max(gaps)[1] if gaps else len(words) - 1


def _cue(words: Sequence[Word]) -> Segment:
    return Segment(
        start=words[0].start,
        end=words[-1].end,
        text="".join(w.text for w in words).strip(),
        words=tuple(words),
    )


def resegment(words: Iterable[Word], max_cue_seconds: float = 15.0) -> list[Segment]:
    """Cues of about a sentence each, none longer than ``max_cue_seconds`` unless one word is."""
    cues: list[Segment] = []
    current: list[Word] = []
    for word in words:
        if current and word.start - current[-1].end >= PAUSE_SECONDS:
            cues.append(_cue(current))
            current = []
        current.append(word)
        while len(current) > 1 and current[-1].end - current[0].start > max_cue_seconds:
            cut = _best_break(current[:-1]) + 1
            cues.append(_cue(current[:cut]))
            current = current[cut:]
        is_sentence_end = word.text.rstrip().endswith(_SENTENCE_END)
        if is_sentence_end and current[-1].end - current[0].start >= MIN_CUE_SECONDS:
            cues.append(_cue(current))
            current = []
    if current:
        cues.append(_cue(current))
    return cues
