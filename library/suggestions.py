"""Corrections visitors suggest for one sentence of a transcript. Stored for staff, who
accept (the text becomes an edit of that sentence) or dismiss each; never shown to visitors.

A visitor is known only by a keyed hash of their address (made by the site), enough to count
how many they sent in the last hour and no more.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import DateTime, Float, ForeignKey, Integer, String, Text, func, select
from sqlalchemy.orm import Mapped, mapped_column

from library.catalog import Base, Catalog
from library.clock import utc_now
from library.errors import BadParameter, Conflict, NotFound, TooManyRequests

MAX_TEXT = 500  # characters: a sentence or two, never a pasted page
PER_HOUR = 10  # suggestions one address may send in an hour
MAX_OPEN = 2000  # open suggestions in all: many addresses cannot fill the database


class SuggestionState(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    DISMISSED = "dismissed"


@dataclass(frozen=True)
class Suggestion:
    id: int
    recording_id: str
    position: int  # the sentence (segment) index in the transcript
    start: float
    original: str  # the sentence as the visitor saw it
    text: str  # what they suggest it should say
    created_at: dt.datetime
    state: SuggestionState = SuggestionState.OPEN
    decided_by: str = ""


class SuggestionNotFound(NotFound):
    def __init__(self, suggestion_id: int) -> None:
        super().__init__(f"no suggestion {suggestion_id}")
        self.suggestion_id = suggestion_id


class _SuggestionRow(Base):
    __tablename__ = "suggestions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    recording_id: Mapped[str] = mapped_column(
        ForeignKey("recordings.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    start: Mapped[float] = mapped_column(Float)
    original: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    visitor: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    state: Mapped[str] = mapped_column(String(16), default=SuggestionState.OPEN.value)
    decided_by: Mapped[str | None] = mapped_column(Text, nullable=True)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


def _to_suggestion(row: _SuggestionRow) -> Suggestion:
    return Suggestion(
        id=row.id,
        recording_id=row.recording_id,
        position=row.position,
        start=row.start,
        original=row.original,
        text=row.text,
        created_at=row.created_at,
        state=SuggestionState(row.state),
        decided_by=row.decided_by or "",
    )


def clean_text(text: str, original: str) -> str:
    """The suggested text, whitespace tidied. Raises :class:`BadParameter` when it is empty,
    longer than :data:`MAX_TEXT` or the same as the sentence."""
    tidy = " ".join(text.split())
    if not tidy:
        raise BadParameter("text", "", "write how the sentence should read")
    if len(tidy) > MAX_TEXT:
        raise BadParameter("text", tidy[:40] + "…", f"is longer than {MAX_TEXT} characters")
    if tidy == " ".join(original.split()):
        raise BadParameter("text", tidy[:40], "is the same as the sentence")
    return tidy


class Suggestions:
    """The suggestions, in the catalog's database."""

    def __init__(self, catalog: Catalog) -> None:
        self._session = catalog.session_factory
        Base.metadata.create_all(catalog.engine, tables=[Base.metadata.tables["suggestions"]])

    def add(
        self,
        recording_id: str,
        position: int,
        start: float,
        original: str,
        text: str,
        visitor: str,
        now: dt.datetime | None = None,
    ) -> Suggestion:
        """Store one suggestion. Raises :class:`BadParameter` for its text, and
        :class:`TooManyRequests` past :data:`PER_HOUR` from ``visitor`` or :data:`MAX_OPEN`."""
        now = now or utc_now()
        tidy = clean_text(text, original)
        with self._session.begin() as session:
            recent = session.scalar(
                select(func.count())
                .select_from(_SuggestionRow)
                .where(
                    _SuggestionRow.visitor == visitor,
                    _SuggestionRow.created_at > now - dt.timedelta(hours=1),
                )
            )
            if (recent or 0) >= PER_HOUR:
                raise TooManyRequests("suggestions", 3600)
            waiting = session.scalar(
                select(func.count())
                .select_from(_SuggestionRow)
                .where(_SuggestionRow.state == SuggestionState.OPEN.value)
            )
            if (waiting or 0) >= MAX_OPEN:
                raise TooManyRequests("suggestions", 3600)
            row = _SuggestionRow(
                recording_id=recording_id,
                position=position,
                start=start,
                original=original,
                text=tidy,
                visitor=visitor,
                created_at=now,
                state=SuggestionState.OPEN.value,
            )
            session.add(row)
            session.flush()
            return _to_suggestion(row)

    def get(self, suggestion_id: int) -> Suggestion:
        """Raises :class:`SuggestionNotFound`."""
        with self._session() as session:
            row = session.get(_SuggestionRow, suggestion_id)
            if row is None:
                raise SuggestionNotFound(suggestion_id)
            return _to_suggestion(row)

    def open(self, recording_id: str | None = None) -> list[Suggestion]:
        """Open suggestions, oldest first (the order they came in)."""
        query = select(_SuggestionRow).where(_SuggestionRow.state == SuggestionState.OPEN.value)
        if recording_id is not None:
            query = query.where(_SuggestionRow.recording_id == recording_id)
        with self._session() as session:
            rows = session.scalars(query.order_by(_SuggestionRow.created_at, _SuggestionRow.id))
            return [_to_suggestion(r) for r in rows]

    def open_counts(self) -> dict[str, int]:
        """recording id -> open suggestions, for recordings that have any."""
        with self._session() as session:
            rows = session.execute(
                select(_SuggestionRow.recording_id, func.count())
                .where(_SuggestionRow.state == SuggestionState.OPEN.value)
                .group_by(_SuggestionRow.recording_id)
            )
            return {rid: n for rid, n in rows}

    def decide(self, suggestion_id: int, state: SuggestionState, by: str) -> Suggestion:
        """Close an open suggestion as accepted or dismissed. Raises :class:`Conflict` when
        someone decided it already, :class:`SuggestionNotFound`."""
        with self._session.begin() as session:
            row = session.get(_SuggestionRow, suggestion_id)
            if row is None:
                raise SuggestionNotFound(suggestion_id)
            if row.state != SuggestionState.OPEN.value:
                raise Conflict(f"suggestion {suggestion_id} was already {row.state}")
            row.state, row.decided_by, row.decided_at = state.value, by, utc_now()
            return _to_suggestion(row)
