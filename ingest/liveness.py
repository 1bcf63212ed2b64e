"""Whether any worker is alive, even while none has a job.

Each ``recall worker`` touches a file named for itself in ``<data_dir>/workers/`` every few
seconds and removes it when it stops. The catalog's job heartbeats only exist while a job
runs; these files also tell an idle worker from no worker at all. ``data_dir`` is shared by
workers on several machines (see [jobs] queue_url), so the files are seen by every site.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

# A worker touches its file this often, in seconds.
BEAT_SECONDS = 2.0
# No file touched for this long: no worker is running. Longer than a restart by `recall
# serve` (its first back-off is 1 s) and a worker's start, so neither makes the warning flash.
SILENCE_SECONDS = 15.0

# Files of killed workers older than this are removed when a worker starts.
_FORGET_SECONDS = 24 * 3600.0


def workers_dir(data_dir: Path) -> Path:
    return data_dir / "workers"


@contextlib.contextmanager
def beacon(data_dir: Path) -> Iterator[Path]:
    """While inside, this process says it is a live worker; yields its file."""
    folder = workers_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    _prune(folder)
    path = folder / f"{socket.gethostname()}:{os.getpid()}"
    path.touch()
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(BEAT_SECONDS):
            with contextlib.suppress(OSError):  # a full or unmounted disk must not kill jobs
                path.touch()

    thread = threading.Thread(target=beat, name="recall-beacon", daemon=True)
    thread.start()
    try:
        yield path
    finally:
        stop.set()
        thread.join(timeout=5)
        path.unlink(missing_ok=True)


def _prune(folder: Path) -> None:
    """Remove the files of workers killed long ago (a clean stop removes its own)."""
    for entry in list(os.scandir(folder)):
        with contextlib.suppress(OSError):
            if time.time() - entry.stat().st_mtime > _FORGET_SECONDS:
                os.unlink(entry.path)


def live_workers(data_dir: Path, now: float | None = None) -> int:
    """How many workers touched their file within :data:`SILENCE_SECONDS`."""
    now = time.time() if now is None else now
    count = 0
    try:
        entries = list(os.scandir(workers_dir(data_dir)))
    except OSError:  # no worker has ever started here
        return 0
    for entry in entries:
        with contextlib.suppress(OSError):  # removed while we looked
            if now - entry.stat().st_mtime < SILENCE_SECONDS:
                count += 1
    return count
