"""The dataclasses every package speaks in. Times are float seconds."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NewType

RecordingId = NewType("RecordingId", str)


class Status(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    READY = "ready"
    NO_SPEECH = "no speech"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_finished(self) -> bool:
        return self in (Status.READY, Status.NO_SPEECH)

    @property
    def is_pending(self) -> bool:
        """Waiting for a worker or being worked on."""
        return self in (Status.QUEUED, Status.PROCESSING)


class Visibility(StrEnum):
    PUBLIC = "public"
    UNLISTED = "unlisted"
    PRIVATE = "private"


class Role(StrEnum):
    STAFF = "staff"  # uploads, edits and sees every recording
    ADMIN = "admin"  # and manages the accounts


@dataclass(frozen=True)
class User:
    id: int
    email: str
    role: Role
    created_at: dt.datetime

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


def visibilities_for(user: User | None) -> tuple[Visibility, ...]:
    """What a search may show: staff find every recording, visitors only public ones."""
    return tuple(Visibility) if user is not None else (Visibility.PUBLIC,)


def can_open(user: User | None, visibility: Visibility) -> bool:
    """Whether ``user`` (None: an anonymous visitor) may open a recording by its link."""
    return user is not None or visibility != Visibility.PRIVATE


class Publish(StrEnum):
    """[library] publish: when a recording's words reach visitors."""

    IMMEDIATELY = "immediately"
    AFTER_REVIEW = "after review"  # once a staff member marked the transcript reviewed


# The pipeline's stages, in the order they run, with how much of an ingest each takes (for one
# overall progress figure; measured on 2 cores: transcription dominates).
STAGE_WEIGHTS = {
    "store": 0.02,
    "playable": 0.08,
    "poster": 0.02,
    "transcribe": 0.84,
    "captions": 0.02,
    "index": 0.02,
}
STAGES: tuple[str, ...] = tuple(STAGE_WEIGHTS)


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    text: str  # as Whisper wrote it, with its leading space
    probability: float = 1.0


@dataclass(frozen=True)
class Segment:
    """One sentence of a transcript (one cue of its caption files), with its words."""

    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()
    speaker: str = ""  # a label staff give while editing ("Ana", "Host"); Whisper sets none


@dataclass(frozen=True)
class MediaInfo:
    """What probing a file found."""

    container: str
    duration: float
    audio_codec: str | None
    video_codec: str | None
    width: int = 0
    height: int = 0
    pixel_format: str | None = None

    @property
    def has_audio(self) -> bool:
        return self.audio_codec is not None

    @property
    def has_video(self) -> bool:
        return self.video_codec is not None


@dataclass(frozen=True)
class RecordingMeta:
    """What staff say about a recording."""

    title: str
    event: str = ""
    speakers: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    recorded_on: dt.date | None = None
    visibility: Visibility = Visibility.PUBLIC
    language: str | None = None
    description: str = ""


