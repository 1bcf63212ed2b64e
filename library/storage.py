"""Where a recording's files live, and writing them so a crash never leaves half a file.

Layout under ``<data_dir>/media/<recording id>/``::

    source.<ext>        the uploaded original (kept when ingest.keep_source is true)
    playable.mp4|.m4a|.mp3
    poster.jpg
    transcript.vtt .srt .txt .json

Every file is written to a hidden ``.<name>.<random>.part`` beside its final name and renamed
into place, which is atomic on POSIX file systems. The random part keeps two writers of the
same file (two requests, two processes) from writing into one another's half-written file.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

PART_SUFFIX = ".part"


def part_path(path: Path) -> Path:
    return path.with_name(f".{path.name}{PART_SUFFIX}")


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path`` atomically."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}{PART_SUFFIX}")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_text(path: Path) -> Iterator[TextIO]:
    """Open a text stream whose content replaces ``path`` only once fully written."""
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8", newline="\n") as f:
        yield f
        f.flush()
        os.fsync(f.fileno())


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
        folder = self.folder(recording_id)
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / ".lock").open("a") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

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
