"""The library's glossary: names, places, organisations and jargon that staff keep, so that
transcription is told how they are spelt ("Okafor", "Human Learning Systems", "co-production").

Terms are kept in the catalog's database, unique regardless of case.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

from sqlalchemy import DateTime, Integer, String, delete, func, select
from sqlalchemy.orm import Mapped, mapped_column

from library.catalog import Base, Catalog
from library.clock import utc_now
from library.errors import BadParameter

# Whisper's prompt holds about 223 tokens in all; a single term longer than this is a sentence,
# not a term.
MAX_TERM_CHARACTERS = 60
# A CSV import of more rows is a mistake (a whole spreadsheet), not a glossary.
MAX_IMPORT_ROWS = 2000


class _TermRow(Base):
    __tablename__ = "glossary"
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012 (SQLAlchemy reads it)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    term: Mapped[str] = mapped_column(String(MAX_TERM_CHARACTERS))
    # The term lower-cased: one entry per term whatever its case.
    key: Mapped[str] = mapped_column(String(MAX_TERM_CHARACTERS), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


def clean_term(term: str) -> str:
    """``term`` with its spaces tidied. Raises :class:`BadParameter` for one that cannot be a
    glossary term (empty, too long, a line break or control character, no letter)."""
    cleaned = " ".join(term.split())
    if not cleaned:
        raise BadParameter("term", term, "is empty")
    if len(cleaned) > MAX_TERM_CHARACTERS:
        raise BadParameter("term", cleaned[:80], f"is longer than {MAX_TERM_CHARACTERS} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in term.replace("\t", " ")) or "\n" in term:
        raise BadParameter("term", cleaned, "holds a line break or control character")
    if not re.search(r"[^\W\d_]", cleaned):
        raise BadParameter("term", cleaned, "has no letter")
    return cleaned


def terms_from_csv(text: str) -> list[str]:
    """The terms of a CSV file: the first column of each row; a header row "term" and empty
    rows are skipped. Raises :class:`BadParameter` (naming the row) for a bad term."""
    rows = list(csv.reader(io.StringIO(text)))
    if len(rows) > MAX_IMPORT_ROWS:
        raise BadParameter("csv", f"{len(rows)} rows", f"holds more than {MAX_IMPORT_ROWS} rows")
    out = []
    for n, row in enumerate(rows, 1):
        first = row[0].strip() if row else ""
        if not first or (n == 1 and first.lower() in {"term", "terms", "glossary"}):
            continue
        try:
            out.append(clean_term(first))
        except BadParameter as e:
            raise BadParameter("csv", f"row {n}", f"{first[:80]!r} {e.reason}") from e
    return out


class Glossary:
    """The glossary, in the catalog's database."""

    def __init__(self, catalog: Catalog) -> None:
        self._session = catalog.session_factory
        Base.metadata.create_all(catalog.engine, tables=[Base.metadata.tables["glossary"]])

    def terms(self) -> list[str]:
        """Every term, in alphabetical order regardless of case."""
        with self._session() as session:
            return list(session.scalars(select(_TermRow.term).order_by(_TermRow.key)))

    def add(self, *terms: str) -> list[str]:
        """Add ``terms`` (checked first: all or none); returns those that were new.

        A term already there in another case is replaced by the new spelling. Raises
        :class:`BadParameter`.
        """
        cleaned = [clean_term(t) for t in terms]
        added = []
        with self._session.begin() as session:
            for term in cleaned:
                row = session.scalar(select(_TermRow).where(_TermRow.key == term.lower()))
                if row is None:
                    session.add(_TermRow(term=term, key=term.lower(), created_at=utc_now()))
                    session.flush()
                    added.append(term)
                else:
                    row.term = term
        return added

    def remove(self, term: str) -> bool:
        """Remove ``term`` (any case); False when it was not there."""
        key = " ".join(term.split()).lower()
        with self._session.begin() as session:
            gone = session.execute(delete(_TermRow).where(_TermRow.key == key))
        return bool(getattr(gone, "rowcount", 0))

    def count(self) -> int:
        with self._session() as session:
            return int(session.scalar(select(func.count()).select_from(_TermRow)) or 0)
