"""The JSON API, mirroring the pages, and oEmbed."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import parse_qs, urlsplit

from flask import Blueprint, Response, abort, jsonify, request, url_for

from ingest.captions import WRITERS
from library.errors import BadParameter, TranscriptNotPublished
from web.auth import current_staff
from web.downloads import attachment, file_name
from web.pages import clip_title, embed_snippet, moments_data, search_options
from web.present import clip_range, embed_code, segments_in, shift, snapped
from web.services import services
from web.shapes import detail_json, results_json, summary_json, visitor_json

bp = Blueprint("api", __name__)

_MIMETYPES = {
    "vtt": "text/vtt",
    "srt": "application/x-subrip",
    "txt": "text/plain",
    "json": "application/json",
}
# The iframe an oEmbed consumer gets, at 16:9.
EMBED_WIDTH, EMBED_HEIGHT = 640, 360


@bp.get("/api/search")
def search() -> Response:
    query = request.args.get("q", "")
    try:
        limit = min(max(1, int(request.args.get("limit", "10"))), 100)
    except ValueError as e:
        raise BadParameter("limit", request.args.get("limit", ""), "not a number") from e
    options = search_options(request.args, facets=request.args.get("facets") == "1")
    results = services().index.search(query, limit=limit, options=options)
    return jsonify(results_json(results))


@bp.get("/api/recordings")
def recordings() -> Response:
    """What the library page lists (visitors: public and finished); staff also get the
    recordings not finished, with their status."""
    shown = services().listed(current_staff(), unfinished=True)
    return jsonify([summary_json(r) for r in shown])


@bp.get("/api/recordings/<recording_id>")
def recording(recording_id: str) -> Response:
    user = current_staff()
    found = services().viewable(recording_id, user)
    detail = detail_json(found, len(services().readable_segments(found, user) or []))
    return jsonify(detail if user is not None else visitor_json(detail))


@bp.get("/api/recordings/<recording_id>/transcript.<fmt>")
def transcript(recording_id: str, fmt: str) -> Response:
    """The transcript, or with ``?start=&end=`` a clip's part of it, its times from 0.

    ``times=recording`` keeps the recording's times: the caption track of a clip page, which
    plays the clip inside the whole recording, shows none of the neighbouring sentences.
    """
    if fmt not in WRITERS:
        abort(404)
    found = services().viewable(recording_id, current_staff())
    segments = services().readable_segments(found, current_staff())
    if segments is None:
        raise TranscriptNotPublished(recording_id)
    clip = clip_range(request.args.get("start"), request.args.get("end"), found.duration)
    clip = snapped(clip, segments, found.duration)
    if clip is not None:
        # The captions of the clip file the same range downloads: whole sentences, from 0.
        segments = segments_in(segments, clip)
        if request.args.get("times") != "recording":
            segments = shift(segments, clip.start)
    text = io.StringIO()
    WRITERS[fmt](segments, text, found)
    response = Response(text.getvalue(), mimetype=_MIMETYPES[fmt])
    if request.args.get("download"):
        response.headers["Content-Disposition"] = attachment(file_name(found.title, f".{fmt}"))
    return response


def _fit(max_width: str | None, max_height: str | None) -> tuple[int, int]:
    """The largest 16:9 player within the consumer's maxwidth and maxheight (oEmbed 1.0)."""
    width = EMBED_WIDTH
    for name, value, per_width in (("maxwidth", max_width, 1.0), ("maxheight", max_height, 16 / 9)):
        if value:
            try:
                limit = int(value)
            except ValueError as e:
                raise BadParameter(name, value, "not a whole number of pixels") from e
            if limit < 1:
                raise BadParameter(name, value, "must be positive")
            # Past our own width any limit is the same; a 400-digit one overflows a float.
            width = min(width, int(min(limit, EMBED_WIDTH) * per_width))
    return width, round(width * 9 / 16)


def _target(url: str) -> tuple[str, dict[str, str]]:
    """(recording id, query) of one of this site's recording, clip or embed URLs; the id is
    "" for a moments playlist."""
    try:
        parts = urlsplit(url)
    except ValueError as e:  # "http://[x": an IPv6 host never closed
        raise BadParameter("url", url, "not a URL") from e
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    if parts.path.rstrip("/") in ("/moments", "/embed/moments"):
        return "", query  # a moments playlist
    path = parts.path.rstrip("/").split("/")
    if len(path) != 3 or path[1] not in {"r", "embed"} or not path[2]:
        raise BadParameter("url", url, "not a recording, clip, moments or embed URL of this site")
    return path[2], query


@bp.get("/oembed")
def oembed() -> Response | tuple[Response, int]:
    """oEmbed 1.0 (JSON) for a recording or clip URL."""
    if request.args.get("format", "json") != "json":
        return jsonify({"error": "Not implemented", "message": "only format=json"}), 501
    recording_id, query = _target(request.args.get("url", ""))
    if recording_id == "":
        return _moments_oembed(query)
    found = services().viewable(recording_id, current_staff())
    every = services().catalog.segments(recording_id)
    clip = snapped(
        clip_range(query.get("start"), query.get("end"), found.duration), every, found.duration
    )
    start = clip.start if clip else 0.0
    segments = segments_in(services().readable_segments(found, current_staff()) or [], clip)
    width, height = _fit(request.args.get("maxwidth"), request.args.get("maxheight"))
    limited = bool(request.args.get("maxwidth") or request.args.get("maxheight"))
    _, code = embed_snippet(found, clip, width if limited else None)
    return jsonify(
        {
            "version": "1.0",
            "type": "video",
            "provider_name": "Recall",
            "provider_url": url_for("pages.library", _external=True),
            "title": clip_title(found, clip),
            "author_name": ", ".join(found.meta.speakers),
            "html": code,
            "width": width,
            "height": height,
            "thumbnail_url": url_for(
                "media.still", recording_id=recording_id, t=f"{start:g}", _external=True
            ),
            "thumbnail_width": 1280,
            "thumbnail_height": 720,
            "quote": " ".join(s.text for s in segments[:3]) if clip else "",
        }
    )


def _moments_oembed(query: dict[str, str]) -> Response:
    """oEmbed for a moments playlist: the moments the asker's own /moments shows."""
    data = moments_data(query)
    src = url_for("pages.embed_moments", _external=True, **data["params"])
    width, height = _fit(request.args.get("maxwidth"), request.args.get("maxheight"))
    limited = bool(request.args.get("maxwidth") or request.args.get("maxheight"))
    answer: dict[str, Any] = {
        "version": "1.0",
        "type": "video",
        "provider_name": "Recall",
        "provider_url": url_for("pages.library", _external=True),
        "title": data["moments_title"],
        "html": embed_code(src, data["moments_title"], width if limited else None),
        "width": width,
        "height": height,
    }
    if data["hits"]:
        first = data["hits"][0]
        answer["thumbnail_url"] = url_for(
            "media.still", recording_id=first.recording_id, t=f"{first.start:g}", _external=True
        )
        answer.update(thumbnail_width=1280, thumbnail_height=720)
    return jsonify(answer)
