"""Media files, with HTTP Range, validators and long-lived caching; clips and stills.

With ``[web] accel_redirect`` set, the permission check still runs here, but the bytes are
sent by nginx (``X-Accel-Redirect``), so no Python thread is held while a video streams.
"""

from __future__ import annotations

import mimetypes
import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from flask import Blueprint, Response, request, send_file

from library.errors import BadParameter
from web.auth import current_staff
from web.downloads import file_name
from web.present import clip_range, time_param
from web.services import services

bp = Blueprint("media", __name__)

# A recording's files never change under the same name: caches may keep them a year.
ONE_YEAR = 365 * 24 * 3600


def _deliver(path: Path, download_name: str | None = None) -> Response:
    """``path`` (inside the media folder) as a response: streamed by Python, or handed to nginx."""
    config = services().config
    prefix = config.web.accel_redirect
    if not prefix:
        # conditional: Range (206/416), ETag, Last-Modified, If-None-Match and If-Range.
        return send_file(
            path,
            conditional=True,
            etag=True,
            max_age=ONE_YEAR,
            as_attachment=download_name is not None,
            download_name=download_name,
        )
    relative = path.relative_to(config.media_dir).as_posix()
    mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    response = Response(b"", status=200, mimetype=mimetype)
    # nginx answers Range, If-None-Match and the rest itself, from the file it is told to send.
    response.headers["X-Accel-Redirect"] = quote(prefix + relative, safe="/")
    # The same caching as send_file gives (app.py makes it private for staff).
    response.cache_control.public = True
    response.cache_control.max_age = ONE_YEAR
    response.expires = datetime.now(UTC) + timedelta(seconds=ONE_YEAR)
    if download_name is not None:
        response.headers.set("Content-Disposition", "attachment", **_filename(download_name))
    return response


def _filename(name: str) -> dict[str, str]:
    # As werkzeug's send_file does: an ASCII filename, and the exact one as filename*.
    try:
        name.encode("ascii")
    except UnicodeEncodeError:
        simple = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
        return {"filename": simple, "filename*": "UTF-8''" + quote(name, safe="!#$&+^`|~")}
    return {"filename": name}


@bp.get("/media/<recording_id>/<name>")
def media_file(recording_id: str, name: str) -> Response:
    return _deliver(services().media_file(recording_id, name, current_staff()))


@bp.get("/r/<recording_id>/clip.<ext>")
def clip_download(recording_id: str, ext: str) -> Response:
    recording = services().viewable(recording_id, current_staff())
    clip = clip_range(request.args.get("start"), request.args.get("end"), recording.duration)
    if clip is None or ext not in {"mp4", "m4a"}:
        raise BadParameter("start", request.args.get("start", ""), "a clip needs start and end")
    cut = services().clip_file(recording, clip.start, clip.end)
    name = file_name(recording.title, f" {cut.start:.2f}-{cut.end:.2f}{cut.path.suffix}", limit=60)
    return _deliver(cut.path, download_name=name)


@bp.get("/media/<recording_id>/still.jpg")
def still(recording_id: str) -> Response:
    recording = services().viewable(recording_id, current_staff())
    at = time_param("t", request.args.get("t"), recording.duration) or 0.0
    return _deliver(services().frame_file(recording, at))
