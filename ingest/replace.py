"""Find and replace in transcripts, and setting one sentence (an accepted suggestion).

Finding is pure: whole words, any case, in each sentence's text. Applying saves each affected
recording through :func:`ingest.manage.save_transcript`, the editor's own path, so the catalog,
captions, index, word timings (clip boundaries) and the one step of undo all follow.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from index.search import TranscriptIndex
from ingest.edits import Cue
from ingest.manage import save_transcript
from library.catalog import Catalog
from library.errors import BadParameter, Conflict
from library.models import Recording, Segment
from library.storage import Storage

MAX_FIND = 200  # characters of the text to find: a name or a phrase
CONTEXT = 40  # characters shown either side of a match


@dataclass(frozen=True)
class Match:
    recording_id: str
    title: str
    position: int  # the sentence index
    start: float
    before: str  # the sentence now
    after: str  # the sentence once replaced
    context: str  # the words around the (first) match in the sentence


def _pattern(old: str) -> re.Pattern[str]:
    """``old`` as whole words, any case, any run of spaces between its words. Raises
    :class:`BadParameter`."""
    words = old.split()
    if not words:
        raise BadParameter("find", old, "give the words to find")
    if len(old) > MAX_FIND:
        raise BadParameter("find", old[:40] + "…", f"is longer than {MAX_FIND} characters")
    body = r"\s+".join(re.escape(w) for w in words)
    # \b only where the text to find starts or ends with a word character ("Dr." ends in ".").
    left = r"(?<!\w)" if re.match(r"\w", words[0]) else ""
    right = r"(?!\w)" if re.search(r"\w$", words[-1]) else ""
    return re.compile(left + body + right, re.IGNORECASE)


def find_matches(
    transcripts: Iterable[tuple[Recording, Sequence[Segment]]], old: str, new: str
) -> list[Match]:
    """Every sentence in which ``old`` occurs as whole words, with how it would read."""
    pattern = _pattern(old)
    replacement = " ".join(new.split())
    found = []
    for recording, segments in transcripts:
        for position, segment in enumerate(segments):
            first = pattern.search(segment.text)
            if first is None:
                continue
            a, b = max(0, first.start() - CONTEXT), first.end() + CONTEXT
            context = (
                ("…" if a else "") + segment.text[a:b] + ("…" if b < len(segment.text) else "")
            )
            after = " ".join(pattern.sub(lambda _: replacement, segment.text).split())
            if after == segment.text:
                continue
            found.append(
                Match(
                    recording.id,
                    recording.title,
                    position,
                    segment.start,
                    segment.text,
                    after,
                    context,
                )
            )
    return found


def _cues(segments: Sequence[Segment], changes: dict[int, str]) -> list[Cue]:
    return [Cue(s.start, s.end, changes.get(i, s.text), s.speaker) for i, s in enumerate(segments)]


def apply_matches(
    catalog: Catalog, storage: Storage, index: TranscriptIndex, matches: Sequence[Match]
) -> list[Recording]:
    """Save every match, one editor save per recording (one undo step each). A sentence that
    changed since it was found is left alone. Returns the recordings saved."""
    by_recording: dict[str, dict[int, Match]] = {}
    for match in matches:
        by_recording.setdefault(match.recording_id, {})[match.position] = match
    saved = []
    for recording_id, wanted in by_recording.items():
        recording = catalog.get(recording_id)
        segments = catalog.segments(recording_id)
        changes = {
            i: m.after
            for i, m in wanted.items()
            if i < len(segments) and segments[i].text == m.before
        }
        if changes:
            cues = _cues(segments, changes)
            version = recording.transcript_version
            saved.append(save_transcript(catalog, storage, index, recording_id, cues, version))
    return saved


def set_sentence(
    catalog: Catalog,
    storage: Storage,
    index: TranscriptIndex,
    recording_id: str,
    position: int,
    expected: str,
    text: str,
) -> Recording:
    """Make sentence ``position`` read ``text``, as an editor save. Raises :class:`Conflict`
    when it no longer reads ``expected`` (edited since), :class:`BadParameter` for no such
    sentence."""
    recording = catalog.get(recording_id)
    segments = catalog.segments(recording_id)
    if not 0 <= position < len(segments):
        raise BadParameter("position", str(position), "no such sentence in the transcript")
    if segments[position].text != expected:
        raise Conflict("that sentence was edited since; open the editor to change it")
    cues = _cues(segments, {position: text})
    version = recording.transcript_version
    return save_transcript(catalog, storage, index, recording_id, cues, version)
