"""Staff review of transcripts: marking one reviewed (or back to machine) publishes or hides
its words, under [library] publish = "after review"; the index follows at once."""

from __future__ import annotations

from index.search import TranscriptIndex
from ingest.publish import publish
from library.catalog import Catalog
from library.clock import utc_now
from library.errors import Conflict
from library.models import Recording
from library.storage import Storage


def mark_reviewed(
    catalog: Catalog, storage: Storage, index: TranscriptIndex, recording_id: str, reviewer: str
) -> Recording:
    """Record that ``reviewer`` (a staff email) checked the transcript; it becomes public to
    visitors who may open the recording. Raises :class:`Conflict` before it is transcribed."""
    recording = catalog.get(recording_id)
    if not recording.status.is_finished:
        raise Conflict(f"{recording.title!r} is {recording.status.value}: nothing to review yet")
    catalog.update(recording_id, reviewed_by=reviewer, reviewed_at=utc_now())
    return publish(catalog, storage, index, recording_id)


def mark_machine(
    catalog: Catalog, storage: Storage, index: TranscriptIndex, recording_id: str
) -> Recording:
    """Back to an unreviewed machine transcript (hidden from visitors under "after review")."""
    catalog.update(recording_id, reviewed_by=None, reviewed_at=None)
    return publish(catalog, storage, index, recording_id)
