"""Staff pages: the Jobs page and its actions. Every view here needs a signed-in account."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, url_for

from library.errors import Conflict
from library.models import Recording, Status
from web.app import services
from web.auth import staff_required
from web.shapes import job_json

bp = Blueprint("staff", __name__)

# Finished jobs stay on the Jobs page this long, so staff see what just completed.
RECENT = dt.timedelta(days=2)


def _jobs() -> list[Recording]:
    """Unfinished, failed and cancelled jobs, and those finished recently; newest first."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    shown = [
        r
        for r in services().catalog.recordings()
        if not r.status.is_finished or now - r.created_at < RECENT
    ]
    return list(reversed(shown))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@bp.get("/jobs")
@staff_required
def jobs() -> str:
    now = _now()
    return render_template("jobs.html", jobs=[job_json(r, now) for r in _jobs()])


@bp.get("/api/jobs")
@staff_required
def jobs_json() -> Response:
    now = _now()
    return jsonify([job_json(r, now) for r in _jobs()])


def _act(recording_id: str, action: str) -> Recording:
    """Retry a failed or cancelled job, or cancel a waiting or running one.

    Raises :class:`RecordingNotFound`, or :class:`Conflict` when the job is not in a state
    the action applies to.
    """
    recording = services().catalog.get(recording_id)
    if action == "retry":
        if recording.status not in (Status.FAILED, Status.CANCELLED):
            raise Conflict(f"{recording.title!r} is {recording.status.value}: nothing to retry")
        recording = services().pipeline.requeue(recording_id)
        services().jobs.enqueue(recording_id)
        return recording
    if not recording.status.is_pending:
        raise Conflict(f"{recording.title!r} is {recording.status.value}: nothing to cancel")
    return services().pipeline.cancel(recording_id)


_ACTIONS = "<any(retry, cancel):action>"


@bp.post(f"/api/jobs/<recording_id>/{_ACTIONS}")
@staff_required
def job_action_json(recording_id: str, action: str) -> Any:
    return jsonify(job_json(_act(recording_id, action), _now()))


@bp.post(f"/jobs/<recording_id>/{_ACTIONS}")
@staff_required
def job_action(recording_id: str, action: str) -> Any:
    recording = _act(recording_id, action)
    flash(f"{recording.title}: {'queued again' if action == 'retry' else 'cancelled'}.")
    return redirect(url_for("staff.jobs"))
