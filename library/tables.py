"""The catalog's tables and the one mapping between their rows and :mod:`library.models`.

:class:`Base` holds the metadata of every table Recall keeps (the recordings' and segments'
here; users, glossary and suggestions add theirs when their modules are imported).

A recording's metadata (:class:`RecordingMeta`) is stored one column per field, of the
field's name: the mapping below follows the dataclass's fields, so a new field needs only
its column here (and a migration), not another hand-written copy of the list.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import typing
from collections.abc import Mapping
from typing import Any

from sqlalchemy import JSON, Date, DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

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


class Base(DeclarativeBase):
    pass


class RecordingRow(Base):
    __tablename__ = "recordings"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # RecordingMeta's fields, by name.
    title: Mapped[str] = mapped_column(Text)
    event: Mapped[str] = mapped_column(Text, default="")
    speakers: Mapped[list[str]] = mapped_column(JSON, default=list)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    description: Mapped[str] = mapped_column(Text, default="")
    recorded_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    visibility: Mapped[str] = mapped_column(String(16), default=Visibility.PUBLIC.value)
    language: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # What processing made of it.
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


class SegmentRow(Base):
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


_META_TYPES = typing.get_type_hints(RecordingMeta)


def _column_value(value: object) -> object:
    """A model value as its column holds it: enums by value, media info and lists as JSON."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, MediaInfo):
        return dataclasses.asdict(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def _model_value(kind: Any, value: Any) -> Any:
    """A column's value as the dataclass field of type ``kind`` holds it."""
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return kind(value)
    if typing.get_origin(kind) is tuple:
        return tuple(value)
    return value


def meta_columns(meta: RecordingMeta) -> dict[str, object]:
    """The metadata's columns, one per field of :class:`RecordingMeta`."""
    return {name: _column_value(getattr(meta, name)) for name in _META_TYPES}


def meta_of(row: RecordingRow) -> RecordingMeta:
    fields = {name: _model_value(kind, getattr(row, name)) for name, kind in _META_TYPES.items()}
    return RecordingMeta(**fields)


def columns(changes: Mapping[str, object]) -> dict[str, object]:
    """:class:`library.catalog.RecordingChanges` as column values; ``meta`` becomes its
    fields' columns."""
    values: dict[str, object] = {}
    for name, value in changes.items():
        if isinstance(value, RecordingMeta):
            values.update(meta_columns(value))
        else:
            values[name] = _column_value(value)
    return values


def to_recording(row: RecordingRow) -> Recording:
    return Recording(
        id=RecordingId(row.id),
        meta=meta_of(row),
        source_name=row.source_name,
        source_hash=row.source_hash,
        status=Status(row.status),
        created_at=row.created_at,
        duration=row.duration,
        media_info=MediaInfo(**row.media_info) if row.media_info else None,
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


def to_segment(row: SegmentRow) -> Segment:
    return Segment(
        start=row.start,
        end=row.end,
        text=row.text,
        words=tuple(Word(w[0], w[1], w[2], w[3]) for w in row.words),
        speaker=row.speaker or "",
    )


def segment_row(recording_id: str, position: int, segment: Segment) -> SegmentRow:
    return SegmentRow(
        recording_id=recording_id,
        position=position,
        start=segment.start,
        end=segment.end,
        text=segment.text,
        words=[[w.start, w.end, w.text, w.probability] for w in segment.words],
        speaker=segment.speaker or None,
    )
