"""The ingest pipeline: ordered, idempotent stages whose completion is recorded.

``submit`` checks a file and puts it in the catalog; ``process`` runs every stage not yet
done: store -> playable -> poster -> transcribe -> captions -> index. Each stage writes its
files atomically and is marked done in the catalog only once they are in place, so a run
killed at any point resumes at the first unfinished stage and leaves no half-written file.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from index.search import TranscriptIndex
from ingest import audio, captions, playable
from ingest.probe import probe
from ingest.transcribe import transcribe
from library.catalog import Catalog
from library.config import Config
from library.errors import MediaError, RecallError
from library.models import Recording, RecordingMeta, Segment, Status
from library.storage import Storage, atomic_path, atomic_text, part_path

log = logging.getLogger("recall.ingest")

# (stage, fraction of that stage done)
ProgressFn = Callable[[str, float], None]

_HASH_CHUNK = 1 << 20


def _ignore_progress(stage: str, fraction: float) -> None:
    pass


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

    # -- entry points -----------------------------------------------------------------------

    def submit(self, path: Path, meta: RecordingMeta) -> Submission:
        """Check ``path`` and add it to the catalog, or find the same content already there.

        Raises :class:`MediaError` (nothing is added) for files that are not usable media.
        """
        info = probe(path, min_duration=self.config.ingest.min_duration)
        try:
            source_hash = file_hash(path)
        except OSError as e:
            raise MediaError(path, f"cannot read the file: {e.strerror}") from e
        existing = self.catalog.find_by_hash(source_hash)
        if existing is not None:
            if existing.status == Status.FAILED:  # another try, from the stage that failed
                existing = self.catalog.update(existing.id, status=Status.QUEUED, error="")
            return Submission(existing, is_new=False)
        recording = self.catalog.add(meta, path.name, source_hash, info)
        return Submission(recording, is_new=True)

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
        with self.storage.lock(recording_id, wait=wait) as is_mine:
            recording = self.catalog.get(recording_id)
            if not is_mine or recording.status.is_finished:
                return recording
            return self._run_stages(recording, source, on_progress)

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
                recording = run(recording, functools.partial(on_progress, name))
                recording = self.catalog.mark_stage_done(recording.id, name, progress=1.0)
                on_progress(name, 1.0)
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
        with atomic_path(self.storage.file(recording.id, name)) as tmp:
            playable.make_playable(self._media_path(recording), tmp, info, on_progress)
        return self.catalog.update(recording.id, playable_file=name)

    def _poster(self, recording: Recording, on_progress: Callable[[float], None]) -> Recording:
        info = recording.media_info
        assert info is not None, "probed at submit"
        name = "poster.jpg"
        source = self.storage.file(recording.id, recording.playable_file)
        with atomic_path(self.storage.file(recording.id, name)) as tmp:
            playable.make_poster(source, tmp, info, self.config.ingest.poster_at)
        return self.catalog.update(recording.id, poster_file=name)

    def _transcribe(self, recording: Recording, on_progress: Callable[[float], None]) -> Recording:
        # A scratch file: a killed run leaves it as a ".part" that the next run removes.
        scratch = part_path(self.storage.file(recording.id, "audio.s16le"))
        try:
            samples = audio.decode_pcm(self._media_path(recording), scratch, recording.duration)
            if audio.measure_loudness(samples).is_silent(self.config.ingest.silence_dbfs):
                segments: list[Segment] = []
                language = recording.meta.language
            else:
                transcript = transcribe(
                    samples,
                    self.config.transcribe,
                    language=recording.meta.language,
                    on_progress=on_progress,
                )
                segments, language = transcript.segments, transcript.language
        finally:
            scratch.unlink(missing_ok=True)
        self.catalog.replace_segments(recording.id, segments)
        note = "" if segments else "no speech detected"
        return self.catalog.update(recording.id, note=note, language=language)

    def _captions(self, recording: Recording, on_progress: Callable[[float], None]) -> Recording:
        segments = self.catalog.segments(recording.id)
        for fmt, write in captions.WRITERS.items():
            with atomic_text(self.storage.transcript(recording.id, fmt)) as f:
                write(segments, f, recording)
        return recording

    def _index(self, recording: Recording, on_progress: Callable[[float], None]) -> Recording:
        self.index.index_recording(recording, self.catalog.segments(recording.id))
        return recording
