"""The ingest pipeline: ordered, idempotent stages whose completion is recorded.

:mod:`ingest.intake` puts a file in the catalog; :meth:`Pipeline.process` runs every stage
not yet done: store -> playable -> poster -> transcribe -> captions -> index. Each stage
writes its files atomically and is marked done in the catalog only once they are in place, so
a run killed at any point resumes at the first unfinished stage and leaves no half-written
file. Who works on a job is :mod:`ingest.lease`'s business.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from collections.abc import Callable
from pathlib import Path

from index.search import TranscriptIndex
from ingest import audio, channels, coverage, intake, lease, playable
from ingest.lease import JobStopped, ProgressFn
from ingest.probe import playable_duration
from ingest.publish import publish
from ingest.stagetimes import StageTimes
from ingest.transcribe import Transcript, transcribe
from ingest.vocabulary import Vocabulary, vocabulary
from library.atomic import atomic_path, atomic_text, part_path
from library.catalog import Catalog, RecordingChanges
from library.config import Config, TranscribeConfig
from library.errors import MediaError, RecallError, RecordingNotFound
from library.glossary import Glossary
from library.models import Recording, RecordingMeta, Status
from library.storage import Storage
from library.timecode import clock

log = logging.getLogger("recall.ingest")

# A file whose playable copy is shorter than this part of the duration it declares is refused:
# most of it is missing (an upload cut short whose index, at the front, still names it all).
MIN_READABLE = 0.5
# Less missing than this (seconds, or this part of the duration) is only rounding and priming.
_MISSING_SECONDS, _MISSING_PART = 2.0, 0.02


def _ignore_progress(stage: str, fraction: float) -> None:
    pass


def damage_note(declared: float, readable: float) -> str:
    """The warning for a recording whose end could not be read; "" when nothing is missing."""
    if declared - readable <= max(_MISSING_SECONDS, declared * _MISSING_PART):
        return ""
    return (
        f"damaged file: only {clock(readable)} of the {clock(declared)} it declares could be "
        "read (the end is missing or broken)"
    )


class Pipeline:
    """The stage runner. ``index`` gives the search index in use now: a rebuild replaces it."""

    def __init__(
        self,
        config: Config,
        catalog: Catalog,
        storage: Storage,
        index: Callable[[], TranscriptIndex],
    ) -> None:
        self.config = config
        self.catalog = catalog
        self.storage = storage
        self.index = index
        self.stage_times = StageTimes(config.data_dir)  # for the site's /metrics
        self.glossary = Glossary(catalog)

    def process(
        self,
        recording_id: str,
        source: Path | None = None,
        on_progress: ProgressFn = _ignore_progress,
        *,
        wait: bool = False,
    ) -> Recording | None:
        """Run the stages not yet done. A failure marks the recording failed with a readable
        reason and is returned, never raised: the other recordings of a batch go on.

        ``source`` is the original file, needed only while the "store" stage is not done.
        Returns None when there was nothing for this worker to do: the job is finished,
        cancelled, deleted or held by another worker. While another process works on the
        recording this waits for it with ``wait``, or else returns None at once.
        """
        with self.storage.lock(recording_id, wait=wait) as is_mine:
            if not is_mine:
                return None
            seconds = self.config.jobs.lease_seconds
            try:
                with lease.hold(self.catalog, recording_id, seconds, on_progress) as job:
                    if job is None:
                        return None
                    return self._run_stages(job.recording, source, job.report)
            except RecordingNotFound:
                log.info("recording %s was deleted while it was processed", recording_id)
                return None

    def ingest(
        self, path: Path, meta: RecordingMeta, on_progress: ProgressFn = _ignore_progress
    ) -> Recording:
        """Submit and process one file, waiting for any other process working on it.

        Raises :class:`MediaError` for unusable input.
        """
        recording = intake.submit(self.catalog, path, meta, self.config.ingest).recording
        done = self.process(recording.id, path, on_progress, wait=True)
        return done if done is not None else self.catalog.get(recording.id)

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
        return publish(self.catalog, self.storage, self.index(), recording.id, "captions")

    def _index(self, recording: Recording, on_progress: Callable[[float], None]) -> Recording:
        return publish(self.catalog, self.storage, self.index(), recording.id, "index")
