"""The long-lived parts of Recall built from one configuration, for the CLI and the site."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from flask import current_app, request

from index import examples
from index.rebuild import rebuild_index
from index.search import TranscriptIndex
from index.semantic import SemanticIndex, is_installed
from ingest.clips import cut_clip, grab_frame
from ingest.jobs import JobQueue
from ingest.pipeline import Pipeline
from ingest.probe import probe
from library.catalog import Catalog
from library.clips import clip_edges, still_time
from library.config import Config
from library.errors import BadParameter, ConfigError, MediaError, NotFound, RecordingNotFound
from library.models import Recording, Segment, User, can_open, can_read_words, visibilities_for
from library.storage import Storage
from library.users import Users
from web.cuts import CACHE_FOLDER, CutCache

# A cut clip may be this much shorter or longer than asked, in seconds (audio frames, the last
# video frame, the frames before its start a copied video keeps) before it counts as failed.
_CLIP_SLACK = 1.0


class MediaFileNotFound(NotFound):
    def __init__(self, recording_id: str, name: str) -> None:
        super().__init__(f"recording {recording_id!r} has no file {name!r}")
        self.recording_id = recording_id
        self.name = name


@dataclass(frozen=True)
class Clip:
    """A cut clip file and the range it holds (the asked range snapped to sentences)."""

    path: Path
    start: float
    end: float


@dataclass(frozen=True)
class StartingPoints:
    examples: tuple[str, ...]
    events: tuple[str, ...]
    speakers: tuple[str, ...]
    recent: tuple[Recording, ...]


# Recent recordings an empty search page lists, and example questions it offers.
_RECENT = 6
_EXAMPLES = 4


@dataclass
class Services:
    config: Config
    catalog: Catalog
    storage: Storage
    index: TranscriptIndex
    pipeline: Pipeline
    users: Users
    jobs: JobQueue
    cuts: CutCache = field(init=False)

    def __post_init__(self) -> None:
        self.cuts = CutCache(self.config.media_dir, self.config.web)

    def rebuild_index(self) -> int:
        semantic = self.index.semantic
        self.index.close()
        publish = self.config.library.publish_mode
        count = rebuild_index(
            self.config.index_dir, self.catalog.iter_transcripts(), semantic, publish
        )
        self.index = TranscriptIndex(self.config.index_dir, semantic, publish)
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

    def readable_segments(self, recording: Recording, user: User | None) -> list[Segment] | None:
        """The transcript of a recording ``user`` opened, or None while its words are not
        published to them ([library] publish = "after review"). Every page, file and API
        route that shows words gets them here."""
        if not can_read_words(user, recording, self.config.library.publish_mode):
            return None
        return self.catalog.segments(recording.id)

    def listed(self, user: User | None, *, unfinished: bool = False) -> list[Recording]:
        """The recordings ``user`` sees in the library, oldest first: the finished ones, public
        for visitors and all of them for staff. ``unfinished``: staff also get those waiting,
        in processing, failed or cancelled (the API lists them with their status); visitors
        never do. The library page and ``/api/recordings`` both list these."""
        shown = visibilities_for(user)
        with_unfinished = unfinished and user is not None
        return [
            r
            for r in self.catalog.recordings()
            if r.meta.visibility in shown and (r.status.is_finished or with_unfinished)
        ]

    def starting_points(self, user: User | None) -> StartingPoints:
        """What an empty or fruitless search page offers ``user``: example questions from the
        words of the newest recordings, the events and speakers to browse, recent recordings;
        all of them from the recordings ``user`` may search (public ones for visitors)."""
        shown = [
            r
            for r in self.listed(user)
            if r.meta.visibility.value in self.search_visibilities(user)
        ]
        recent = sorted(shown, key=lambda r: r.created_at, reverse=True)[:_RECENT]
        # Example questions only from words this asker may read ("after review" hides the
        # words of unreviewed transcripts from visitors).
        readable = (self.readable_segments(r, user) for r in recent)
        texts = ([s.text for s in segments] for segments in readable if segments is not None)
        return StartingPoints(
            examples=tuple(examples.phrases(texts)[:_EXAMPLES]),
            events=tuple(sorted({r.meta.event for r in shown if r.meta.event})),
            speakers=tuple(sorted({s for r in shown for s in r.meta.speakers})),
            recent=tuple(recent),
        )

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
        return source, self.storage.file(recording.id, f"{CACHE_FOLDER}/{name}")

    def clip_edges(self, recording: Recording, start: float, end: float) -> tuple[float, float]:
        """The range a clip of ``start``..``end`` holds: whole sentences (library.clips)."""
        return clip_edges(self.catalog.segments(recording.id), start, end, recording.duration)

    def clip_file(self, recording: Recording, start: float, end: float) -> Clip:
        """The range, snapped to whole sentences, as its own MP4 (or M4A), cut once and kept.

        Raises :class:`BadParameter` for a clip longer than web.max_clip_seconds,
        :class:`Busy` when it cannot be cut now.
        """
        info = recording.media_info
        assert info is not None
        start, end = self.clip_edges(recording, start, end)
        longest = self.config.web.max_clip_seconds
        if end - start > longest:
            raise BadParameter(
                "end",
                f"{end:g}",
                f"a clip may be at most {longest:g} seconds long; this one would be "
                f"{end - start:.0f} seconds",
            )
        ext = "mp4" if info.has_video else "m4a"
        source, dest = self._cached(recording, f"clip-{start:.2f}-{end:.2f}.{ext}")

        def check(tmp: Path) -> None:
            got = probe(tmp, min_duration=0.0)
            if got.has_video != info.has_video or not got.has_audio:
                raise MediaError(tmp, "the cut clip lacks its audio or video")
            if abs(got.duration - (end - start)) > _CLIP_SLACK:
                raise MediaError(
                    tmp, f"the cut clip lasts {got.duration:.2f} s, not {end - start:.2f}"
                )

        def make(tmp: Path) -> None:
            cut_clip(source, tmp, start, end, info, timeout=self.config.web.clip_timeout)

        return Clip(self.cuts.get(dest, make, check), start, end)

    def frame_file(self, recording: Recording, at: float) -> Path:
        """A still near ``at`` seconds (whole seconds, never past the last frame; the poster
        for audio). Raises :class:`Busy` when it cannot be grabbed now."""
        assert recording.media_info is not None
        if not recording.media_info.has_video:
            path = self.storage.file(recording.id, recording.poster_file)
            if not recording.poster_file or not path.is_file():
                raise MediaFileNotFound(recording.id, recording.poster_file)
            return path
        at = still_time(at, recording.duration)
        source, dest = self._cached(recording, f"frame-{at:.0f}.jpg")

        def check(tmp: Path) -> None:
            head = tmp.read_bytes()[:3] if tmp.is_file() else b""
            if head != b"\xff\xd8\xff":
                raise MediaError(tmp, f"no frame at {at:g} s")

        def make(tmp: Path) -> None:
            grab_frame(source, tmp, at, timeout=self.config.web.clip_timeout)

        return self.cuts.get(dest, make, check)

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
    index = TranscriptIndex(config.index_dir, _semantic(config), config.library.publish_mode)
    # The pipeline asks for the index each time it indexes: a rebuild replaces it.
    opened: Services
    pipeline = Pipeline(config, catalog, storage, lambda: opened.index)
    jobs = JobQueue(config, catalog, pipeline)
    opened = Services(config, catalog, storage, index, pipeline, Users(catalog), jobs)
    if not index.is_current:
        opened.rebuild_index()
    return opened


def services() -> Services:
    """The open catalog, index and storage of the app serving this request."""
    return current_app.extensions["recall"]  # type: ignore[no-any-return]


def public_url(path: str) -> str:
    """``path`` (from the root, as url_for builds it) as an absolute URL under [library]
    base_url; without one, under the address this request came to."""
    base = urlsplit(services().config.library.base_url)
    if base.netloc:
        return f"{base.scheme}://{base.netloc}{path}"
    return request.host_url.rstrip("/") + path
