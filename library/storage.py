"""Where a recording's files live, and writing them so a crash never leaves half a file.

Layout under ``<data_dir>/media/<recording id>/``::

    source.<ext>        the uploaded original (kept when ingest.keep_source is true)
    playable.mp4|.m4a|.mp3
    poster.jpg
    transcript.vtt .srt .txt .json

Every file is written beside its final name and renamed into place (:mod:`library.atomic`).
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

from library.atomic import PART_SUFFIX, atomic_path
from library.locks import held


class Storage:
    def __init__(self, root: Path) -> None:
        self.root = root

    def folder(self, recording_id: str) -> Path:
        return self.root / recording_id

    def file(self, recording_id: str, name: str) -> Path:
        return self.folder(recording_id) / name

    def transcript(self, recording_id: str, fmt: str) -> Path:
        return self.file(recording_id, f"transcript.{fmt}")

    @contextlib.contextmanager
    def lock(self, recording_id: str, *, wait: bool = True) -> Iterator[bool]:
        """Hold the recording's lock while working on it; yields whether it was acquired.

        The lock is an advisory ``flock``: the kernel drops it when its holder dies, even by
        ``kill -9``, so a crashed run never blocks the one that resumes it.
        """
        with held(self.folder(recording_id) / ".lock", wait=wait) as acquired:
            yield acquired

    def clean_partials(self, recording_id: str) -> None:
        """Remove what a killed run left half-written."""
        folder = self.folder(recording_id)
        if folder.is_dir():
            for leftover in folder.glob(f".*{PART_SUFFIX}"):
                leftover.unlink(missing_ok=True)

    def copy_in(self, source: Path, recording_id: str, name: str) -> Path:
        dest = self.file(recording_id, name)
        with atomic_path(dest) as tmp:
            shutil.copyfile(source, tmp)
        return dest

    def remove(self, recording_id: str) -> None:
        shutil.rmtree(self.folder(recording_id), ignore_errors=True)
