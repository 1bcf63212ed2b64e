"""What staff do to a recording after it is in: edit its details, correct its transcript
(with one step of undo), import captions, re-transcribe, replace the media, delete it, retry
or cancel its job.

Each operation takes the catalog, storage and index it changes, and keeps them in step: the
catalog changes first, then the files and the index are made again from it
(:func:`ingest.publish.publish`).
"""

from __future__ import annotations

import html
import io
import re
import shutil
from collections.abc import Sequence
from pathlib import Path

import webvtt

from index.search import TranscriptIndex
from ingest.edits import Cue, align_words, check_cues
from ingest.intake import file_hash, move_in
from ingest.probe import probe
from ingest.publish import publish
from library.catalog import Catalog
from library.config import IngestConfig
from library.errors import BadParameter, Conflict
from library.models import STAGES, Recording, RecordingMeta, Segment, Status
from library.storage import Storage
from library.timecode import parse_time

_TAG = re.compile(r"<[^>]+>")
# Model names faster-whisper can fetch by name where a network exists.
KNOWN_MODELS = (
    "tiny.en", "tiny", "base.en", "base", "small.en", "small", "medium.en", "medium",
    "large-v1", "large-v2", "large-v3", "large", "distil-large-v2", "distil-medium.en",
    "distil-small.en", "distil-large-v3", "large-v3-turbo", "turbo",
)  # fmt: skip


def _ready(catalog: Catalog, recording_id: str) -> Recording:
    """A recording whose transcript may be changed: not waiting for or in processing."""
    recording = catalog.get(recording_id)
    if recording.status.is_pending:
        raise Conflict(
            f"{recording.title!r} is {recording.status.value}: wait until it is processed "
            "or cancel its job"
        )
    return recording


def update_metadata(
    catalog: Catalog,
    storage: Storage,
    index: TranscriptIndex,
    recording_id: str,
    meta: RecordingMeta,
) -> Recording:
    """New title, event, speakers, tags, date, description or visibility; the index (which
    filters on them) and the captions (whose header names the title) follow."""
    recording = catalog.update(recording_id, meta=meta)
    if recording.status.is_finished:
        publish(catalog, storage, index, recording_id)
    return recording


def save_transcript(
    catalog: Catalog,
    storage: Storage,
    index: TranscriptIndex,
    recording_id: str,
    cues: Sequence[Cue],
    version: int | None,
) -> Recording:
    """Replace the transcript with staff's corrected cues; the one replaced can be undone.

    ``version`` is the transcript version the editor started from: when someone saved in
    between, :class:`Conflict` is raised rather than losing their work. Raises
    :class:`BadParameter` for cues that cannot be saved.
    """
    recording = _ready(catalog, recording_id)
    if version is not None and version != recording.transcript_version:
        raise Conflict(
            "the transcript was changed by someone else since you opened it; reload to see it"
        )
    checked = check_cues(cues, recording.duration)
    segments = align_words(catalog.segments(recording_id), checked)
    return _store(catalog, storage, index, recording, segments)


def _store(
    catalog: Catalog,
    storage: Storage,
    index: TranscriptIndex,
    recording: Recording,
    segments: list[Segment],
) -> Recording:
    catalog.replace_segments(recording.id, segments, keep_previous=True)
    status = Status.READY if segments else Status.NO_SPEECH
    catalog.update(recording.id, status=status, error="")
    if not segments:
        index.remove_recording(recording.id)
    return publish(catalog, storage, index, recording.id)


def undo_transcript(
    catalog: Catalog, storage: Storage, index: TranscriptIndex, recording_id: str
) -> Recording:
    """Go back to the transcript before the last save (a second undo redoes it).

    Raises :class:`Conflict` when there is nothing to undo.
    """
    recording = _ready(catalog, recording_id)
    previous = catalog.previous_segments(recording_id)
    if previous is None:
        raise Conflict(f"{recording.title!r} has no earlier transcript to go back to")
    return _store(catalog, storage, index, recording, previous)


MAX_CAPTION_BYTES = 5_000_000  # a 3-hour session's SRT is well under 1 MB


