"""Staff review of transcripts: marking one reviewed (or back to machine) publishes or hides
its words, under [library] publish = "after review"; the index follows at once."""

from __future__ import annotations

from ingest.manage import publish
from ingest.pipeline import Pipeline
from library.clock import utc_now
from library.errors import Conflict
from library.models import Recording


def mark_reviewed(pipeline: Pipeline, recording_id: str, reviewer: str) -> Recording:
    """Record that ``reviewer`` (a staff email) checked the transcript; it becomes public to
    visitors who may open the recording. Raises :class:`Conflict` before it is transcribed."""
    recording = pipeline.catalog.get(recording_id)
    if not recording.status.is_finished:
        raise Conflict(f"{recording.title!r} is {recording.status.value}: nothing to review yet")
    pipeline.catalog.update(recording_id, reviewed_by=reviewer, reviewed_at=utc_now())
    return publish(pipeline, recording_id)


def mark_machine(pipeline: Pipeline, recording_id: str) -> Recording:
    """Back to an unreviewed machine transcript (hidden from visitors under "after review")."""
    pipeline.catalog.update(recording_id, reviewed_by=None, reviewed_at=None)
    return publish(pipeline, recording_id)
