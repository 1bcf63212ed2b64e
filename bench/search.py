"""Search at scale: index build time and size, and query latency by kind of query, for
synthetic libraries of 32, 320 and 3,200 hours, beside SQLite FTS5 over the same text.

    python bench/search.py [--hours 32 320 3200] [--queries 200] [--keep DIR]

Transcripts are Zipf-weighted English (bench/serve.py's generator: the test talk's words and
topic words) with real phrases sprinkled in, in 1-hour recordings. Recall's index (cues and
20-40 s passages, keyword search as `recall search` runs it: cached searcher, spelling
check and per-word correction, all-words then most-words, at most 3 hits per recording,
highlighted snippets, the recordings whose title, speakers or event match; the "facets" kind
adds the search page's event and speaker counts) is timed in-process per query
kind; the FTS5 baseline answers the same queries (an AND of the terms, or the phrase) with its
bm25 ranking and snippet(), plus a GROUP BY event for "facets". Targets: Whoosh p95 <= 20 ms
at 320 h and <= 100 ms at 3,200 h.

With --semantic the same queries are timed again with semantic search fused in (as a
library with `[index] semantic` on answers). Embedding every synthetic sentence would take
hours here (~18 a second), so each recording's vectors are drawn from a pool of 2,000 real
embeddings of generated sentences (a passage's is the mean of its sentences'); the query is
embedded for real, and the search reads, scores and fuses them as it would real ones.

With --keep DIR each library is built once and reused by later runs (for query-side changes;
delete DIR after changing what is indexed). The 3,200 h build takes about an hour here.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The generator sprinkles serve.PHRASES into sentences: the "exact" queries look for them.
from bench.serve import percentile, sentence  # noqa: E402
from index import recordings as recordings_index  # noqa: E402
from index import vectorstack  # noqa: E402
from index.passages import build_passages  # noqa: E402
from index.query import parse_query  # noqa: E402
from index.schema import documents  # noqa: E402
from index.search import SearchOptions, TranscriptIndex  # noqa: E402
from index.semantic import SemanticIndex, embed  # noqa: E402
from library.models import (  # noqa: E402
    Recording,
    RecordingId,
    RecordingMeta,
    Segment,
    Status,
    Visibility,
)

QUERIES = {
    "exact": ['"let go of the illusion of control"', '"start somewhere"', '"psychological safety"',
              '"human learning systems"', '"sharing power"'],
    "keywords": ["control illusion", "permission start", "community trust", "funding council",
                 "learning systems", "psychological safety team"],
    "question": ["what was said about letting go of control", "who talked about permission",
                 "when did someone mention psychological safety",
                 "is there anything on sharing power"],
    "misspelled": ["illusoin of control", "permision", "psycological safety", "comunity trust",
                   "comunity trsut", "illusoin of contorl"],
    "filtered": ["control", "trust", "permission"],
    "absent": ["quantum entanglement", "sourdough bread recipe", "football results"],
    # Some words said nowhere: the moments with the others.
    "partial": ["control illusion blockchain", "community trust quantum", "sharing power zzqxjv"],
    # A title, speaker or event (every query also searches the recordings' metadata).
    "metadata": ["Session 12", "Speaker 7", "Event 3", "Speker 7"],
    # As the search page asks: the keywords above with event and speaker counts.
    "facets": ["control illusion", "community trust", "learning systems", "funding council"],
}  # fmt: skip


def library(hours: int, seed: int = 7) -> list[tuple[Recording, list[Segment]]]:
    rng = random.Random(seed)
    recordings = []
    for n in range(hours):
        meta = RecordingMeta(
            title=f"Session {n + 1}", event=f"Event {n % 25}", speakers=(f"Speaker {n % 50}",),
            recorded_on=dt.date(2022, 1, 1) + dt.timedelta(days=n % 365),
            visibility=Visibility.PUBLIC,
        )  # fmt: skip
        recording = Recording(
            RecordingId(f"r{n:05d}"),
            meta,
            f"{n}.mp4",
            str(n),
            Status.READY,
            dt.datetime(2022, 1, 1),
        )
        segments, t = [], 0.0
        while t < 3600:
            length = rng.uniform(3, 12)
            segments.append(Segment(t, t + length, sentence(rng)))
            t += length + rng.uniform(0.1, 1.0)
        recordings.append((recording, segments))
    return recordings


# Whoosh writes a large library in segments of this many hours: merging a whole 3,200 h
# library into one segment is its slowest step (the sentences alone were still merging after
# 45 minutes here), so the 3,200 h index is searched as ten segments, as a library ingested
# over time is until it is optimized.
SEGMENT_HOURS = 320
_LIBRARY: list[tuple[Recording, list[Segment]]] = []  # for the writer processes (forked)


def _write(folder: Path, passages: bool) -> None:
    index = TranscriptIndex(folder)
    for first in range(0, len(_LIBRARY), SEGMENT_HOURS):
        writer = index._writer(passages)
        for recording, segments in _LIBRARY[first : first + SEGMENT_HOURS]:
            for doc in documents(recording, segments, passages):
                writer.add_document(**doc)
        writer.commit(merge=False)
    index.close()


def build_whoosh(folder: Path, recordings: list[tuple[Recording, list[Segment]]]) -> float:
    """The sentences' and the passages' index, written at once (a process each)."""
    started = time.perf_counter()
    TranscriptIndex(folder).close()
    _LIBRARY[:] = recordings
    fork = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(2, mp_context=fork) as pool:
        list(pool.map(_write, [folder, folder], [False, True]))
    _LIBRARY.clear()
    # The recordings' own index (title, speakers, event: one small document each).
    index = TranscriptIndex(folder)
    with index._writer(metadata=True) as writer:
        for recording, _ in recordings:
            recordings_index.write(writer, recording)
    index.close()
    return time.perf_counter() - started


def build_fts(path: Path, recordings: list[tuple[Recording, list[Segment]]]) -> float:
    started = time.perf_counter()
    db = sqlite3.connect(path)
    db.execute(
        "CREATE VIRTUAL TABLE cues USING fts5(text, recording_id UNINDEXED, start UNINDEXED,"
        " event UNINDEXED, tokenize='porter')"
    )
    with db:
        for recording, segments in recordings:
            db.executemany(
                "INSERT INTO cues VALUES (?, ?, ?, ?)",
                ((s.text, recording.id, s.start, recording.meta.event) for s in segments),
            )
    db.execute("INSERT INTO cues(cues) VALUES ('optimize')")
    db.close()
    return time.perf_counter() - started


def build_vectors(folder: Path, recordings: list[tuple[Recording, list[Segment]]]) -> float:
    """Each recording's vectors file (as SemanticIndex writes it), rows drawn from a pool of
    real embeddings; returns the seconds spent embedding the pool."""
    import numpy as np

    rng = random.Random(3)
    started = time.perf_counter()
    pool = embed([sentence(rng) for _ in range(2000)])
    embedding_s = time.perf_counter() - started
    folder.mkdir(parents=True, exist_ok=True)
    picks = np.random.default_rng(5)
    for recording, segments in recordings:
        rows = pool[picks.integers(0, len(pool), len(segments))]
        passages = build_passages(segments)
        means = [rows[p.first : p.last + 1].mean(0) for p in passages]
        joined = np.vstack([rows, *means]) if means else rows
        joined /= np.linalg.norm(joined, axis=1, keepdims=True)
        np.savez(
            folder / f"{recording.id}.npz",
            vectors=joined.astype(np.float16),
            first=np.array([*range(len(segments)), *(p.first for p in passages)], np.int32),
            last=np.array([*range(len(segments)), *(p.last for p in passages)], np.int32),
            start=np.array([s.start for s in segments]),
            end=np.array([s.end for s in segments]),
        )
    return embedding_s


def fts_query(query: str) -> str:
    parsed = parse_query(query)
    parts = ['"' + " ".join(p) + '"' for p in parsed.phrases]
    parts += ['"' + w + '"' for w in parsed.words]
    return " AND ".join(parts)


def size_mb(path: Path) -> float:
    files = [path] if path.is_file() else list(path.rglob("*"))
    return sum(f.stat().st_size for f in files if f.is_file()) / 1e6


def time_whoosh(index: TranscriptIndex, kind: str, query: str) -> float:
    options = SearchOptions(
        event="Event 3" if kind == "filtered" else None, facets=kind == "facets"
    )
    if index.semantic is not None:
        index.semantic.queries.forget()  # timed as a new question, embedded afresh
    started = time.perf_counter()
    index.search(query, limit=20, options=options)
    return (time.perf_counter() - started) * 1000


def time_fts(db: sqlite3.Connection, kind: str, query: str) -> float:
    match = fts_query(query)
    where = "cues MATCH ?" + (" AND event = 'Event 3'" if kind == "filtered" else "")
    started = time.perf_counter()
    db.execute(
        f"SELECT recording_id, start, snippet(cues, 0, '<mark>', '</mark>', '…', 30)"
        f" FROM cues WHERE {where} ORDER BY bm25(cues) LIMIT 20",
        (match,),
    ).fetchall()
    if kind == "facets":
        db.execute(f"SELECT event, count(*) FROM cues WHERE {where} GROUP BY event", (match,))
    return (time.perf_counter() - started) * 1000


def build(folder: Path, hours: int, semantic: bool = False) -> None:
    """Both indexes of ``hours`` in ``folder``, with their build times in ``built.txt``."""
    recordings = library(hours)
    if semantic:
        pool_s = build_vectors(folder / "vectors", recordings)
        print(f"  2,000 sentences embedded in {pool_s:.1f} s ({2000 / pool_s:.0f} a second)")
    cues = sum(len(s) for _, s in recordings)
    whoosh_s = build_whoosh(folder / "index", recordings)
    fts_s = build_fts(folder / "fts.sqlite3", recordings)
    (folder / "built.txt").write_text(f"{cues} {whoosh_s} {fts_s}\n")


def stack_report(vectors: SemanticIndex) -> None:
    """Build the vectors' stack (as a site does in the background) and say how often its
    answers agree with scoring every row."""
    started = time.perf_counter()
    vectors.build_stack()
    built = time.perf_counter() - started
    stack = vectorstack.load(vectors.stack_folder)
    assert stack is not None
    exact = SemanticIndex(vectors.folder, stacked=False)
    rids = list(stack.rids)
    found = total = 0
    for query in QUERIES["question"] + QUERIES["keywords"]:
        # By score: the pool repeats vectors, so many moments tie and either may be listed.
        want = [m.score for m in exact.search(query, rids, 60)]
        got = [m.score for m in vectors.search(query, rids, 60)]
        found += sum(1 for score in got if want and score >= want[-1] - 1e-6)
        total += len(want)
    print(f"  stack: {stack.size:,} rows in {len(stack.centroids)} cells, built in {built:.1f} s;"
          f" top 60 recall vs every row scored: {found / max(total, 1):.0%}")  # fmt: skip


def run(hours: int, rounds: int, keep: Path | None, semantic: bool = False) -> None:
    with tempfile.TemporaryDirectory(prefix=f"recall-search-{hours}h-") as tmp:
        folder = keep / f"{hours}h" if keep else Path(tmp)
        if not (folder / "built.txt").exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            build(folder, hours, semantic)
        elif semantic and not (folder / "vectors").exists():
            build_vectors(folder / "vectors", library(hours))
        cues, whoosh_s, fts_s = (float(v) for v in (folder / "built.txt").read_text().split())
        print(f"\n{hours} h: {int(cues):,} sentences" + (f" (kept in {folder})" if keep else ""))
        print(f"  build  Whoosh {whoosh_s:7.1f} s  {size_mb(folder / 'index'):8.1f} MB   "
              f"FTS5 {fts_s:6.1f} s  {size_mb(folder / 'fts.sqlite3'):8.1f} MB")  # fmt: skip
        vectors = SemanticIndex(folder / "vectors") if semantic else None
        index = TranscriptIndex(folder / "index", vectors)
        if vectors is not None:
            print("  with semantic search fused in (vectors drawn from real embeddings)")
            stack_report(vectors)
        db = sqlite3.connect(folder / "fts.sqlite3")
        rng = random.Random(1)
        for kind, queries in QUERIES.items():  # warm both (first searcher, page cache)
            for q in queries:
                time_whoosh(index, kind, q)
                time_fts(db, kind, q)
        print(f"  {'kind':10} {'Whoosh p50':>10} {'p95':>7} {'FTS5 p50':>9} {'p95':>7}  ratio p95")
        whoosh: dict[str, list[float]] = {kind: [] for kind in QUERIES}
        fts: dict[str, list[float]] = {kind: [] for kind in QUERIES}
        # A query of each kind in turn, so a slower spell of the machine weighs on every kind
        # alike (timings here vary by half from one minute to the next, FTS5's too).
        for _ in range(rounds):
            for kind, queries in QUERIES.items():
                q = rng.choice(queries)
                whoosh[kind].append(time_whoosh(index, kind, q))
                fts[kind].append(time_fts(db, kind, q))
        for kind in QUERIES:
            w, f = whoosh[kind], fts[kind]
            print(f"  {kind:10} {statistics.median(w):10.1f} {percentile(w, 95):7.1f} "
                  f"{statistics.median(f):9.2f} {percentile(f, 95):7.2f}  "
                  f"{percentile(w, 95) / max(percentile(f, 95), 0.01):8.1f}x")  # fmt: skip
        target = 20 if hours <= 320 else 100
        p95 = percentile([t for ts in whoosh.values() for t in ts], 95)
        fts_p95 = percentile([t for ts in fts.values() for t in ts], 95)
        print(f"  all kinds: Whoosh p95 {p95:.1f} ms ({p95 / target:.2f}x the {target} ms target);"
              f" FTS5 p95 {fts_p95:.2f} ms in the same run")  # fmt: skip
        index.close()
        db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=int, nargs="+", default=[32, 320, 3200])
    parser.add_argument("--queries", type=int, default=200, help="per kind")
    parser.add_argument(
        "--keep",
        type=Path,
        help="build each library once in this folder and reuse it (query-side changes only:"
        " delete the folder after changing what is indexed)",
    )
    parser.add_argument(
        "--semantic", action="store_true", help="time the queries with semantic search fused in"
    )
    args = parser.parse_args()
    for hours in args.hours:
        run(hours, args.queries, args.keep, args.semantic)


if __name__ == "__main__":
    main()
