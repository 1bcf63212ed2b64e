"""Counting what matched: moments per event, speaker and tag (the facets), and which
recordings found by their metadata the search's own filters keep."""

from __future__ import annotations

from collections import Counter
from typing import Any, Protocol

from index import matching
from index.memo import PerReader
from index.schema import index_key
from library.models import RecordingMatch

# Per searcher: each recording's event, speakers and tags, as its sentences hold them.
_FACET_VALUES: PerReader[tuple[str, tuple[str, ...], tuple[str, ...]]] = PerReader()


class Narrowing(Protocol):
    @property
    def event(self) -> str | None: ...
    @property
    def speaker(self) -> str | None: ...
    @property
    def tag(self) -> str | None: ...


def facets(searcher: Any, results: Any, tally: Counter[bytes]) -> dict[str, dict[str, int]]:
    """Moments (sentences) per event, speaker and tag among what matched, from the matches
    per recording the search counted as it went: exact up to its budget, then scaled up from
    its even sample of the index."""
    scale = matching.scale(results, tally)
    counts: dict[str, Counter[str]] = {"event": Counter(), "speaker": Counter(), "tag": Counter()}
    for rid, n in tally.items():
        event, names, tags = facet_values(searcher, rid.decode())
        if event:
            counts["event"][event] += n
        for name in names:
            counts["speaker"][name] += n
        for tag in tags:
            counts["tag"][tag] += n
    return {
        name: {k: round(v * scale) for k, v in sorted(c.items(), key=_most_first)}
        for name, c in counts.items()
        if c or name != "tag"
    }


def facet_values(searcher: Any, recording_id: str) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """A recording's event, speakers and tags (kept per searcher)."""

    def read() -> tuple[str, tuple[str, ...], tuple[str, ...]]:
        doc = searcher.document(recording_id=recording_id) or {}
        return doc.get("event", ""), tuple(doc.get("speakers", ())), tuple(doc.get("tags", ()))

    return _FACET_VALUES.get(searcher, recording_id, read)


def within_options(match: RecordingMatch, options: Narrowing) -> bool:
    """Whether a recording found by its metadata is one the search's filters keep."""
    if options.event and index_key(options.event) != index_key(match.event):
        return False
    if options.speaker and index_key(options.speaker) not in map(index_key, match.speakers):
        return False
    return not options.tag or index_key(options.tag) in map(index_key, match.tags)


def _most_first(item: tuple[str, int]) -> tuple[int, str]:
    return -item[1], item[0]
