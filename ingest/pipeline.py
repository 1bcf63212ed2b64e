"""The ingest pipeline: ordered, idempotent stages whose completion is recorded.

``submit`` checks a file and puts it in the catalog; ``process`` runs every stage not yet
done: store -> playable -> poster -> transcribe -> captions -> index. Each stage writes its
files atomically and is marked done in the catalog only once they are in place, so a run
killed at any point resumes at the first unfinished stage and leaves no half-written file.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import logging
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from index.search import TranscriptIndex
from ingest import audio, captions, channels, coverage, playable
from ingest.probe import playable_duration, probe
from ingest.stagetimes import StageTimes
from ingest.transcribe import Transcript, transcribe
from ingest.vocabulary import Vocabulary, vocabulary
from library.atomic import atomic_path, atomic_text, part_path
from library.catalog import Catalog, RecordingChanges
from library.clock import utc_now
from library.config import Config, TranscribeConfig
from library.errors import MediaError, RecallError, RecordingNotFound
from library.glossary import Glossary
from library.models import STAGES, Recording, RecordingMeta, Segment, Status
from library.storage import Storage
from library.timecode import clock

log = logging.getLogger("recall.ingest")

# (stage, fraction of that stage done)
ProgressFn = Callable[[str, float], None]

_HASH_CHUNK = 1 << 20
# How often a working job writes its progress and says it is alive (the Jobs page polls too).
HEARTBEAT_SECONDS = 2.0
_HOST = socket.gethostname()
# A file whose playable copy is shorter than this part of the duration it declares is refused:
# most of it is missing (an upload cut short whose index, at the front, still names it all).
MIN_READABLE = 0.5
# Less missing than this (seconds, or this part of the duration) is only rounding and priming.
_MISSING_SECONDS, _MISSING_PART = 2.0, 0.02


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


def _ignore_progress(stage: str, fraction: float) -> None:
    pass


def _is_text(name: str) -> bool:
    """Whether a file name decoded to text: bytes that are not UTF-8 become lone surrogates."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def damage_note(declared: float, readable: float) -> str:
    """The warning for a recording whose end could not be read; "" when nothing is missing."""
    if declared - readable <= max(_MISSING_SECONDS, declared * _MISSING_PART):
        return ""
    return (
        f"damaged file: only {clock(readable)} of the {clock(declared)} it declares could be "
        "read (the end is missing or broken)"
    )


