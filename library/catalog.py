"""The catalog: recordings and their transcript segments, on SQLAlchemy 2.

SQLite by default; a PostgreSQL URL works unchanged. Rows never leave this module: callers
get the frozen dataclasses of :mod:`library.models`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    create_engine,
    delete,
    event,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from library.errors import RecordingNotFound
from library.models import (
    MediaInfo,
    Recording,
    RecordingId,
    RecordingMeta,
    Segment,
    Status,
    Visibility,
    Word,
)
from library.schema import ensure_current

# 10 characters from a 32-letter alphabet: 50 bits, short enough to read out, URL-safe.
_ID_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_ID_LENGTH = 10


def new_recording_id() -> RecordingId:
    return RecordingId("".join(secrets.choice(_ID_ALPHABET) for _ in range(_ID_LENGTH)))


class Base(DeclarativeBase):
    pass


class _RecordingRow(Base):
    __tablename__ = "recordings"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    event: Mapped[str] = mapped_column(Text, default="")
    speakers: Mapped[list[str]] = mapped_column(JSON, default=list)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    description: Mapped[str] = mapped_column(Text, default="")
    recorded_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    visibility: Mapped[str] = mapped_column(String(16), default=Visibility.PUBLIC.value)
    language: Mapped[str | None] = mapped_column(String(16), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default=Status.QUEUED.value, index=True)
    stage: Mapped[str] = mapped_column(String(32), default="")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    stages_done: Mapped[list[str]] = mapped_column(JSON, default=list)
    error: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")
    duration: Mapped[float] = mapped_column(Float, default=0.0)
    media_info: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    source_name: Mapped[str] = mapped_column(Text)
    source_hash: Mapped[str] = mapped_column(String(64), unique=True)
    source_file: Mapped[str] = mapped_column(Text, default="")
    playable_file: Mapped[str] = mapped_column(Text, default="")
    poster_file: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    # The job: which worker holds it ("host:pid", "" when none), when it last said it is alive,
    # when it started, and how far the current stage is (progress above).
    worker: Mapped[str] = mapped_column(String(160), default="")
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    # The segments before the last transcript edit: undo goes one step back.
    previous_segments: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    model: Mapped[str | None] = mapped_column(Text, nullable=True)
    transcript_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    speech_coverage: Mapped[float | None] = mapped_column(Float, nullable=True)
    # Who marked the transcript reviewed (an email) and when; NULL: as the machine wrote it.
    reviewed_by: Mapped[str | None] = mapped_column(Text, nullable=True)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class _SegmentRow(Base):
    __tablename__ = "segments"

    recording_id: Mapped[str] = mapped_column(
        ForeignKey("recordings.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)
    # [[start, end, text, probability], ...]: one row per word would be ~10 rows per cue.
    words: Mapped[list[list[Any]]] = mapped_column(JSON, default=list)
    speaker: Mapped[str | None] = mapped_column(Text, nullable=True)


def _to_recording(row: _RecordingRow) -> Recording:
    info = MediaInfo(**row.media_info) if row.media_info else None
    return Recording(
        id=RecordingId(row.id),
        meta=RecordingMeta(
            title=row.title,
            event=row.event,
            speakers=tuple(row.speakers),
            tags=tuple(row.tags),
            recorded_on=row.recorded_on,
            visibility=Visibility(row.visibility),
            language=row.language,
            description=row.description,
        ),
        source_name=row.source_name,
        source_hash=row.source_hash,
        status=Status(row.status),
        created_at=row.created_at,
        duration=row.duration,
        media_info=info,
        source_file=row.source_file,
        playable_file=row.playable_file,
        poster_file=row.poster_file,
        stages_done=tuple(row.stages_done),
        stage=row.stage,
        progress=row.progress,
        error=row.error,
        note=row.note,
        worker=row.worker or "",
        heartbeat_at=row.heartbeat_at,
        started_at=row.started_at,
        can_undo=bool(row.previous_segments),
        model=row.model or "",
        transcript_version=row.transcript_version or 0,
        speech_coverage=row.speech_coverage,
        reviewed_by=row.reviewed_by or "",
        reviewed_at=row.reviewed_at,
    )


def _info_dict(info: MediaInfo) -> dict[str, Any]:
    return dataclasses.asdict(info)


def _apply(row: _RecordingRow, changes: dict[str, Any]) -> None:
    """Set columns; enums are stored by value, media info and tuples as JSON."""
    for name, value in changes.items():
        if isinstance(value, Status | Visibility):
            value = value.value
        elif isinstance(value, MediaInfo):
            value = _info_dict(value)
        elif isinstance(value, tuple):
            value = list(value)
        setattr(row, name, value)


def _to_segment(row: _SegmentRow) -> Segment:
    return Segment(
        start=row.start,
        end=row.end,
        text=row.text,
        words=tuple(Word(w[0], w[1], w[2], w[3]) for w in row.words),
        speaker=row.speaker or "",
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _enable_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the site read while a worker writes; the timeout waits out short write locks.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class Catalog:
    def __init__(self, url: str) -> None:
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(url)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _enable_sqlite_pragmas)
        # An empty database gets its tables; one of an earlier Recall is refused until
        # `recall db upgrade` (library.schema).
        try:
            ensure_current(self.engine)
        except BaseException:
            self.engine.dispose()
            raise
        self._session = sessionmaker(self.engine, expire_on_commit=False)
        # For the other stores that share this database (library.users).
        self.session_factory = self._session

    def close(self) -> None:
        self.engine.dispose()

    def _row(self, session: Session, recording_id: str) -> _RecordingRow:
        row = session.get(_RecordingRow, recording_id)
        if row is None:
            raise RecordingNotFound(recording_id)
        return row

    def add(
        self, meta: RecordingMeta, source_name: str, source_hash: str, info: MediaInfo
    ) -> Recording:
        row = _RecordingRow(
            id=new_recording_id(),
            title=meta.title,
            event=meta.event,
            speakers=list(meta.speakers),
            tags=list(meta.tags),
            description=meta.description,
            recorded_on=meta.recorded_on,
            visibility=meta.visibility.value,
            language=meta.language,
            status=Status.QUEUED.value,
            stage="",
            progress=0.0,
            stages_done=[],
            error="",
            note="",
            duration=info.duration,
            media_info=_info_dict(info),
            source_name=source_name,
            source_hash=source_hash,
            created_at=_now(),
            worker="",
        )
        with self._session.begin() as session:
            session.add(row)
        return _to_recording(row)

    def get(self, recording_id: str) -> Recording:
        """Raises :class:`RecordingNotFound`."""
        with self._session() as session:
            return _to_recording(self._row(session, recording_id))

    def get_many(self, recording_ids: Iterable[str]) -> dict[str, Recording]:
        """The recordings among ``recording_ids`` that exist, in one query."""
        wanted = list(dict.fromkeys(recording_ids))
        if not wanted:
            return {}
        with self._session() as session:
            rows = session.scalars(select(_RecordingRow).where(_RecordingRow.id.in_(wanted)))
            return {row.id: _to_recording(row) for row in rows}

    def find_by_hash(self, source_hash: str) -> Recording | None:
        with self._session() as session:
            row = session.scalar(
                select(_RecordingRow).where(_RecordingRow.source_hash == source_hash)
            )
            return _to_recording(row) if row else None

    def recordings(self, *, unfinished_only: bool = False) -> list[Recording]:
        """All recordings, oldest first; ``unfinished_only``: those a worker should pick up."""
        query = select(_RecordingRow).order_by(_RecordingRow.created_at, _RecordingRow.id)
        if unfinished_only:
            query = query.where(
                _RecordingRow.status.in_([Status.QUEUED.value, Status.PROCESSING.value])
            )
        with self._session() as session:
            return [_to_recording(r) for r in session.scalars(query)]

    def update(self, recording_id: str, **changes: Any) -> Recording:
        """Set columns of one recording (enum values are stored by value).

        Raises :class:`RecordingNotFound`.
        """
        with self._session.begin() as session:
            row = self._row(session, recording_id)
            _apply(row, changes)
            return _to_recording(row)

    def mark_stage_done(self, recording_id: str, stage: str, **changes: Any) -> Recording:
        """Record ``stage`` as done (once), with other changes, in one transaction.

        Raises :class:`RecordingNotFound`.
        """
        with self._session.begin() as session:
            row = self._row(session, recording_id)
            if stage not in row.stages_done:
                row.stages_done = [*row.stages_done, stage]
            _apply(row, changes)
            return _to_recording(row)

    # -- jobs -------------------------------------------------------------------------------------

    def claim(
        self,
        recording_id: str,
        worker: str,
        is_abandoned: Callable[[str, dt.datetime | None], bool],
    ) -> Recording | None:
        """Take the recording's job for ``worker`` if it is waiting, or held by a worker that
        ``is_abandoned(worker, heartbeat_at)`` says is gone. At most one claimant wins: the
        update only applies while the holder is still the one seen (compare and swap).

        Returns the claimed recording, or None when it is finished, cancelled or held.
        """
        with self._session() as session:
            row = session.get(_RecordingRow, recording_id)
            if row is None or not Status(row.status).is_pending:
                return None
            seen = row.worker or ""
            if seen and seen != worker and not is_abandoned(seen, row.heartbeat_at):
                return None
        now = _now()
        with self._session.begin() as session:
            taken = session.execute(
                update(_RecordingRow)
                .where(
                    _RecordingRow.id == recording_id,
                    _RecordingRow.worker == seen,
                    _RecordingRow.status.in_([Status.QUEUED.value, Status.PROCESSING.value]),
                )
                .values(worker=worker, heartbeat_at=now, started_at=now)
                .execution_options(synchronize_session=False)
            )
            if taken.rowcount != 1:  # type: ignore[attr-defined]
                return None
        return self.get(recording_id)

    def heartbeat(self, recording_id: str, worker: str, **changes: Any) -> Status | None:
        """Say ``worker`` is alive (with progress changes); returns the recording's status, or
        None when the job is no longer this worker's (taken over, or deleted)."""
        values = {"heartbeat_at": _now(), **changes}
        with self._session.begin() as session:
            done = session.execute(
                update(_RecordingRow)
                .where(_RecordingRow.id == recording_id, _RecordingRow.worker == worker)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            if done.rowcount != 1:  # type: ignore[attr-defined]
                return None
            status = session.scalar(
                select(_RecordingRow.status).where(_RecordingRow.id == recording_id)
            )
            return Status(status) if status else None

    def release(self, recording_id: str, worker: str) -> None:
        with self._session.begin() as session:
            session.execute(
                update(_RecordingRow)
                .where(_RecordingRow.id == recording_id, _RecordingRow.worker == worker)
                .values(worker="", heartbeat_at=None)
                .execution_options(synchronize_session=False)
            )

    # -- transcripts --------------------------------------------------------------------------

    def replace_segments(
        self, recording_id: str, segments: Iterable[Segment], *, keep_previous: bool = False
    ) -> None:
        """Store the transcript. ``keep_previous``: the one it replaces becomes the undo step;
        otherwise (a new transcription) there is nothing to undo."""
        with self._session.begin() as session:
            row = self._row(session, recording_id)
            if keep_previous:
                old = session.scalars(
                    select(_SegmentRow)
                    .where(_SegmentRow.recording_id == recording_id)
                    .order_by(_SegmentRow.position)
                )
                row.previous_segments = [
                    [r.start, r.end, r.text, r.words, r.speaker or ""] for r in old
                ]
            else:
                row.previous_segments = None
            row.transcript_version = (row.transcript_version or 0) + 1
            session.execute(delete(_SegmentRow).where(_SegmentRow.recording_id == recording_id))
            session.add_all(
                _SegmentRow(
                    recording_id=recording_id,
                    position=i,
                    start=s.start,
                    end=s.end,
                    text=s.text,
                    words=[[w.start, w.end, w.text, w.probability] for w in s.words],
                    speaker=s.speaker or None,
                )
                for i, s in enumerate(segments)
            )

    def previous_segments(self, recording_id: str) -> list[Segment] | None:
        """The transcript before the last edit, or None. Raises :class:`RecordingNotFound`."""
        with self._session() as session:
            kept = self._row(session, recording_id).previous_segments
        if not kept:
            return None
        return [
            Segment(start, end, text, tuple(Word(*w) for w in words), rest[0] if rest else "")
            for start, end, text, words, *rest in kept
        ]

    def segments(self, recording_id: str) -> list[Segment]:
        """Raises :class:`RecordingNotFound`."""
        with self._session() as session:
            self._row(session, recording_id)
            rows = session.scalars(
                select(_SegmentRow)
                .where(_SegmentRow.recording_id == recording_id)
                .order_by(_SegmentRow.position)
            )
            return [_to_segment(r) for r in rows]

    def iter_transcripts(self) -> Iterator[tuple[Recording, list[Segment]]]:
        """Every finished recording with its segments, for rebuilding the index."""
        for recording in self.recordings():
            if recording.status.is_finished:
                yield recording, self.segments(recording.id)

    def delete(self, recording_id: str) -> None:
        with self._session.begin() as session:
            session.execute(delete(_SegmentRow).where(_SegmentRow.recording_id == recording_id))
            session.delete(self._row(session, recording_id))
