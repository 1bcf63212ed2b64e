"""The long-lived parts of Recall built from one configuration, for the CLI and the site."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from index.search import TranscriptIndex, rebuild_index
from index.semantic import SemanticIndex, is_installed
from ingest.clips import cut_clip, grab_frame
from ingest.jobs import JobQueue
from ingest.pipeline import Pipeline
from library.catalog import Catalog
from library.config import Config
from library.errors import ConfigError, NotFound, RecordingNotFound
from library.models import Recording, User, can_open, visibilities_for
from library.storage import Storage, atomic_path
from library.users import Users


class MediaFileNotFound(NotFound):
    def __init__(self, recording_id: str, name: str) -> None:
        super().__init__(f"recording {recording_id!r} has no file {name!r}")
        self.recording_id = recording_id
        self.name = name


@dataclass
class Services:
    config: Config
    catalog: Catalog
    storage: Storage
    index: TranscriptIndex
    pipeline: Pipeline
    users: Users
    jobs: JobQueue

    def rebuild_index(self) -> int:
        semantic = self.index.semantic
        self.index.close()
        count = rebuild_index(self.config.index_dir, self.catalog.iter_transcripts(), semantic)
        self.index = TranscriptIndex(self.config.index_dir, semantic)
        self.pipeline.index = self.index
        return count

    def viewable(self, recording_id: str, user: User | None) -> Recording:
        """A recording ``user`` may open by its link. Visitors (``None``) open public and
        unlisted ones; private ones do not exist for them. Staff open every recording.

        Raises :class:`RecordingNotFound`.
        """
        recording = self.catalog.get(recording_id)
        if not can_open(user, recording.meta.visibility):
            raise RecordingNotFound(recording_id)
        return recording

    def listed(self, user: User | None) -> list[Recording]:
        """The finished recordings ``user`` sees in the library, oldest first: public ones for
        visitors, all of them for staff."""
        shown = visibilities_for(user)
        return [
            r
            for r in self.catalog.recordings()
            if r.meta.visibility in shown and r.status.is_finished
        ]

    def search_visibilities(self, user: User | None) -> tuple[str, ...]:
        return tuple(v.value for v in visibilities_for(user))

    def media_file(self, recording_id: str, name: str, user: User | None) -> Path:
        """A servable file of a recording ``user`` may open: its playable media or its poster.

        Raises :class:`RecordingNotFound` or :class:`MediaFileNotFound`.
        """
        recording = self.viewable(recording_id, user)
        if name not in {recording.playable_file, recording.poster_file} or not name:
            raise MediaFileNotFound(recording_id, name)
        path = self.storage.file(recording_id, name)
        if not path.is_file():
            raise MediaFileNotFound(recording_id, name)
        return path

    def _cached(self, recording: Recording, name: str) -> tuple[Path, Path]:
        if not recording.playable_file:
            raise MediaFileNotFound(recording.id, recording.playable_file)
        source = self.storage.file(recording.id, recording.playable_file)
        return source, self.storage.file(recording.id, f"cache/{name}")

    def clip_file(self, recording: Recording, start: float, end: float) -> Path:
        """The range as its own MP4 (or M4A), cut once and kept. Raises :class:`MediaError`."""
        assert recording.media_info is not None
        ext = "mp4" if recording.media_info.has_video else "m4a"
        source, dest = self._cached(recording, f"clip-{start:.2f}-{end:.2f}.{ext}")
        if not dest.exists():
            with atomic_path(dest) as tmp:
                cut_clip(source, tmp, start, end, recording.media_info)
        return dest

    def frame_file(self, recording: Recording, at: float) -> Path:
        """A still at ``at`` seconds (the poster for audio). Raises :class:`MediaError`."""
        assert recording.media_info is not None
        if not recording.media_info.has_video:
            path = self.storage.file(recording.id, recording.poster_file)
            if not recording.poster_file or not path.is_file():
                raise MediaFileNotFound(recording.id, recording.poster_file)
            return path
        source, dest = self._cached(recording, f"frame-{at:.1f}.jpg")
        if not dest.exists():
            with atomic_path(dest) as tmp:
                grab_frame(source, tmp, at)
        return dest

    def close(self) -> None:
        self.index.close()
        self.catalog.close()


def _semantic(config: Config) -> SemanticIndex | None:
    """Semantic search when configured and installed. Raises ConfigError for "on" without it."""
    if config.index.semantic == "off":
        return None
    if not is_installed():
        if config.index.semantic == "on":
            raise ConfigError(
                "index.semantic", "is on, but its model is missing: pip install recall-sessions"
            )
        return None
    return SemanticIndex(config.vectors_dir)


def open_services(config: Config) -> Services:
    """Open the catalog, storage and index; an index from an older Recall is rebuilt."""
    catalog = Catalog(config.database_url)
    storage = Storage(config.media_dir)
    index = TranscriptIndex(config.index_dir, _semantic(config))
    pipeline = Pipeline(config, catalog, storage, index)
    jobs = JobQueue(config, catalog, pipeline)
    services = Services(config, catalog, storage, index, pipeline, Users(catalog), jobs)
    if not index.is_current:
        services.rebuild_index()
    return services
