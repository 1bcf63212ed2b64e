"""What a transcribed recording shows: its caption files and its search index entries.

Both are made from the catalog, by the pipeline's "captions" and "index" stages and by every
staff edit, through :func:`publish`: an edit and a fresh ingest leave the same files and
entries.
"""

from __future__ import annotations

from collections.abc import Sequence

from index.search import TranscriptIndex
from ingest import captions
from library.atomic import atomic_text
from library.catalog import Catalog
from library.models import Recording, Segment
from library.storage import Storage


def write_captions(storage: Storage, recording: Recording, segments: Sequence[Segment]) -> None:
    """The transcript as WebVTT, SRT, plain text and JSON files, each written atomically."""
    for fmt, write in captions.WRITERS.items():
        with atomic_text(storage.transcript(recording.id, fmt)) as f:
            write(segments, f, recording)


def publish(
    catalog: Catalog, storage: Storage, index: TranscriptIndex, recording_id: str, stage: str = ""
) -> Recording:
    """Make the recording's caption files and index entries again from the catalog.

    Staff edits make both (no ``stage``); a recording not finished then stays out of the
    index, which its job fills when it gets there. The pipeline makes one per ``stage``
    ("captions", then "index"), each resumed on its own; its index stage indexes the
    recording it is about to finish.

    Raises :class:`RecordingNotFound`.
    """
    recording = catalog.get(recording_id)
    segments = catalog.segments(recording_id)
    if stage in ("", "captions"):
        write_captions(storage, recording, segments)
    if stage == "index" or (not stage and recording.status.is_finished):
        index.index_recording(recording, segments)
    return recording
