"""Writing a file so that a crash never leaves half of it under its name.

Every file is written to a hidden ``.<name>.<random>.part`` beside its final name and renamed
into place, which is atomic on POSIX file systems. The random part keeps two writers of the
same file (two requests, two processes) from writing into one another's half-written file.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

PART_SUFFIX = ".part"


def part_path(path: Path) -> Path:
    """A scratch file's name beside ``path``: hidden, and removed as a leftover ``.part``."""
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


def write_text_atomically(path: Path, text: str) -> None:
    """``path.write_text(text)``, but a crash leaves the old file or none, never half."""
    with atomic_text(path) as f:
        f.write(text)
