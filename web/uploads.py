"""Uploads: the staff Upload page, and the tus 1.0 protocol (core, creation, termination)
under ``/api/uploads`` that its script speaks.

A client creates an upload (POST, ``Upload-Length`` and ``Upload-Metadata``), sends the file
in chunks (PATCH at ``Upload-Offset``), and after an interruption asks where it stands (HEAD)
and goes on from there. Bodies are read in 1 MB pieces straight into the file, so the server
never holds an upload in memory. The last chunk adds the recording and queues its job.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from pathlib import PurePath
from urllib.parse import quote

from flask import Blueprint, Response, jsonify, render_template, request, url_for

from ingest import intake, manage
from library.errors import BadParameter, MediaError
from library.metadata import MEDIA_EXTENSIONS, meta_from, title_from
from library.models import RecordingMeta, Visibility
from library.uploads import Upload, UploadNotFound, UploadStore
from web.auth import current_staff, staff_required
from web.services import services

bp = Blueprint("uploads", __name__)

TUS_VERSION = "1.0.0"
# An upload nobody has added to for this long is given up and its bytes removed.
STALE_AFTER = dt.timedelta(days=7)
_TUS = {"Tus-Resumable": TUS_VERSION}


def _store() -> UploadStore:
    return UploadStore(services().config.uploads_dir)


def _max_length() -> int:
    return services().config.web.max_upload_mb * 1_000_000


def _tus(response: Response, status: int, **headers: str) -> Response:
    response.status_code = status
    response.headers.update(_TUS)
    response.headers.update({k.replace("_", "-"): v for k, v in headers.items()})
    response.headers["Cache-Control"] = "no-store"
    return response


def parse_metadata(header: str) -> dict[str, str]:
    """tus ``Upload-Metadata``: "key base64value,key2 base64value2". Raises BadParameter."""
    result: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in header.split(","))):
        key, _, value = pair.partition(" ")
        try:
            result[key] = base64.b64decode(value, validate=True).decode("utf-8") if value else ""
        except (binascii.Error, UnicodeDecodeError) as e:
            raise BadParameter("Upload-Metadata", key, "value is not base64 of UTF-8") from e
    return result


# A byte count: ASCII digits only (str.isdigit also takes "²" and "٣", which int() refuses
# or reads), and no more than 2**63 fits in.
_BYTES = re.compile(r"[0-9]{1,19}")


def _int_header(name: str) -> int:
    value = request.headers.get(name, "")
    if not _BYTES.fullmatch(value):
        raise BadParameter(name, value[:40], "a whole number of bytes is needed")
    return int(value)


def _meta(fields: dict[str, str], filename: str) -> RecordingMeta:
    defaults = RecordingMeta(title=title_from(filename), visibility=Visibility.PUBLIC)
    return meta_from(fields, defaults, f"upload of {filename}")


def _owned(upload_id: str) -> Upload:
    upload = _store().get(upload_id)
    user = current_staff()
    if user is None or (upload.owner != user.id and not user.is_admin):
        raise UploadNotFound(upload_id)
    return upload


@bp.get("/upload")
@staff_required
def upload() -> str:
    return render_template(
        "upload.html",
        visibilities=[v.value for v in Visibility],
        extensions=sorted(MEDIA_EXTENSIONS),
        max_mb=services().config.web.max_upload_mb,
    )


@bp.route("/api/uploads", methods=["OPTIONS"])
def options() -> Response:
    return _tus(
        Response(),
        204,
        Tus_Version=TUS_VERSION,
        Tus_Extension="creation,termination",
        Tus_Max_Size=str(_max_length()),
    )


@bp.post("/api/uploads")
@staff_required
def create() -> Response:
    length = _int_header("Upload-Length")
    fields = parse_metadata(request.headers.get("Upload-Metadata", ""))
    filename = PurePath(fields.pop("filename", "") or "upload").name
    if PurePath(filename).suffix.lower() not in MEDIA_EXTENSIONS:
        raise BadParameter(
            "filename",
            filename,
            "not a recording Recall takes (video or audio: "
            + ", ".join(sorted(e.lstrip(".") for e in MEDIA_EXTENSIONS))
            + ")",
        )
    if fields.get("replaces"):  # new media for a recording: it must exist
        services().catalog.get(fields["replaces"])
    else:
        _meta(fields, filename)  # a bad date or visibility is refused before any byte is sent
    store = _store()
    store.purge_stale(STALE_AFTER)
    user = current_staff()
    assert user is not None
    reserve = services().config.web.upload_reserve_mb * 1_000_000
    made = store.create(length, filename, user.id, fields, _max_length(), reserve)
    location = url_for("uploads.resume", upload_id=made.id)
    return _tus(Response(), 201, Location=location, Upload_Offset="0")


@bp.route("/api/uploads/<upload_id>", methods=["HEAD"])
@staff_required
def resume(upload_id: str) -> Response:
    found = _owned(upload_id)
    return _tus(Response(), 200, Upload_Offset=str(found.offset), Upload_Length=str(found.length))


@bp.patch("/api/uploads/<upload_id>")
@staff_required
def receive(upload_id: str) -> Response | tuple[Response, int]:
    _owned(upload_id)
    if request.mimetype != "application/offset+octet-stream":
        return _tus(
            jsonify(error="Unsupported Media Type", message="send application/offset+octet-stream"),
            415,
        )
    offset = _int_header("Upload-Offset")
    upload = _store().append(upload_id, offset, request.stream, request.content_length)
    if not upload.is_complete:
        return _tus(Response(), 204, Upload_Offset=str(upload.offset))
    return _finish(upload)


def _finish(upload: Upload) -> Response | tuple[Response, int]:
    """The whole file is here: add the recording and queue its processing."""
    store = _store()
    path = store.data_path(upload.id)
    replaces = upload.metadata.get("replaces")
    note = ""
    try:
        if replaces:
            s = services()
            manage.replace_media(
                s.catalog, s.storage, s.index, replaces, path, upload.filename, s.config.ingest
            )
            recording_id, is_new = replaces, True
        else:
            meta = _meta(upload.metadata, upload.filename)
            s = services()
            added = intake.add(
                s.catalog, s.storage, path, meta, s.config.ingest, name=upload.filename
            )
            recording_id, is_new = added.recording.id, added.is_new
            note = _use_captions(store, upload, recording_id) if is_new else ""
    except MediaError as e:
        body = jsonify(error="Not a usable recording", message=f"{upload.filename}: {e.reason}")
        return _tus(body, 422), 422
    finally:
        path.unlink(missing_ok=True)  # moved into the library, or a duplicate, or refused
        store.remove(upload.id)
    if is_new:
        services().jobs.enqueue(recording_id)
    # Header values are Latin-1: the note (which names the caption file) is percent-encoded.
    return _tus(
        Response(),
        204,
        Upload_Offset=str(upload.length),
        Recall_Recording=recording_id,
        Recall_Duplicate="0" if is_new else "1",
        **({"Recall_Note": quote(note, safe=" ()',;:.")} if note else {}),
    )


def _use_captions(store: UploadStore, upload: Upload, recording_id: str) -> str:
    """Staff's captions become the transcript (the job then skips transcription). Captions
    that do not fit the recording are not used; the note says why and Whisper transcribes."""
    attached = store.captions(upload.id)
    if attached is None:
        return ""
    name, text = attached
    try:
        s = services()
        manage.import_captions(s.catalog, s.storage, s.index, recording_id, text, name)
    except BadParameter as e:
        return f"{name} was not used ({e}); the recording will be transcribed"
    return f"{name} is the transcript"


@bp.put("/api/uploads/<upload_id>/captions")
@staff_required
def attach_captions(upload_id: str) -> Response:
    """A WebVTT or SRT file to use as the transcript instead of transcribing; its name in
    ``?name=``. Checked now, applied when the upload finishes."""
    _owned(upload_id)
    name = PurePath(request.args.get("name", "") or "captions.vtt").name
    if (request.content_length or 0) > manage.MAX_CAPTION_BYTES:
        raise BadParameter("captions", name, "larger than 5 MB: not a caption file")
    text = manage.decode_captions(request.get_data(cache=False), name)
    cues = manage.parse_captions(text, name)
    _store().attach_captions(upload_id, name, text)
    return jsonify(name=name, cues=len(cues))


@bp.delete("/api/uploads/<upload_id>")
@staff_required
def terminate(upload_id: str) -> Response:
    _owned(upload_id)
    _store().remove(upload_id)
    return _tus(Response(), 204)
