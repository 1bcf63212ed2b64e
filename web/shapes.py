"""The JSON shapes shared by the CLI's --json output and the API: a contract that scripts parse."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from library.models import Recording, SearchResults, recording_url


def results_json(results: SearchResults) -> dict[str, Any]:
    """``recall search --json`` and ``/api/search``. Beyond the contract's three keys:
    "recordings" (found by their title, speakers, event, tags or description; an empty list
    when none), "page" and "pages", "moments" (how many are listed, how many exist, whether
    that is an estimate, how many each recording has); "suggestion" and "corrected" only
    when a word was misspelled, "related" only when nothing was found, "facets" only when
    asked for. Each hit also names the recording's speakers, where the transcript labels
    it the sentence's own speaker, and the words of the query it lacks ("missing")."""
    extra: dict[str, Any] = {}
    if results.suggestion:
        extra.update(suggestion=results.suggestion, corrected=results.corrected)
    if results.facets:
        extra["facets"] = results.facets
    if results.related:
        extra["related"] = list(results.related)
    return {
        "query": results.query,
        "total": results.total,
        "hits": [
            {
                "recording_id": h.recording_id,
                "title": h.title,
                "start": h.start,
                "end": h.end,
                "text": h.text,
                "snippet": h.snippet,
                "url": h.url,
                "speakers": list(h.speakers),
                "speaker": h.speaker,
                "missing": list(h.missing),
            }
            for h in results.hits
        ],
        "recordings": [
            {
                "id": m.id,
                "title": m.title,
                "event": m.event,
                "speakers": list(m.speakers),
                "tags": list(m.tags),
                "url": m.url,
                "matched": list(m.matched),
            }
            for m in results.recordings
        ],
        "page": results.page,
        "pages": results.pages,
        "moments": {
            "listed": len(results.hits),
            "total": results.total,
            "estimated": results.estimated,
            "per_recording": results.per_recording,
        },
    } | extra


def summary_json(recording: Recording) -> dict[str, Any]:
    """An entry of ``recall list --json`` and ``/api/recordings``."""
    meta = recording.meta
    return {
        "id": recording.id,
        "title": meta.title,
        "event": meta.event,
        "speakers": list(meta.speakers),
        "recorded_on": meta.recorded_on.isoformat() if meta.recorded_on else None,
        "duration": round(recording.duration, 3),
        "status": recording.status.value,
        "visibility": meta.visibility.value,
        "transcript": recording.transcript_state,
    }


# What only staff see of a recording: the uploaded file's name and how its processing went.
STAFF_FIELDS = ("source_name", "stages_done", "error", "note")


def visitor_json(detail: dict[str, Any]) -> dict[str, Any]:
    """A :func:`detail_json` as a visitor may see it: without :data:`STAFF_FIELDS`."""
    return {k: v for k, v in detail.items() if k not in STAFF_FIELDS}


def detail_json(recording: Recording, segment_count: int) -> dict[str, Any]:
    """``recall show --json`` and ``/api/recordings/<id>``: the summary and more."""
    meta = recording.meta
    return summary_json(recording) | {
        "tags": list(meta.tags),
        "description": meta.description,
        "language": meta.language,
        "source_name": recording.source_name,
        "media": dataclasses.asdict(recording.media_info) if recording.media_info else None,
        "stages_done": list(recording.stages_done),
        "error": recording.error,
        "note": recording.note,
        "url": f"/r/{recording.id}",
        "segments": segment_count,
    }


def job_json(recording: Recording, now: dt.datetime) -> dict[str, Any]:
    """An entry of ``/api/jobs``: where a recording's processing stands."""
    progress = recording.overall_progress
    eta = None
    if recording.status.is_pending and recording.started_at and 0.03 < progress < 1:
        elapsed = (now - recording.started_at).total_seconds()
        eta = round(elapsed * (1 - progress) / progress)
    return {
        "id": recording.id,
        "title": recording.title,
        "source_name": recording.source_name,
        "status": recording.status.value,
        "stage": recording.stage,
        "progress": round(progress, 4),
        "eta_seconds": eta,
        "error": recording.error,
        "note": recording.note,
        "is_running": bool(recording.worker),
        "created_at": recording.created_at.isoformat() + "Z",
        "url": recording_url(recording.id),
    }
