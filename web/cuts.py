"""Clips and stills cut on request: one cut per file, a few cuts at once, a bounded cache.

A visitor's request may start an ffmpeg run. Each file is cut once, even when many requests
(threads or processes sharing the data dir) ask for it together: they wait on a lock file and
then find it made. Cuts run in a small pool of slots; a request needing one while all are taken
is answered at once with :class:`Busy` (503), so page requests never queue behind ffmpeg. A cut
that fails, runs past its time or makes a file that does not check out is never kept. The
cached files of all recordings stay under a size cap, the least recently served removed first.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

from library.atomic import atomic_path
from library.config import WebConfig
from library.errors import Busy, MediaError

# Where each recording keeps its cut files, under its media folder.
CACHE_FOLDER = "cache"
# Lock files are shared out over this many stripes: one per file would leave a lock file for
# every clip ever asked for. Two cuts whose files share a stripe only wait for one another.
_STRIPES = 256
# How long a request asks a client to wait, in seconds, when every slot is busy.
RETRY_AFTER = 5
# How often a request waiting for another's cut looks at its lock, in seconds.
_POLL = 0.05

MakeFn = Callable[[Path], None]


class CutCache:
    def __init__(self, media_dir: Path, web: WebConfig) -> None:
        self.media_dir = media_dir
        self.web = web
        self.slots = threading.BoundedSemaphore(web.clip_workers)
        self.requests = threading.BoundedSemaphore(max(web.clip_workers, web.clip_requests))
        self._evicting = threading.Lock()

    @property
    def cap_bytes(self) -> int:
        return int(self.web.clip_cache_mb * 1024 * 1024)

    def get(self, dest: Path, make: MakeFn, check: MakeFn) -> Path:
        """``dest``, made once by ``make(tmp)`` and kept if ``check(tmp)`` passes.

        Raises :class:`Busy` when no slot is free, the cut ran out of time or failed.
        """
        if _touch(dest):
            return dest
        # Requests cutting or waiting for a cut hold a server thread each: past the limit
        # they are turned away, so pages always find a thread.
        if not self.requests.acquire(blocking=False):
            raise Busy("too many clips are being cut; please try again shortly", RETRY_AFTER)
        try:
            self._make(dest, make, check)
        finally:
            self.requests.release()
        self.evict(keep=dest)
        return dest

    def _make(self, dest: Path, make: MakeFn, check: MakeFn) -> None:
        # A waiter never waits longer than the cut it waits for may run.
        deadline = time.monotonic() + self.web.clip_timeout + RETRY_AFTER
        with self._lock(dest, deadline):
            if dest.exists():  # another request or process made it meanwhile
                return
            if not self.slots.acquire(blocking=False):
                raise Busy("every clip cutter is busy; please try again shortly", RETRY_AFTER)
            try:
                with atomic_path(dest) as tmp:
                    make(tmp)
                    check(tmp)
            except MediaError as e:
                raise Busy(f"could not cut this clip: {e.reason}", RETRY_AFTER) from e
            finally:
                self.slots.release()

    @contextlib.contextmanager
    def _lock(self, dest: Path, deadline: float) -> Iterator[None]:
        folder = self.media_dir / ".cut-locks"
        folder.mkdir(parents=True, exist_ok=True)
        stripe = zlib.crc32(str(dest).encode()) % _STRIPES
        with (folder / f"{stripe:02d}.lock").open("a") as f:
            # flock has no timeout: poll, so a waiter is bounded like the cut it waits for.
            while True:
                try:
                    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise Busy(
                            "this clip is still being cut; please try again shortly", RETRY_AFTER
                        ) from None
                    time.sleep(_POLL)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def files(self) -> list[tuple[float, int, Path]]:
        """(last served, size, path) of every cached file."""
        found = []
        for path in self.media_dir.glob(f"*/{CACHE_FOLDER}/*"):
            if path.name.startswith("."):
                continue  # half-written
            with contextlib.suppress(FileNotFoundError):
                stat = path.stat()
                found.append((stat.st_atime, stat.st_size, path))
        return found

    def size(self) -> int:
        return sum(size for _, size, _ in self.files())

    def evict(self, keep: Path | None = None) -> None:
        """Remove the least recently served files until the cache is under its cap."""
        with self._evicting:
            files = sorted(self.files())
            total = sum(size for _, size, _ in files)
            for _, size, path in files:
                if total <= self.cap_bytes:
                    break
                if path == keep:
                    continue
                path.unlink(missing_ok=True)
                total -= size


def _touch(path: Path) -> bool:
    """Mark ``path`` as just served; False when it is not there.

    The access time orders eviction; the modification time is kept, as the file's ETag and
    Last-Modified are made from it.
    """
    try:
        os.utime(path, (time.time(), path.stat().st_mtime))
    except FileNotFoundError:
        return False
    return True