def decode_captions(data: bytes, name: str) -> str:
    """The text of an uploaded caption file. Raises :class:`BadParameter`."""
    if len(data) > MAX_CAPTION_BYTES:
        raise BadParameter("captions", name, "larger than 5 MB: not a caption file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BadParameter("captions", name, "not UTF-8 text") from e


def parse_captions(text: str, name: str) -> list[Cue]:
    """Cues from a WebVTT or SRT file (by its content, not its name). Voice tags become
    speaker labels; other markup is dropped. Raises :class:`BadParameter`."""
    fmt = "vtt" if text.lstrip("\ufeff").startswith("WEBVTT") else "srt"
    # WebVTT text is markup ("&amp;" is "&", as Recall's own files write it); SRT is plain.
    plain = html.unescape if fmt == "vtt" else str
    try:
        captions = webvtt.from_buffer(io.StringIO(text.lstrip("\ufeff")), format=fmt)
        cues = [
            Cue(
                parse_time(c.start),
                parse_time(c.end),
                plain(" ".join(_TAG.sub("", c.text).split())),
                plain(getattr(c, "voice", None) or ""),
            )
            for c in captions.captions
        ]
    except (webvtt.errors.MalformedFileError, webvtt.errors.MalformedCaptionError, ValueError) as e:
        raise BadParameter("file", name, "not a WebVTT or SRT caption file") from e
    cues = [c for c in cues if c.text]
    if not cues:
        raise BadParameter("file", name, "holds no captions")
    return cues


def import_captions(
    catalog: Catalog,
    storage: Storage,
    index: TranscriptIndex,
    recording_id: str,
    text: str,
    name: str,
) -> Recording:
    """Use staff's own captions as the transcript instead of transcribing (or after).

    A recording still in the queue skips transcription: its job goes on with the rest.
    """
    cues = parse_captions(text, name)
    recording = catalog.get(recording_id)
    if recording.status.is_pending:
        if recording.worker:
            raise Conflict(f"{recording.title!r} is being processed: cancel its job first")
        checked = check_cues(cues, recording.duration)
        segments = [Segment(c.start, c.end, c.text, (), c.speaker) for c in checked]
        catalog.replace_segments(recording_id, segments, keep_previous=True)
        done = tuple(s for s in recording.stages_done if s not in ("captions", "index"))
        return catalog.update(
            recording_id, stages_done=(*done, "transcribe") if "transcribe" not in done else done
        )
    recording = _ready(catalog, recording_id)
    checked = check_cues(cues, recording.duration)
    segments = [Segment(c.start, c.end, c.text, (), c.speaker) for c in checked]
    return _store(catalog, storage, index, recording, segments)


def check_model(name: str) -> str:
    """A model name faster-whisper knows, or an existing local model directory.

    Raises :class:`BadParameter`.
    """
    name = name.strip()
    if name in KNOWN_MODELS or (name and Path(name).expanduser().is_dir()):
        return name
    raise BadParameter(
        "model", name, f"not a Whisper model name ({', '.join(KNOWN_MODELS[:8])}, …) or directory"
    )


def retranscribe(catalog: Catalog, recording_id: str, model: str, *, default: str) -> Recording:
    """Queue the recording to be transcribed again, with ``model`` (the caller queues the job).
    ``default`` is [transcribe] model, which is not stored: it follows the configuration.

    Models other than the bundled one are downloaded on first use where a network exists.
    """
    recording = _ready(catalog, recording_id)
    chosen = "" if model == default else check_model(model)
    # A new transcript is the machine's again: it needs a fresh review.
    catalog.update(recording.id, model=chosen, reviewed_by=None, reviewed_at=None)
    return requeue(catalog, recording.id, redo_from="transcribe")


def replace_media(
    catalog: Catalog,
    storage: Storage,
    index: TranscriptIndex,
    recording_id: str,
    path: Path,
    name: str,
    settings: IngestConfig,
) -> Recording:
    """New media for a recording (a better cut, the full-length file): its details stay; it
    is made playable, transcribed and indexed again (the caller queues the job).

    Raises :class:`MediaError` for unusable media or :class:`Conflict` when the content is
    another recording's.
    """
    recording = _ready(catalog, recording_id)
    info = probe(path, min_duration=settings.min_duration)
    source_hash = file_hash(path)
    same = catalog.find_by_hash(source_hash)
    if same is not None and same.id != recording_id:
        raise Conflict(f"{name}: this file is already in the library as {same.title!r}")
    index.remove_recording(recording_id)
    folder = storage.folder(recording_id)
    for old in (recording.source_file, recording.playable_file, recording.poster_file):
        if old:
            (folder / old).unlink(missing_ok=True)
    shutil.rmtree(folder / "cache", ignore_errors=True)
    stored = "source" + Path(name).suffix.lower()
    move_in(path, folder / stored)
    catalog.update(
        recording_id,
        source_name=name,
        source_hash=source_hash,
        media_info=info,
        duration=info.duration,
        source_file=stored,
        playable_file="",
        poster_file="",
        reviewed_by=None,  # the new media's transcript needs a fresh review
        reviewed_at=None,
    )
    catalog.replace_segments(recording_id, [])
    return requeue(catalog, recording_id, redo_from="playable")


def delete_recording(
    catalog: Catalog, storage: Storage, index: TranscriptIndex, recording_id: str
) -> None:
    """Remove the recording everywhere: index entries, catalog rows, media and caption files.

    A running job notices at its next report and stops. Raises :class:`RecordingNotFound`.
    """
    catalog.get(recording_id)
    index.remove_recording(recording_id)
    catalog.delete(recording_id)
    storage.remove(recording_id)


def requeue(catalog: Catalog, recording_id: str, *, redo_from: str | None = None) -> Recording:
    """Put a recording back in the queue: after a failure or cancel it resumes where it
    stopped; with ``redo_from`` that stage and every later one run again.

    Raises :class:`RecordingNotFound`.
    """
    recording = catalog.get(recording_id)
    done = recording.stages_done
    if redo_from is not None:
        done = tuple(s for s in done if STAGES.index(s) < STAGES.index(redo_from))
    return catalog.update(
        recording_id, status=Status.QUEUED, error="", stages_done=done, stage="", progress=0.0
    )


def cancel(catalog: Catalog, recording_id: str) -> Recording:
    """Stop a waiting or running job (a running one stops at its next progress report).
    Raises :class:`RecordingNotFound`."""
    recording = catalog.get(recording_id)
    if not recording.status.is_pending:
        return recording
    return catalog.update(recording_id, status=Status.CANCELLED)
