"""Where a clip may start and end, and where a still may be taken: a finite set of each.

Every distinct range a visitor asks for would otherwise be a new ffmpeg run and a new cached
file. Snapping ranges to the recording's sentences (or, with no transcript, to whole seconds)
and stills to whole seconds makes the set of cuts a recording can cause finite and small, and
gives clips that start and end where someone starts and stops speaking.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from library.models import Segment

# Without a transcript, clip edges and stills snap to multiples of this many seconds.
GRID_SECONDS = 1.0
# The last frame of a video starts about a frame before its end; a still is never taken later.
LAST_FRAME_MARGIN = 0.1


def _grid(start: float, end: float, duration: float) -> tuple[float, float]:
    first = min(math.floor(start / GRID_SECONDS) * GRID_SECONDS, duration)
    last = min(math.ceil(end / GRID_SECONDS) * GRID_SECONDS, duration)
    if last <= first:
        # A range inside the last part-second of the recording: its last whole second.
        first = max(0.0, min(first, math.ceil(duration / GRID_SECONDS - 1) * GRID_SECONDS))
        last = duration
    return first, last


def clip_edges(
    segments: Sequence[Segment], start: float, end: float, duration: float
) -> tuple[float, float]:
    """The clip to cut for ``start``..``end``: whole sentences of ``segments``.

    The start moves to the start of the sentence holding it (or, in a pause, the next one);
    the end to the end of the sentence holding it (or the one before). A range that holds no
    sentence, or a recording with no transcript, snaps outwards to whole seconds. The result
    always lies within ``0..duration`` and is not empty (for a positive duration).
    """
    start = min(max(0.0, start), duration)
    end = min(max(start, end), duration)
    spoken = sorted((s for s in segments if s.end > s.start), key=lambda s: s.start)
    first = next((s.start for s in spoken if s.end > start), None)
    last = next((s.end for s in reversed(spoken) if s.start < end), None)
    if first is None or last is None or first >= last:
        return _grid(start, end, duration)
    return max(0.0, first), min(duration, last)


def mostly_within(segments: Sequence[Segment], start: float, end: float) -> list[Segment]:
    """The sentences of ``segments`` more than half of which lies inside ``start``..``end``.

    A clip's captions and its transcript list these: a neighbouring sentence that overlaps
    the clip's edge by a few hundredths of a second (Whisper's sentences may touch or overlap)
    is not part of the clip.
    """
    chosen = []
    for s in segments:
        length = s.end - s.start
        inside = min(end, s.end) - max(start, s.start)
        if (length > 0 and inside > length / 2) or (length <= 0 and start <= s.start < end):
            chosen.append(s)
    return chosen


def still_time(at: float, duration: float) -> float:
    """The time a still for ``at`` is taken: whole seconds, never past the last frame."""
    latest = max(0.0, duration - LAST_FRAME_MARGIN)
    return float(math.floor(min(max(0.0, at), latest) / GRID_SECONDS) * GRID_SECONDS)
