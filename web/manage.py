"""Staff management of one recording: details, transcript editing and import, re-transcribe,
delete. Pages post forms (with the CSRF token); the same operations are in the JSON API for
scripts (with an API token) and for the transcript editor's script."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for

from ingest import manage
from ingest.captions import transcript_document
from ingest.coverage import GAPS_FILE, low_coverage_note, read_gaps
from ingest.edits import Cue
from library.errors import BadParameter
from library.metadata import EDITABLE, MEDIA_EXTENSIONS, meta_from_fields
from library.models import Recording, Visibility
from web.auth import staff_required
from web.glossary import mark_unsure
from web.services import services
from web.shapes import detail_json

bp = Blueprint("manage", __name__)


def _cues(body: Any) -> tuple[list[Cue], int | None]:
    """The editor's JSON: {"version": n, "segments": [{"start", "end", "text", "speaker"}]}."""
    if not isinstance(body, dict) or not isinstance(body.get("segments"), list):
        raise BadParameter("body", "", 'send JSON {"version": n, "segments": [...]}')
    cues = []
    for number, item in enumerate(body["segments"], start=1):
        try:
            cues.append(
                Cue(
                    float(item["start"]),
                    float(item["end"]),
                    str(item["text"]),
                    str(item.get("speaker") or ""),
                )
            )
        except (KeyError, TypeError, ValueError) as e:
            raise BadParameter(f"cue {number}", str(item)[:60], "needs start, end and text") from e
    version = body.get("version")
    return cues, int(version) if isinstance(version, int) else None


def _transcript_json(recording: Recording) -> dict[str, Any]:
    segments = services().catalog.segments(recording.id)
    doc = transcript_document(segments, recording) | {
        "version": recording.transcript_version,
        "can_undo": recording.can_undo,
    }
    mark_unsure(doc, segments, recording)
    return doc


# -- pages --------------------------------------------------------------------------------------


@bp.get("/r/<recording_id>/manage")
@staff_required
def manage_page(recording_id: str) -> str:
    recording = services().catalog.get(recording_id)
    return render_template(
        "manage.html",
        recording=recording,
        visibilities=list(Visibility),
        models=manage.KNOWN_MODELS,
        default_model=services().config.transcribe.model,
        extensions=sorted(MEDIA_EXTENSIONS),
        max_mb=services().config.web.max_upload_mb,
        coverage_note=low_coverage_note(
            recording.speech_coverage, services().config.transcribe.low_coverage
        ),
    )


@bp.post("/r/<recording_id>/manage")
@staff_required
def save_details(recording_id: str) -> Any:
    recording = services().catalog.get(recording_id)
    fields = {name: request.form.get(name) for name in EDITABLE if name in request.form}
    meta = meta_from_fields(fields, recording.meta)
    s = services()
    manage.update_metadata(s.catalog, s.storage, s.index, recording_id, meta)
    flash("Details saved.")
    return redirect(url_for("manage.manage_page", recording_id=recording_id))


@bp.post("/r/<recording_id>/retranscribe")
@staff_required
def retranscribe(recording_id: str) -> Any:
    default = services().config.transcribe.model
    model = request.form.get("model", "") or default
    recording = manage.retranscribe(services().catalog, recording_id, model, default=default)
    services().jobs.enqueue(recording_id)
    flash(f"{recording.title}: queued to be transcribed again with {model}.")
    return redirect(url_for("staff.jobs"))


@bp.post("/r/<recording_id>/delete")
@staff_required
def delete(recording_id: str) -> Any:
    s = services()
    recording = s.catalog.get(recording_id)
    manage.delete_recording(s.catalog, s.storage, s.index, recording_id)
    flash(f"Deleted {recording.title!r}: its media, transcript and search entries are gone.")
    return redirect(url_for("pages.library"))


@bp.post("/r/<recording_id>/captions")
@staff_required
def import_captions(recording_id: str) -> Any:
    upload = request.files.get("captions")
    if upload is None or not upload.filename:
        raise BadParameter("captions", "", "choose a .vtt or .srt file")
    data = upload.stream.read(manage.MAX_CAPTION_BYTES + 1)
    text = manage.decode_captions(data, upload.filename)
    s = services()
    recording = manage.import_captions(
        s.catalog, s.storage, s.index, recording_id, text, upload.filename
    )
    flash(f"Captions from {upload.filename} are now the transcript of {recording.title!r}.")
    return redirect(url_for("manage.manage_page", recording_id=recording_id))


@bp.get("/r/<recording_id>/edit")
@staff_required
def editor(recording_id: str) -> str:
    recording = services().catalog.get(recording_id)
    gaps = read_gaps(services().storage.file(recording.id, GAPS_FILE))
    return render_template(
        "editor.html",
        recording=recording,
        transcript=_transcript_json(recording),
        gaps=gaps,
        coverage_note=low_coverage_note(
            recording.speech_coverage, services().config.transcribe.low_coverage
        ),
    )


@bp.post("/r/<recording_id>/undo")
@staff_required
def undo(recording_id: str) -> Any:
    s = services()
    manage.undo_transcript(s.catalog, s.storage, s.index, recording_id)
    flash("The transcript is back to how it was before the last save.")
    return redirect(url_for("manage.editor", recording_id=recording_id))


# -- JSON API -----------------------------------------------------------------------------------


@bp.patch("/api/recordings/<recording_id>")
@staff_required
def api_update(recording_id: str) -> Response:
    recording = services().catalog.get(recording_id)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadParameter("body", "", "send a JSON object of the fields to change")
    unknown = set(body) - set(EDITABLE)
    if unknown:
        raise BadParameter("body", ", ".join(sorted(unknown)), "unknown fields")
    meta = meta_from_fields(body, recording.meta)
    s = services()
    updated = manage.update_metadata(s.catalog, s.storage, s.index, recording_id, meta)
    return jsonify(detail_json(updated, len(s.catalog.segments(recording_id))))


@bp.delete("/api/recordings/<recording_id>")
@staff_required
def api_delete(recording_id: str) -> Response:
    s = services()
    manage.delete_recording(s.catalog, s.storage, s.index, recording_id)
    return Response(status=204)


@bp.get("/api/recordings/<recording_id>/transcript")
@staff_required
def api_transcript(recording_id: str) -> Response:
    return jsonify(_transcript_json(services().catalog.get(recording_id)))


@bp.put("/api/recordings/<recording_id>/transcript")
@staff_required
def api_save_transcript(recording_id: str) -> Response:
    cues, version = _cues(request.get_json(silent=True))
    s = services()
    recording = manage.save_transcript(s.catalog, s.storage, s.index, recording_id, cues, version)
    return jsonify(_transcript_json(recording))


@bp.post("/api/recordings/<recording_id>/transcript/undo")
@staff_required
def api_undo(recording_id: str) -> Response:
    s = services()
    recording = manage.undo_transcript(s.catalog, s.storage, s.index, recording_id)
    return jsonify(_transcript_json(recording))


@bp.post("/api/recordings/<recording_id>/retranscribe")
@staff_required
def api_retranscribe(recording_id: str) -> Response:
    body = request.get_json(silent=True) or {}
    default = services().config.transcribe.model
    model = str(body.get("model") or default)
    recording = manage.retranscribe(services().catalog, recording_id, model, default=default)
    services().jobs.enqueue(recording_id)
    return jsonify(detail_json(recording, 0))
