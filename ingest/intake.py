"""A file into the catalog: checked, recognised when its content is there already, and (for
uploads) moved into the library. What happens to it next is the pipeline's work.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from ingest.probe import probe
from library.catalog import Catalog
from library.config import IngestConfig
from library.errors import MediaError
from library.models import Recording, RecordingMeta, Status
from library.storage import Storage

_HASH_CHUNK = 1 << 20


def _is_text(name: str) -> bool:
    """Whether a file name decoded to text: bytes that are not UTF-8 become lone surrogates."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def file_hash(path: Path) -> str:
    """SHA-256 of the content: the same recording uploaded twice is recognised."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def move_in(path: Path, dest: Path) -> None:
    """Move ``path`` to ``dest``: a rename on the same file system, whatever the size."""
    try:
        os.replace(path, dest)
    except OSError:
        shutil.move(path, dest)


@dataclass(frozen=True)
class Submission:
    recording: Recording
    is_new: bool


def submit(catalog: Catalog, path: Path, meta: RecordingMeta, settings: IngestConfig) -> Submission:
    """Check ``path`` and add it to the catalog, or find the same content already there.

    Raises :class:`MediaError` (nothing is added) for files that are not usable media.
    """
    if not _is_text(path.name):
        # Linux names are bytes; the catalog keeps names as UTF-8 text.
        raise MediaError(path, "the file name is not UTF-8 text: rename the file")
    info = probe(path, min_duration=settings.min_duration)
    try:
        source_hash = file_hash(path)
    except OSError as e:
        raise MediaError(path, f"cannot read the file: {e.strerror}") from e
    existing = catalog.find_by_hash(source_hash)
    if existing is not None:
        if existing.status in (Status.FAILED, Status.CANCELLED):  # another try, resumed
            existing = catalog.update(existing.id, status=Status.QUEUED, error="")
        return Submission(existing, is_new=False)
    recording = catalog.add(meta, path.name, source_hash, info)
    return Submission(recording, is_new=True)


def add(
    catalog: Catalog,
    storage: Storage,
    path: Path,
    meta: RecordingMeta,
    settings: IngestConfig,
    *,
    name: str = "",
) -> Submission:
    """Check an uploaded file and move it into the library: the "store" stage done here,
    the rest left to a worker. ``name`` is the file's name as the user knew it. A file
    whose content is there already is left where it is.

    Raises :class:`MediaError` (nothing is added) for files that are not usable media.
    """
    submission = submit(catalog, path, meta, settings)
    recording = submission.recording
    if name and submission.is_new:
        recording = catalog.update(recording.id, source_name=name)
    if submission.is_new:
        stored = "source" + Path(name or path.name).suffix.lower()
        dest = storage.file(recording.id, stored)
        dest.parent.mkdir(parents=True, exist_ok=True)
        move_in(path, dest)
        recording = catalog.mark_stage_done(recording.id, "store", source_file=stored)
    return Submission(recording, submission.is_new)
