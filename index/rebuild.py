"""Building a whole index afresh beside the one in use, then swapping it in."""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

from index import recordings
from index.schema import PUBLISH_FILE, documents
from index.search import TranscriptIndex
from index.semantic import SemanticIndex
from library.models import Publish, Recording, Segment


def rebuild_index(
    directory: Path,
    transcripts: Iterable[tuple[Recording, Sequence[Segment]]],
    semantic: SemanticIndex | None = None,
    publish: Publish = Publish.IMMEDIATELY,
) -> int:
    """Build a fresh index beside ``directory`` from ``transcripts``, then swap it in.
    With ``semantic``, recordings whose sentences were never embedded are embedded too.

    Searchers open on the old index keep working until they refresh. Returns the number of
    recordings indexed.
    """
    fresh = directory.with_name(directory.name + ".new")
    old = directory.with_name(directory.name + ".old")
    shutil.rmtree(fresh, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)
    index = TranscriptIndex(fresh)
    count = 0
    with (
        index._writer() as sentences,
        index._writer(passages=True) as passages,
        index._writer(metadata=True) as metadata,
    ):
        for recording, segments in transcripts:
            recordings.write(metadata, recording)
            for doc in documents(recording, segments, publish=publish):
                sentences.add_document(**doc)
            for doc in documents(recording, segments, passages=True, publish=publish):
                passages.add_document(**doc)
            if semantic is not None and not semantic.has(recording.id):
                semantic.index_recording(recording.id, list(segments))
            count += 1
    index.close()
    (fresh / PUBLISH_FILE).write_text(publish.value + "\n", encoding="utf-8")
    if directory.exists():
        directory.rename(old)
    fresh.rename(directory)
    shutil.rmtree(old, ignore_errors=True)
    return count
