"""Pure helpers between requests and pages: times from query strings, clip ranges, grouping."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

from index.hits import PER_RECORDING, snippet
from index.schema import index_terms
from library.clips import clip_edges, mostly_within
from library.errors import BadParameter
from library.models import SearchHit, Segment
from library.timecode import parse_time


@dataclass(frozen=True)
class ClipRange:
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


def time_param(name: str, value: str | None, duration: float) -> float | None:
    """A time from a query string, clamped into the recording. Raises :class:`BadParameter`."""
    if value is None or value == "":
        return None
    try:
        seconds = parse_time(value)
    except ValueError as e:
        raise BadParameter(name, value, "not a time (use 95, 95.5, 1m35s or 1:35)") from e
    return min(max(0.0, seconds), duration)


def clip_range(start: str | None, end: str | None, duration: float) -> ClipRange | None:
    """The clip a ``?start=&end=`` asks for, or None for the whole recording.

    A missing end runs to the end of the recording. Raises :class:`BadParameter` when start is
    not before end or a time cannot be read.
    """
    begin = time_param("start", start, duration)
    finish = time_param("end", end, duration)
    if begin is None and finish is None:
        return None
    begin = begin or 0.0
    finish = duration if finish is None else finish
    if begin >= finish:
        raise BadParameter("start", start or "0", "the clip must start before it ends")
    return ClipRange(begin, finish)


def snapped(
    clip: ClipRange | None, segments: Sequence[Segment], duration: float
) -> ClipRange | None:
    """The clip as it is played, cut, captioned and titled: ``clip`` snapped to whole sentences
    by :func:`library.clips.clip_edges`, the one place that decides a clip's edges."""
    if clip is None:
        return None
    return ClipRange(*clip_edges(segments, clip.start, clip.end, duration))


def embed_code(src: str, title: str, max_width: int | None = None) -> str:
    """The HTML another site pastes to show a player: the "Copy embed code" box and oEmbed's
    ``html`` both. A 16:9 box as wide as its column (the padding, a percentage of the width,
    gives the height), at most ``max_width`` pixels wide when the consumer asked. Every value
    is escaped: a title is text, never markup on the partner's page."""
    frame = (
        '<div style="position:relative;padding-top:56.25%">'
        f'<iframe src="{html.escape(src)}" title="{html.escape(title)}" '
        'style="position:absolute;top:0;left:0;width:100%;height:100%;border:0" '
        'allow="autoplay; fullscreen" allowfullscreen></iframe></div>'
    )
    if max_width is None:
        return frame
    return f'<div style="max-width:{int(max_width)}px">{frame}</div>'


def hit_clip(hit: SearchHit, duration: float) -> ClipRange:
    """The range a hit's "clip" action offers: the hit's own sentence (or passage), unpadded.

    A hit's times are its sentences' edges, so the clip page's snapping keeps them; padding
    would reach into the neighbouring sentences and snap them in.
    """
    return ClipRange(max(0.0, hit.start), min(duration, max(hit.start, hit.end)))


@dataclass(frozen=True)
class HitGroup:
    recording_id: str
    title: str
    event: str
    hits: tuple[SearchHit, ...]


def group_hits(hits: Sequence[SearchHit], per_recording: int = PER_RECORDING) -> list[HitGroup]:
    """Hits grouped by recording, in the order of each recording's best hit."""
    groups: dict[str, list[SearchHit]] = {}
    for hit in hits:
        groups.setdefault(hit.recording_id, []).append(hit)
    return [
        HitGroup(rid, found[0].title, found[0].event, tuple(found[:per_recording]))
        for rid, found in groups.items()
    ]


def segments_in(segments: Sequence[Segment], clip: ClipRange | None) -> list[Segment]:
    """The sentences a clip shows in its transcript and captions: those mostly inside it."""
    if clip is None:
        return list(segments)
    return mostly_within(segments, clip.start, clip.end)


def shift(segments: Sequence[Segment], by: float) -> list[Segment]:
    """Segments with times moved by ``-by``: a clip's own captions start at 0."""
    return [Segment(max(0.0, s.start - by), max(0.0, s.end - by), s.text) for s in segments]


def marked(text: str, query: str) -> Markup:
    """``text`` escaped, with the words of ``query`` (stemmed as search matches them) in a
    ``<mark>``: what matched in a recording's title, speakers, event or tags."""
    return Markup(snippet(text, set(index_terms(query))))