def file_hash(path: Path) -> str:
    """SHA-256 of the content: the same recording uploaded twice is recognised."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class Submission:
    recording: Recording
    is_new: bool


class Pipeline:
    def __init__(
        self, config: Config, catalog: Catalog, storage: Storage, index: TranscriptIndex
    ) -> None:
        self.config = config
        self.catalog = catalog
        self.storage = storage
        self.index = index
        self.stage_times = StageTimes(config.data_dir)  # for the site's /metrics
        self.glossary = Glossary(catalog)

    # -- entry points -----------------------------------------------------------------------

    def submit(self, path: Path, meta: RecordingMeta) -> Submission:
        """Check ``path`` and add it to the catalog, or find the same content already there.

        Raises :class:`MediaError` (nothing is added) for files that are not usable media.
        """
        if not _is_text(path.name):
            # Linux names are bytes; the catalog keeps names as UTF-8 text.
            raise MediaError(path, "the file name is not UTF-8 text: rename the file")
        info = probe(path, min_duration=self.config.ingest.min_duration)
        try:
            source_hash = file_hash(path)
        except OSError as e:
            raise MediaError(path, f"cannot read the file: {e.strerror}") from e
        existing = self.catalog.find_by_hash(source_hash)
        if existing is not None:
            if existing.status in (Status.FAILED, Status.CANCELLED):  # another try, resumed
                existing = self.catalog.update(existing.id, status=Status.QUEUED, error="")
            return Submission(existing, is_new=False)
        recording = self.catalog.add(meta, path.name, source_hash, info)
        return Submission(recording, is_new=True)

    def add(self, path: Path, meta: RecordingMeta, *, name: str = "") -> Submission:
        """Check an uploaded file and move it into the library: the "store" stage done here,
        the rest left to a worker. ``name`` is the file's name as the user knew it. A file
        whose content is there already is left where it is.

        Raises :class:`MediaError` (nothing is added) for files that are not usable media.
        """
        submission = self.submit(path, meta)
        recording = submission.recording
        if name and submission.is_new:
            recording = self.catalog.update(recording.id, source_name=name)
        if submission.is_new:
            stored = "source" + Path(name or path.name).suffix.lower()
            dest = self.storage.file(recording.id, stored)
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.replace(path, dest)  # same file system: a rename, whatever the size
            except OSError:
                shutil.move(path, dest)
            recording = self.catalog.mark_stage_done(recording.id, "store", source_file=stored)
        return Submission(recording, submission.is_new)

    def requeue(self, recording_id: str, *, redo_from: str | None = None) -> Recording:
        """Put a recording back in the queue: after a failure or cancel it resumes where it
        stopped; with ``redo_from`` that stage and every later one run again.

        Raises :class:`RecordingNotFound`.
        """
        recording = self.catalog.get(recording_id)
        done = recording.stages_done
        if redo_from is not None:
            done = tuple(s for s in done if STAGES.index(s) < STAGES.index(redo_from))
        return self.catalog.update(
            recording_id, status=Status.QUEUED, error="", stages_done=done, stage="", progress=0.0
        )

    def cancel(self, recording_id: str) -> Recording:
        """Stop a waiting or running job (a running one stops at its next progress report).
        Raises :class:`RecordingNotFound`."""
        recording = self.catalog.get(recording_id)
        if not recording.status.is_pending:
            return recording
        return self.catalog.update(recording_id, status=Status.CANCELLED)

    def is_abandoned(self, worker: str, heartbeat_at: dt.datetime | None) -> bool:
        """Whether the worker holding a job is gone: on this machine, its process has ended;
        elsewhere, it has not said it is alive for ``jobs.lease_seconds``."""
        host, _, rest = worker.partition(":")
        pid = rest.partition(":")[0]
        if host == _HOST and pid.isdigit():
            return not _is_alive(int(pid))
        if heartbeat_at is None:
            return True
        age = utc_now() - heartbeat_at
        return age.total_seconds() > self.config.jobs.lease_seconds

    def process(
        self,
        recording_id: str,
        source: Path | None = None,
        on_progress: ProgressFn = _ignore_progress,
        *,
        wait: bool = True,
    ) -> Recording:
        """Run the stages not yet done. A failure marks the recording failed with a readable
        reason and is returned, never raised: the other recordings of a batch go on.

        ``source`` is the original file, needed only while the "store" stage is not done.
        While another process works on the recording this waits for it, or with
        ``wait=False`` returns the recording as it is.
        """
        done = self.run_job(recording_id, source, on_progress, wait=wait)
        return done if done is not None else self.catalog.get(recording_id)

    def run_job(
        self,
        recording_id: str,
        source: Path | None = None,
        on_progress: ProgressFn = _ignore_progress,
        *,
        wait: bool = False,
    ) -> Recording | None:
        """Like :meth:`process`, but None when there was nothing for this worker to do: the
        job is finished, cancelled or held by another worker."""
        with self.storage.lock(recording_id, wait=wait) as is_mine:
            me = worker_id()
            claimed = self.catalog.claim(recording_id, me, self.is_abandoned) if is_mine else None
            if claimed is None:
                return None
            try:
                with self._keeper(claimed, me, on_progress) as report:
                    return self._run_stages(claimed, source, report)
            except RecordingNotFound:
                log.info("recording %s was deleted while it was processed", recording_id)
                return None
            finally:
                self.catalog.release(recording_id, me)

    @contextmanager
    def _keeper(
        self, recording: Recording, me: str, on_progress: ProgressFn
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
                status = self.catalog.heartbeat(recording.id, me, **latest)
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

    def _run_stages(
        self, recording: Recording, source: Path | None, on_progress: ProgressFn
    ) -> Recording:
        self.storage.clean_partials(recording.id)
        recording = self.catalog.update(recording.id, status=Status.PROCESSING, error="")
        stages: list[tuple[str, Callable[[Recording, Callable[[float], None]], Recording]]] = [
            ("store", lambda r, p: self._store(r, source)),
            ("playable", self._playable),
            ("poster", self._poster),
            ("transcribe", self._transcribe),
            ("captions", self._captions),
            ("index", self._index),
        ]
        try:
            for name, run in stages:
                if recording.is_done(name):
                    continue
                recording = self.catalog.update(recording.id, stage=name, progress=0.0)
                on_progress(name, 0.0)
                started = time.monotonic()
                recording = run(recording, functools.partial(on_progress, name))
                recording = self.catalog.mark_stage_done(recording.id, name, progress=1.0)
                self.stage_times.add(name, time.monotonic() - started)
                on_progress(name, 1.0)
        except JobStopped:
            log.info("job %s stopped: cancelled or taken over", recording.id)
            return self.catalog.get(recording.id)
        except RecallError as e:
            reason = e.reason if isinstance(e, MediaError) else str(e)
            return self.catalog.update(recording.id, status=Status.FAILED, error=reason)
        except Exception as e:  # a bug must not stop the batch; its traceback goes to the log
            log.exception("ingest of %s failed", recording.id)
            return self.catalog.update(
                recording.id, status=Status.FAILED, error=f"internal error: {e!r}"
            )
        if not self.config.ingest.keep_source and recording.source_file:
            self.storage.file(recording.id, recording.source_file).unlink(missing_ok=True)
            recording = self.catalog.update(recording.id, source_file="")
        status = Status.READY if self.catalog.segments(recording.id) else Status.NO_SPEECH
        return self.catalog.update(recording.id, status=status, stage="", progress=1.0)

    def ingest(
        self, path: Path, meta: RecordingMeta, on_progress: ProgressFn = _ignore_progress
    ) -> Recording:
        """Submit and process one file. Raises :class:`MediaError` for unusable input."""
        submission = self.submit(path, meta)
        return self.process(submission.recording.id, path, on_progress)

    # -- stages -----------------------------------------------------------------------------

    def _media_path(self, recording: Recording) -> Path:
        """The best file to read from: the original if kept, else the playable copy."""
        name = recording.source_file or recording.playable_file
        return self.storage.file(recording.id, name)

    def _store(self, recording: Recording, source: Path | None) -> Recording:
        if source is None:
            raise RecallError(
                f"{recording.source_name}: the original was never stored; ingest the file again"
            )
        name = "source" + source.suffix.lower()
        try:
            self.storage.copy_in(source, recording.id, name)
        except OSError as e:
            raise MediaError(source, f"cannot copy into the library: {e.strerror}") from e
        return self.catalog.update(recording.id, source_file=name)

    def _playable(self, recording: Recording, on_progress: Callable[[float], None]) -> Recording:
        info = recording.media_info
        assert info is not None, "probed at submit"
        name = "playable." + playable.plan_playable(info).extension
        source = self._media_path(recording)
        with atomic_path(self.storage.file(recording.id, name)) as tmp:
            playable.make_playable(source, tmp, info, on_progress)
            readable = playable_duration(tmp)
            # ffmpeg copies what it can read and stops without an error: the probe's duration
            # comes from the index, which a truncated file may still hold whole.
            if readable is not None and readable < info.duration * MIN_READABLE:
                raise MediaError(
                    source,
                    f"truncated or damaged: only {clock(readable)} of the {clock(info.duration)} "
                    "it declares could be read (was the upload or copy cut short?)",
                )
        changes: RecordingChanges = {"playable_file": name}
        if readable is not None and damage_note(info.duration, readable):
            changes.update({"duration": readable, "note": damage_note(info.duration, readable)})
        return self.catalog.update(recording.id, **changes)

    def _poster(self, recording: Recording, on_progress: Callable[[float], None]) -> Recording:
        info = recording.media_info
        assert info is not None, "probed at submit"
        name = "poster.jpg"
        source = self.storage.file(recording.id, recording.playable_file)
        with atomic_path(self.storage.file(recording.id, name)) as tmp:
            playable.make_poster(source, tmp, info, self.config.ingest.poster_at)
        return self.catalog.update(recording.id, poster_file=name)

    def vocabulary(self, meta: RecordingMeta) -> Vocabulary:
        """What Whisper is told for a recording with ``meta``: its details and the glossary."""
        settings = self.config.transcribe
        return vocabulary(
            meta,
            self.glossary.terms(),
            mode=settings.vocabulary,
            max_characters=settings.vocabulary_characters,
        )

    def _transcribe(self, recording: Recording, on_progress: Callable[[float], None]) -> Recording:
        # Scratch files: a killed run leaves them as ".part" files that the next run removes.
        scratch = part_path(self.storage.file(recording.id, "audio.s16le"))
        tracks: list[Path] = []
        try:
            media = self._media_path(recording)
            samples = audio.decode_pcm(media, scratch, recording.duration)
            if audio.measure_loudness(samples).is_silent(self.config.ingest.silence_dbfs):
                transcript = Transcript([], recording.meta.language or "")
            else:
                settings = self.config.transcribe
                if recording.model:
                    settings = dataclasses.replace(settings, model=recording.model)
                told = self.vocabulary(recording.meta)
                count = min(audio.channel_count(media), audio.MAX_CHANNELS)
                if settings.split_channels and count >= 2:
                    tracks = [
                        part_path(self.storage.file(recording.id, f"audio{c}.s16le"))
                        for c in range(count)
                    ]
                    transcript = self._transcribe_tracks(
                        recording, samples, tracks, settings, told, on_progress
                    )
                else:
                    transcript = transcribe(
                        samples, settings, language=recording.meta.language,
                        vocabulary=told, on_progress=on_progress,
                    )  # fmt: skip
        finally:
            for path in [scratch, *tracks]:
                path.unlink(missing_ok=True)
        segments, language = transcript.segments, transcript.language or recording.meta.language
        measured = coverage.measure(transcript.voiced, segments)
        gaps_file = self.storage.file(recording.id, coverage.GAPS_FILE)
        if measured.gaps:
            with atomic_text(gaps_file) as f:
                f.write(coverage.gaps_json(measured))
        else:  # none now: an earlier transcript's gaps must not linger
            gaps_file.unlink(missing_ok=True)
        self.catalog.replace_segments(recording.id, segments)
        assert recording.media_info is not None, "probed at submit"
        notes = [
            damage_note(recording.media_info.duration, recording.duration),
            "" if segments else "no speech detected",
        ]
        note = "; ".join(filter(None, notes))
        return self.catalog.update(
            recording.id, note=note, language=language, speech_coverage=measured.share
        )

    def _transcribe_tracks(
        self,
        recording: Recording,
        samples: audio.PcmFile,
        paths: list[Path],
        settings: TranscribeConfig,
        told: Vocabulary,
        on_progress: Callable[[float], None],
    ) -> Transcript:
        """One transcript per channel when each channel carries its own voice; else the
        downmix, as for mono."""
        media = self._media_path(recording)
        tracks = audio.decode_channels(media, paths, recording.duration)
        levels = channels.measure(tracks)
        if not levels.has_one_voice_per_channel():
            for path in paths:  # ordinary stereo: the downmix is all that is needed
                path.unlink(missing_ok=True)
            return transcribe(
                samples, settings, language=recording.meta.language, vocabulary=told,
                on_progress=on_progress,
            )  # fmt: skip
        names = channels.speaker_names(len(tracks), recording.meta.speakers)
        return channels.transcribe_channels(
            tracks, levels, names, settings,
            language=recording.meta.language, vocabulary=told, on_progress=on_progress,
        )  # fmt: skip

    def _captions(self, recording: Recording, on_progress: Callable[[float], None]) -> Recording:
        self.write_captions(recording, self.catalog.segments(recording.id))
        return recording

    def write_captions(self, recording: Recording, segments: list[Segment]) -> None:
        """The transcript as WebVTT, SRT, plain text and JSON files, each written atomically."""
        for fmt, write in captions.WRITERS.items():
            with atomic_text(self.storage.transcript(recording.id, fmt)) as f:
                write(segments, f, recording)

    def _index(self, recording: Recording, on_progress: Callable[[float], None]) -> Recording:
        self.index.index_recording(recording, self.catalog.segments(recording.id))
        return recording
