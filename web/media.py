"""Media files, with HTTP Range, validators and long-lived caching; clips and stills."""

from __future__ import annotations

from flask import Blueprint, Response, request, send_file

from library.errors import BadParameter
from web.auth import current_staff
from web.downloads import file_name
from web.present import clip_range, time_param
from web.services import services

bp = Blueprint("media", __name__)

# A recording's files never change under the same name: caches may keep them a year.
ONE_YEAR = 365 * 24 * 3600


@bp.get("/media/<recording_id>/<name>")
def media_file(recording_id: str, name: str) -> Response:
    path = services().media_file(recording_id, name, current_staff())
    # conditional: Range (206/416), ETag, Last-Modified, If-None-Match and If-Range.
    return send_file(path, conditional=True, etag=True, max_age=ONE_YEAR)


@bp.get("/r/<recording_id>/clip.<ext>")
def clip_download(recording_id: str, ext: str) -> Response:
    recording = services().viewable(recording_id, current_staff())
    clip = clip_range(request.args.get("start"), request.args.get("end"), recording.duration)
    if clip is None or ext not in {"mp4", "m4a"}:
        raise BadParameter("start", request.args.get("start", ""), "a clip needs start and end")
    cut = services().clip_file(recording, clip.start, clip.end)
    name = file_name(recording.title, f" {cut.start:.2f}-{cut.end:.2f}{cut.path.suffix}", limit=60)
    return send_file(
        cut.path, conditional=True, max_age=ONE_YEAR, as_attachment=True, download_name=name
    )


@bp.get("/media/<recording_id>/still.jpg")
def still(recording_id: str) -> Response:
    recording = services().viewable(recording_id, current_staff())
    at = time_param("t", request.args.get("t"), recording.duration) or 0.0
    return send_file(services().frame_file(recording, at), conditional=True, max_age=ONE_YEAR)