@dataclass(frozen=True)
class Recording:
    id: RecordingId
    meta: RecordingMeta
    source_name: str
    source_hash: str
    status: Status
    created_at: dt.datetime
    duration: float = 0.0
    media_info: MediaInfo | None = None
    source_file: str = ""  # file names inside the recording's storage folder
    playable_file: str = ""
    poster_file: str = ""
    stages_done: tuple[str, ...] = ()
    stage: str = ""
    progress: float = 0.0
    error: str = ""
    note: str = ""
    worker: str = ""  # "host:pid:thread" of the worker processing it, "" when none
    heartbeat_at: dt.datetime | None = None
    started_at: dt.datetime | None = None
    can_undo: bool = False  # a transcript edit can be taken back
    model: str = ""  # the Whisper model for this recording; "" is the configured one
    transcript_version: int = 0  # goes up with every save, so two editors cannot overwrite
    # The share of the time the audio has voice that the transcript has words for (None: not
    # measured, or no voice at all); low values mean speech was lost (noise, a quiet speaker).
    speech_coverage: float | None = None

    reviewed_by: str = ""  # the staff email that marked the transcript reviewed; "" machine
    reviewed_at: dt.datetime | None = None

    def coverage_is_low(self, threshold: float) -> bool:
        return self.speech_coverage is not None and self.speech_coverage < threshold

    @property
    def transcript_state(self) -> str:
        """Reviewed once staff marked it so, else machine (as Whisper or an import wrote it)."""
        return "reviewed" if self.reviewed_by else "machine"

    @property
    def title(self) -> str:
        return self.meta.title

    @property
    def overall_progress(self) -> float:
        """How far the whole job is, 0..1, weighting each stage by its usual cost."""
        if self.status.is_finished:
            return 1.0
        done = sum(STAGE_WEIGHTS[s] for s in self.stages_done if s in STAGE_WEIGHTS)
        current = STAGE_WEIGHTS.get(self.stage, 0.0) if self.stage not in self.stages_done else 0
        return min(1.0, done + current * self.progress)

    def is_done(self, stage: str) -> bool:
        return stage in self.stages_done


def words_published(recording: Recording, publish: Publish) -> bool:
    """Whether visitors may read the recording's words (transcript, captions, quotes, search)."""
    return publish == Publish.IMMEDIATELY or bool(recording.reviewed_by)


def can_read_words(user: User | None, recording: Recording, publish: Publish) -> bool:
    """Whether ``user`` (None: a visitor) may read the words of a recording they may open.
    The one rule every page, file and API route that shows words follows."""
    return user is not None or words_published(recording, publish)


def searchable_visibility(recording: Recording, publish: Publish) -> Visibility:
    """The visibility its index documents carry: an unpublished transcript is indexed as if
    private, so that no search a visitor makes (hits, counts, spelling) draws on its words."""
    if words_published(recording, publish):
        return recording.meta.visibility
    return Visibility.PRIVATE


@dataclass(frozen=True)
class SearchHit:
    recording_id: RecordingId
    title: str
    start: float
    end: float
    text: str
    snippet: str  # HTML: the text escaped, matched words in <mark>
    event: str = ""
    speakers: tuple[str, ...] = ()
    score: float = 0.0
    # Who says it: the sentence's own speaker label where the transcript has one, else "".
    speaker: str = ""
    # The query's words it does not say ("moments with some of your words"); () when all.
    missing: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        return recording_url(self.recording_id, self.start)


@dataclass(frozen=True)
class RecordingMatch:
    """A recording whose title, speakers, event, tags or description hold the query's words."""

    id: RecordingId
    title: str
    event: str
    speakers: tuple[str, ...]
    tags: tuple[str, ...]
    url: str
    matched: tuple[str, ...]  # the fields that held them: "title", "speakers", ...


@dataclass(frozen=True)
class SearchResults:
    query: str
    total: int
    hits: tuple[SearchHit, ...] = field(default_factory=tuple)
    # A spelling correction from the index's own words ("contrl" -> "control"); when
    # ``corrected`` the hits are for it, because the query as typed found nothing.
    suggestion: str = ""
    corrected: bool = False
    # Moments per event and per speaker among all matches: {"event": {"HLS Week": 12}, ...}
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    # Recordings found by their metadata, listed above the moments.
    recordings: tuple[RecordingMatch, ...] = ()
    # The moments that exist: ``total`` is an estimate when ``estimated``.
    estimated: bool = False
    # Moments per recording, counted as ``total`` is ("All 12 moments in this recording").
    per_recording: dict[str, int] = field(default_factory=dict)
    page: int = 1
    pages: int = 1
    # When nothing was found: words said in the library that begin like the query's words.
    related: tuple[str, ...] = ()


def recording_url(recording_id: str, start: float | None = None) -> str:
    """The recording page's path, at ``start`` seconds when given."""
    if start is None:
        return f"/r/{recording_id}"
    return f"/r/{recording_id}?t={round(start, 2):g}"
