"""The catalog: recordings and their transcript segments, on SQLAlchemy 2.

SQLite by default; a PostgreSQL URL works unchanged. The tables, and the mapping of their
rows, are in :mod:`library.tables`; rows never leave the catalog: callers get the frozen
dataclasses of :mod:`library.models`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypedDict, Unpack

from sqlalchemy import create_engine, delete, event, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from library.clock import utc_now
from library.errors import RecordingNotFound
from library.models import (
    MediaInfo,
    Recording,
    RecordingId,
    RecordingMeta,
    Segment,
    Status,
    Word,
)
from library.schema import ensure_current

# Base is defined in library.tables; users, glossary and suggestions add their tables to it.
from library.tables import Base as Base
from library.tables import (
    RecordingRow,
    SegmentRow,
    columns,
    meta_columns,
    segment_row,
    to_recording,
    to_segment,
)

# 10 characters from a 31-letter alphabet (no i, l, o, 0 or 1, which read alike): about 49.5
# bits, short enough to read out, URL-safe. Ids already given out use it: it stays as it is.
_ID_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_ID_LENGTH = 10


class RecordingChanges(TypedDict, total=False):
    """What :meth:`Catalog.update` may change: the metadata as a whole, or one of the columns
    processing and staff's later actions set."""

    meta: RecordingMeta
    language: str | None  # the language Whisper detected, when none was given
    status: Status
    stage: str
    progress: float
    stages_done: tuple[str, ...]
    error: str
    note: str
    duration: float
    media_info: MediaInfo
    source_name: str
    source_hash: str
    source_file: str
    playable_file: str
    poster_file: str
    model: str
    speech_coverage: float | None
    reviewed_by: str | None
    reviewed_at: dt.datetime | None


def new_recording_id() -> RecordingId:
    return RecordingId("".join(secrets.choice(_ID_ALPHABET) for _ in range(_ID_LENGTH)))


def _apply(row: RecordingRow, changes: Mapping[str, object]) -> None:
    for name, value in columns(changes).items():
        setattr(row, name, value)


