"""An advisory lock on a file, held for a block: one holder at a time, of all processes.

It is a ``flock``: the kernel drops it when its holder dies, even by ``kill -9``, so a crashed
holder never blocks the next one (Linux maps it to NFS v4 locks on a shared filesystem).
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def held(path: Path, *, wait: bool = True) -> Iterator[bool]:
    """Hold the lock of ``path`` (created if missing); yields whether it was acquired, which
    is always when ``wait``, else only if no one else holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
