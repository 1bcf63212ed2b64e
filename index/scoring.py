"""BM25F as Whoosh scores it, with each document's length read from memory.

Whoosh's scorer reads a matching document's field length from the length column on disk, a
seek and a read per document and term: about half the time of a ranked search over words
said in thousands of sentences. Here a segment's lengths are read once, as one byte string
(Whoosh keeps a length as one byte), when a searcher first scores that segment; the scores
are the same.
"""

from __future__ import annotations

from typing import Any

from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3PerDocReader
from whoosh.scoring import BM25F, BM25FScorer
from whoosh.util.numeric import byte_to_length

from index.memo import PerReader

# The length a stored byte stands for (0: no length stored, scored as length 1, as Whoosh does).
_LENGTHS = [1] + [byte_to_length(b) for b in range(1, 256)]
_LENGTH_COLUMN = "_{}_len"


def _read(reader: Any, fieldname: str) -> bytes | None:
    """The length bytes of every document of one segment, in one read; None when the
    segment is not Whoosh's own format (its lengths are then read as Whoosh reads them)."""
    per_doc = getattr(reader, "_perdoc", None)
    if not isinstance(per_doc, W3PerDocReader):
        return None
    doc_count = int(per_doc.doc_count_all())
    values = per_doc._cached_reader(_LENGTH_COLUMN.format(fieldname), LENGTHS_COLUMN)
    if values is None:  # no lengths stored: every document scores as length 1
        return bytes(doc_count)
    raw = bytes(values._dbfile.get(values._basepos, values._count))
    return raw + bytes(doc_count - len(raw))


class MemoryBM25F(BM25F):  # type: ignore[misc]
    """:class:`whoosh.scoring.BM25F` with the field lengths held in memory."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Each segment reader's lengths of each field, read once.
        self._lengths: PerReader[bytes | None] = PerReader()

    def scorer(self, searcher: Any, fieldname: str, text: bytes, qf: int = 1) -> Any:
        scorer = super().scorer(searcher, fieldname, text, qf=qf)
        if isinstance(scorer, BM25FScorer):
            reader = searcher.reader()
            lengths = self._lengths.get(reader, fieldname, lambda: _read(reader, fieldname))
            if lengths is not None:
                scorer.dfl = lambda docnum: _LENGTHS[lengths[docnum]]
        return scorer
