"""Background jobs: a recording waiting to be processed is a task in a huey queue.

The queue only says "process recording X"; the catalog is the truth about the job (its stage,
progress, worker and heartbeat). So a job whose worker was killed is found in the catalog and
queued again (``recover``), a task queued twice is harmless (the second finds the job done or
held: :meth:`Catalog.claim` lets exactly one worker have it), and SQLite or Redis storage run
the same task code.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey, crontab
from huey.consumer import Consumer, Scheduler

from ingest.lease import is_abandoned
from ingest.pipeline import Pipeline
from library.catalog import Catalog
from library.config import Config
from library.errors import ConfigError, RecordingNotFound
from library.models import Recording

log = logging.getLogger("recall.jobs")

_TASK = "recall.process"
_RECOVER = "recall.recover"


def _make_huey(config: Config) -> Huey:
    # No results are kept: the catalog holds each job's outcome.
    if config.jobs.queue_url:
        try:
            import redis  # noqa: F401
        except ImportError as e:
            raise ConfigError(
                "jobs.queue_url", "a Redis queue needs: pip install 'recall-sessions[redis]'"
            ) from e
        return RedisHuey("recall", url=config.jobs.queue_url, results=False)
    config.data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("recall", filename=str(config.data_dir / "jobs.sqlite3"), results=False)


class JobQueue:
    """Enqueue from anywhere; run with :meth:`consumer` (``recall worker``) or :meth:`drain`.

    ``pipeline`` is needed only where jobs run. ``on_start`` and ``on_done`` let the worker
    report each job on its terminal.
    """

    def __init__(
        self,
        config: Config,
        catalog: Catalog,
        pipeline: Pipeline | None = None,
        on_start: Callable[[Recording], None] | None = None,
        on_done: Callable[[Recording], None] | None = None,
        on_progress: Callable[[str, float], None] | None = None,
    ) -> None:
        self.catalog = catalog
        self.lease_seconds = config.jobs.lease_seconds
        self.pipeline = pipeline
        self.on_start = on_start
        self.on_done = on_done
        self.on_progress = on_progress
        self.huey = _make_huey(config)
        # How often each worker looks for jobs left behind: as often as a silent worker
        # elsewhere is taken for dead (a dead one on this machine is known at once), at most
        # once a minute (huey's own period).
        self.recover_seconds = max(1, min(60, round(config.jobs.lease_seconds)))
        self._task = self.huey.task(name=_TASK)(self._process_queued)
        # Each worker looks for jobs left behind by a worker that died (crontab(): at every
        # look of the scheduler, every recover_seconds; see consumer()).
        self.huey.periodic_task(crontab(), name=_RECOVER)(self.recover)

    def enqueue(self, recording_id: str) -> None:
        """Queue the job. If the queue cannot be reached the recording still waits in the
        catalog as "queued", and a worker's next :meth:`recover` queues it."""
        try:
            self._task(recording_id)
        except Exception:  # Redis down, SQLite locked past its timeout: never lose the upload
            log.exception("could not queue %s; a worker will pick it up later", recording_id)

    def _process_queued(self, recording_id: str) -> None:
        """The queue's task: process the recording unless it was deleted or settled since."""
        if self.pipeline is None:
            raise RuntimeError("this JobQueue only enqueues; run jobs in `recall worker`")
        try:
            recording = self.catalog.get(recording_id)
        except RecordingNotFound:
            return  # deleted since it was queued
        if not recording.status.is_pending:
            return  # finished, failed or cancelled since it was queued
        if self.on_start is not None:
            self.on_start(recording)
        progress: dict[str, Any] = {}
        if self.on_progress is not None:
            progress["on_progress"] = self.on_progress
        result = self.pipeline.process(recording_id, **progress)
        if result is not None and self.on_done is not None and not result.status.is_pending:
            self.on_done(result)

    def pending_ids(self) -> set[str]:
        return {str(t.args[0]) for t in self.huey.pending() if t.name == _TASK and t.args}

    def recover(self) -> list[str]:
        """Queue again every unfinished job that no live worker holds and no task will run:
        those of killed workers, and those queued while no queue was running."""
        waiting = self.pending_ids()
        queued: list[str] = []
        for recording in self.catalog.recordings(unfinished_only=True):
            held = recording.worker and not is_abandoned(
                recording.worker, recording.heartbeat_at, self.lease_seconds
            )
            if not held and recording.id not in waiting:
                self.enqueue(recording.id)
                queued.append(recording.id)
        if queued:
            log.info("queued again: %s", ", ".join(queued))
        return queued

    def drain(self) -> None:
        """Run every job waiting now, one after another, in this thread (``worker --once``)."""
        self.recover()
        while (task := self.huey.dequeue()) is not None:
            self.huey.execute(task)

    def consumer(self, workers: int) -> Any:
        """A huey consumer running jobs in ``workers`` threads until SIGINT/SIGTERM."""
        self.recover()
        # Huey's scheduler enqueues periodic tasks once a minute; ours, every recover_seconds.
        scheduler = type("RecallScheduler", (Scheduler,), {
            "periodic_task_seconds": self.recover_seconds})  # fmt: skip
        consumer = type("RecallConsumer", (Consumer,), {"scheduler_class": scheduler})
        return consumer(self.huey, workers=workers, worker_type="thread")
