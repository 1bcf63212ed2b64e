"""Who holds a job: the worker that claimed a recording in the catalog, while it is alive.

A worker claims the job (:meth:`Catalog.claim` lets exactly one claimant win), a thread then
writes its progress and heartbeat every few seconds and notices a cancel, and the job is
released when the work ends. A holder that is gone (its process ended, or it has not said it
is alive for [jobs] lease_seconds) may be taken over by another worker.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from library.catalog import Catalog, RecordingChanges
from library.models import Recording, Status

# (stage, fraction of that stage done)
ProgressFn = Callable[[str, float], None]

# How often a working job writes its progress and says it is alive (the Jobs page polls too).
HEARTBEAT_SECONDS = 2.0
_HOST = socket.gethostname()


class JobStopped(Exception):
    """The job was cancelled, or taken over by another worker, while it ran."""


def worker_id() -> str:
    """Who is working: host, process and thread, so that two threads never share a claim."""
    return f"{_HOST}:{os.getpid()}:{threading.get_ident()}"


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_abandoned(worker: str, heartbeat_at: dt.datetime | None, lease_seconds: float) -> bool:
    """Whether the worker holding a job is gone: on this machine, its process has ended;
    elsewhere, it has not said it is alive for ``lease_seconds``."""
    host, _, rest = worker.partition(":")
    pid = rest.partition(":")[0]
    if host == _HOST and pid.isdigit():
        return not _is_alive(int(pid))
    if heartbeat_at is None:
        return True
    age = dt.datetime.now(dt.UTC).replace(tzinfo=None) - heartbeat_at
    return age.total_seconds() > lease_seconds


@dataclass(frozen=True)
class Job:
    """A job this worker holds."""

    recording: Recording  # as claimed
    # Passes progress on; raises :class:`JobStopped` once the job is cancelled or taken over.
    report: ProgressFn


@contextmanager
def hold(
    catalog: Catalog, recording_id: str, lease_seconds: float, on_progress: ProgressFn
) -> Iterator[Job | None]:
    """Claim the recording's job for this thread, keep the claim alive while inside, and
    release it on the way out. Yields None when it is not this worker's to do: finished,
    cancelled or held by a live worker."""
    me = worker_id()
    abandoned = functools.partial(is_abandoned, lease_seconds=lease_seconds)
    claimed = catalog.claim(recording_id, me, abandoned)
    if claimed is None:
        yield None
        return
    try:
        with _keeper(catalog, claimed, me, on_progress) as report:
            yield Job(claimed, report)
    finally:
        catalog.release(recording_id, me)


@contextmanager
def _keeper(
    catalog: Catalog, recording: Recording, me: str, on_progress: ProgressFn
) -> Iterator[ProgressFn]:
    """While the job runs, a thread writes its progress and heartbeat every few seconds
    and notices a cancel; the progress function it yields raises :class:`JobStopped` then.
    """
    # Both keys from the start: the reporting thread only replaces values, so the
    # heartbeat thread never sees the dict change size while it reads it.
    latest: RecordingChanges = {"stage": recording.stage, "progress": recording.progress}
    stopped = threading.Event()
    finished = threading.Event()

    def beat() -> None:
        while not finished.wait(HEARTBEAT_SECONDS):
            status = catalog.heartbeat(recording.id, me, **latest)
            if status is None or status == Status.CANCELLED:
                stopped.set()

    def report(stage: str, fraction: float) -> None:
        if stopped.is_set():
            raise JobStopped(recording.id)
        latest.update({"stage": stage, "progress": fraction})
        on_progress(stage, fraction)

    thread = threading.Thread(target=beat, name=f"heartbeat-{recording.id}", daemon=True)
    thread.start()
    try:
        yield report
    finally:
        finished.set()
        thread.join()
