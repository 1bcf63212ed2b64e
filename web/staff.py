"""Staff pages: the Jobs page and its actions, and the accounts page for administrators.
Every view here needs a signed-in account."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for

from ingest import manage
from ingest.coverage import low_coverage_note
from ingest.liveness import SILENCE_SECONDS, live_workers
from library.clock import utc_now
from library.errors import BadParameter, Conflict, UserNotFound
from library.models import Recording, Role, Status
from web.auth import admin_required, current_staff, staff_required
from web.services import services
from web.shapes import job_json

bp = Blueprint("staff", __name__)

# Finished jobs stay on the Jobs page this long, so staff see what just completed.
RECENT = dt.timedelta(days=2)


def _jobs() -> list[Recording]:
    """Unfinished, failed and cancelled jobs, and those finished recently; newest first."""
    now = utc_now()
    shown = [
        r
        for r in services().catalog.recordings()
        if not r.status.is_finished or now - r.created_at < RECENT
    ]
    return list(reversed(shown))


def _job(recording: Recording, now: dt.datetime) -> dict[str, Any]:
    """A job as the page and /api/jobs show it, with a warning when speech went missing."""
    low = services().config.transcribe.low_coverage
    return {
        **job_json(recording, now),
        "speech_coverage": recording.speech_coverage,
        "coverage_note": low_coverage_note(recording.speech_coverage, low),
    }


NO_WORKER = "No worker is running: jobs will wait"


def _no_worker() -> str:
    """The notice staff see when no `recall worker` has been alive for a while, else ""."""
    if live_workers(services().config.data_dir):
        return ""
    return f"{NO_WORKER} (none alive in the last {SILENCE_SECONDS:g} s; start `recall worker`)."


@bp.get("/jobs")
@staff_required
def jobs() -> str:
    now = utc_now()
    return render_template(
        "jobs.html", jobs=[_job(r, now) for r in _jobs()], no_worker=_no_worker()
    )


@bp.get("/api/jobs")
@staff_required
def jobs_json() -> Response:
    """The list of jobs (its shape is a contract); whether any worker runs is in headers:
    ``Recall-Workers`` counts the live ones, and ``Warning`` says so plainly when none is."""
    now = utc_now()
    response = jsonify([_job(r, now) for r in _jobs()])
    response.headers["Recall-Workers"] = str(live_workers(services().config.data_dir))
    if notice := _no_worker():
        response.headers["Warning"] = f'199 recall "{notice}"'
    return response


def _act(recording_id: str, action: str) -> Recording:
    """Retry a failed or cancelled job, or cancel a waiting or running one.

    Raises :class:`RecordingNotFound`, or :class:`Conflict` when the job is not in a state
    the action applies to.
    """
    recording = services().catalog.get(recording_id)
    if action == "retry":
        if recording.status not in (Status.FAILED, Status.CANCELLED):
            raise Conflict(f"{recording.title!r} is {recording.status.value}: nothing to retry")
        recording = manage.requeue(services().catalog, recording_id)
        services().jobs.enqueue(recording_id)
        return recording
    if not recording.status.is_pending:
        raise Conflict(f"{recording.title!r} is {recording.status.value}: nothing to cancel")
    return manage.cancel(services().catalog, recording_id)


_ACTIONS = "<any(retry, cancel):action>"


@bp.post(f"/api/jobs/<recording_id>/{_ACTIONS}")
@staff_required
def job_action_json(recording_id: str, action: str) -> Any:
    return jsonify(job_json(_act(recording_id, action), utc_now()))


@bp.post(f"/jobs/<recording_id>/{_ACTIONS}")
@staff_required
def job_action(recording_id: str, action: str) -> Any:
    recording = _act(recording_id, action)
    flash(f"{recording.title}: {'queued again' if action == 'retry' else 'cancelled'}.")
    return redirect(url_for("staff.jobs"))


# -- accounts (administrators) ------------------------------------------------------------------


@bp.get("/users")
@admin_required
def users() -> str:
    return render_template("users.html", users=services().users.all(), roles=list(Role))


@bp.post("/users")
@admin_required
def add_user() -> Any:
    role = request.form.get("role", "")
    if role not in {r.value for r in Role}:
        raise BadParameter("role", role, "staff or admin")
    user, _ = services().users.add(
        request.form.get("email", ""), request.form.get("password", ""), Role(role)
    )
    flash(f"Added {user.email} ({user.role.value}). They can sign in now.")
    return redirect(url_for("staff.users"))


@bp.post("/users/<int:user_id>/<any(role, remove):action>")
@admin_required
def change_user(user_id: int, action: str) -> Any:
    me = current_staff()
    user = services().users.get(user_id)
    if user is None or me is None:
        raise UserNotFound(str(user_id))
    if user.id == me.id:
        raise Conflict("you cannot change or remove your own account here; ask another admin")
    if action == "remove":
        services().users.remove(user.email)
        flash(f"Removed {user.email}: their sessions and API token no longer work.")
    else:
        role = request.form.get("role", "")
        if role not in {r.value for r in Role}:
            raise BadParameter("role", role, "staff or admin")
        services().users.set_role(user.email, Role(role))
        flash(f"{user.email} is now {role}.")
    return redirect(url_for("staff.users"))