def _enable_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the site read while a worker writes; the timeout waits out short write locks.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class Catalog:
    def __init__(self, url: str) -> None:
        self.engine: Engine = create_engine(url)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _enable_sqlite_pragmas)
        # An empty database (a SQLite file's folder too) is made with its tables; one of an
        # earlier Recall is refused until `recall db upgrade`, one that cannot be reached is
        # one line (library.schema).
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

    def _row(self, session: Session, recording_id: str) -> RecordingRow:
        row = session.get(RecordingRow, recording_id)
        if row is None:
            raise RecordingNotFound(recording_id)
        return row

    def add(
        self, meta: RecordingMeta, source_name: str, source_hash: str, info: MediaInfo
    ) -> Recording:
        row = RecordingRow(
            id=new_recording_id(),
            **meta_columns(meta),
            status=Status.QUEUED.value,
            stage="",
            progress=0.0,
            stages_done=[],
            error="",
            note="",
            duration=info.duration,
            media_info=dataclasses.asdict(info),
            source_name=source_name,
            source_hash=source_hash,
            created_at=utc_now(),
            worker="",
        )
        with self._session.begin() as session:
            session.add(row)
        return to_recording(row)

    def get(self, recording_id: str) -> Recording:
        """Raises :class:`RecordingNotFound`."""
        with self._session() as session:
            return to_recording(self._row(session, recording_id))

    def get_many(self, recording_ids: Iterable[str]) -> dict[str, Recording]:
        """The recordings among ``recording_ids`` that exist, in one query."""
        wanted = list(dict.fromkeys(recording_ids))
        if not wanted:
            return {}
        with self._session() as session:
            rows = session.scalars(select(RecordingRow).where(RecordingRow.id.in_(wanted)))
            return {row.id: to_recording(row) for row in rows}

    def find_by_hash(self, source_hash: str) -> Recording | None:
        with self._session() as session:
            row = session.scalar(
                select(RecordingRow).where(RecordingRow.source_hash == source_hash)
            )
            return to_recording(row) if row else None

    def recordings(self, *, unfinished_only: bool = False) -> list[Recording]:
        """All recordings, oldest first; ``unfinished_only``: those a worker should pick up."""
        query = select(RecordingRow).order_by(RecordingRow.created_at, RecordingRow.id)
        if unfinished_only:
            query = query.where(
                RecordingRow.status.in_([Status.QUEUED.value, Status.PROCESSING.value])
            )
        with self._session() as session:
            return [to_recording(r) for r in session.scalars(query)]

    def update(self, recording_id: str, **changes: Unpack[RecordingChanges]) -> Recording:
        """Change one recording: its metadata (``meta``), or what processing records.

        Raises :class:`RecordingNotFound`.
        """
        with self._session.begin() as session:
            row = self._row(session, recording_id)
            _apply(row, changes)
            return to_recording(row)

    def mark_stage_done(
        self, recording_id: str, stage: str, /, **changes: Unpack[RecordingChanges]
    ) -> Recording:
        """Record ``stage`` as done (once), with other changes, in one transaction.

        Raises :class:`RecordingNotFound`.
        """
        with self._session.begin() as session:
            row = self._row(session, recording_id)
            if stage not in row.stages_done:
                row.stages_done = [*row.stages_done, stage]
            _apply(row, changes)
            return to_recording(row)

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
            row = session.get(RecordingRow, recording_id)
            if row is None or not Status(row.status).is_pending:
                return None
            seen = row.worker or ""
            if seen and seen != worker and not is_abandoned(seen, row.heartbeat_at):
                return None
        now = utc_now()
        with self._session.begin() as session:
            taken = session.execute(
                update(RecordingRow)
                .where(
                    RecordingRow.id == recording_id,
                    RecordingRow.worker == seen,
                    RecordingRow.status.in_([Status.QUEUED.value, Status.PROCESSING.value]),
                )
                .values(worker=worker, heartbeat_at=now, started_at=now)
                .execution_options(synchronize_session=False)
            )
            if taken.rowcount != 1:  # type: ignore[attr-defined]
                return None
        return self.get(recording_id)

    def heartbeat(
        self, recording_id: str, worker: str, **changes: Unpack[RecordingChanges]
    ) -> Status | None:
        """Say ``worker`` is alive (with progress changes); returns the recording's status, or
        None when the job is no longer this worker's (taken over, or deleted)."""
        values = {"heartbeat_at": utc_now(), **columns(changes)}
        with self._session.begin() as session:
            done = session.execute(
                update(RecordingRow)
                .where(RecordingRow.id == recording_id, RecordingRow.worker == worker)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            if done.rowcount != 1:  # type: ignore[attr-defined]
                return None
            status = session.scalar(
                select(RecordingRow.status).where(RecordingRow.id == recording_id)
            )
            return Status(status) if status else None

    def release(self, recording_id: str, worker: str) -> None:
        with self._session.begin() as session:
            session.execute(
                update(RecordingRow)
                .where(RecordingRow.id == recording_id, RecordingRow.worker == worker)
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
                    select(SegmentRow)
                    .where(SegmentRow.recording_id == recording_id)
                    .order_by(SegmentRow.position)
                )
                row.previous_segments = [
                    [r.start, r.end, r.text, r.words, r.speaker or ""] for r in old
                ]
            else:
                row.previous_segments = None
            row.transcript_version = (row.transcript_version or 0) + 1
            session.execute(delete(SegmentRow).where(SegmentRow.recording_id == recording_id))
            session.add_all(segment_row(recording_id, i, s) for i, s in enumerate(segments))

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
                select(SegmentRow)
                .where(SegmentRow.recording_id == recording_id)
                .order_by(SegmentRow.position)
            )
            return [to_segment(r) for r in rows]

    def iter_transcripts(self) -> Iterator[tuple[Recording, list[Segment]]]:
        """Every finished recording with its segments, for rebuilding the index."""
        for recording in self.recordings():
            if recording.status.is_finished:
                yield recording, self.segments(recording.id)

    def delete(self, recording_id: str) -> None:
        with self._session.begin() as session:
            session.execute(delete(SegmentRow).where(SegmentRow.recording_id == recording_id))
            session.delete(self._row(session, recording_id))
