"""Relevance of search: hit@1, hit@5 and MRR per kind of query, over the test recordings.

    python bench/relevance.py

Ingests the four speech recordings of tests/data (real transcription with the bundled
model) into a temporary library, runs every query of tests/relevance/queries.toml and prints
the figures per kind. A hit answers a query when it is in the expected recording and overlaps
the expected window (give or take a second); a "metadata" query answers when the expected
recording is among those found by their title, speakers, event, tags or description.
"absent" queries answer when they find no moment with all their words (moments with some of
them, labelled so, may be offered).
tests/test_relevance.py runs the same evaluation in CI and fails when a kind drops below its
target.
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index.search import SearchOptions, TranscriptIndex  # noqa: E402
from index.semantic import SemanticIndex, is_installed  # noqa: E402
from library.config import Config, parse_config  # noqa: E402
from library.models import RecordingMeta, SearchHit  # noqa: E402

DATA = ROOT / "tests" / "data"
QUERIES = ROOT / "tests" / "relevance" / "queries.toml"
SLACK = 1.0  # seconds either side of an expected window
# The targets: kind -> (measure, minimum).
TARGETS = {
    "exact": ("hit@5", 0.95),
    "keywords": ("hit@5", 0.95),
    "question": ("hit@5", 0.9),
    "misspelled": ("hit@5", 0.95),
    "metadata": ("hit@1", 1.0),
    "partial": ("hit@5", 0.9),
    "filtered": ("hit@5", 0.95),
    "absent": ("no hit", 1.0),
}
# The aim for paraphrases. 22 of the 24 are found (0.92): the two misses are moments
# tiny.en misheard ("inclusion is not a project with an end date" came out "illusion in how to
# project with an end gate") or that the model rates below a keyword hit ("ask the people
# who use your service what a good week looks like", 0.24 even as said). 0.9 needs 22.
SEMANTIC_TARGETS = {"paraphrase": ("hit@5", 0.9)}

RECORDINGS = {
    "gatherings": (
        "online-gatherings.webm",
        RecordingMeta(title="Online gatherings people enjoy", event="HLS Week 2022",
                      speakers=("Priya Natarajan",), recorded_on=dt.date(2022, 6, 14),
                      tags=("facilitation", "online")),
    ),
    "jfk": (
        "jfk-inaugural-excerpt.flac",
        RecordingMeta(title="Inaugural address", event="1961", speakers=("John F. Kennedy",),
                      recorded_on=dt.date(1961, 1, 20),
                      description="One of the best-known speeches of the century."),
    ),
    "foodbank": (
        "food-bank-volunteers.mp3",
        RecordingMeta(title="What a food bank learned", event="Community Week",
                      speakers=("Tama Kaffir",), recorded_on=dt.date(2023, 3, 2)),
    ),
    "inclusion": (
        "digital-inclusion-panel.mkv",
        RecordingMeta(title="Digital inclusion panel", event="Community Week",
                      speakers=("Helen Marsh",), recorded_on=dt.date(2023, 3, 3)),
    ),
}  # fmt: skip


@dataclass(frozen=True)
class Query:
    kind: str
    q: str
    expect: tuple[tuple[str, float, float], ...]
    options: dict[str, Any]


@dataclass(frozen=True)
class Score:
    queries: int
    hit1: float
    hit5: float
    mrr: float
    no_hit: float

    def measure(self, name: str) -> float:
        return {"hit@1": self.hit1, "hit@5": self.hit5, "MRR": self.mrr, "no hit": self.no_hit}[
            name
        ]


def load_queries(path: Path = QUERIES) -> list[Query]:
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    queries = []
    for item in raw["query"]:
        options = {}
        for key, name in (("event", "event"), ("speaker", "speaker"),
                          ("from", "recorded_from"), ("to", "recorded_to")):  # fmt: skip
            if key in item:
                value = item[key]
                options[name] = dt.date.fromisoformat(value) if key in ("from", "to") else value
        expect = tuple(
            (str(e[0]), float(e[1]), float(e[2])) if len(e) == 3 else (str(e[0]), 0.0, 0.0)
            for e in item.get("expect", [])
        )
        queries.append(Query(item["kind"], item["q"], expect, options))
    return queries


def build_library(folder: Path) -> tuple[Config, dict[str, str]]:
    """The four recordings, transcribed; returns the config and name -> recording id."""
    from web.services import open_services

    config = parse_config({}, folder, "relevance")
    services = open_services(config)
    ids: dict[str, str] = {}
    try:
        for name, (file, meta) in RECORDINGS.items():
            recording = services.pipeline.ingest(DATA / file, meta)
            assert recording.status.value == "ready", (file, recording.error)
            ids[name] = recording.id
    finally:
        services.close()
    return config, ids


def _answers(hit: SearchHit, query: Query, ids: dict[str, str]) -> bool:
    return any(
        hit.recording_id == ids[name] and hit.start <= end + SLACK and hit.end >= start - SLACK
        for name, start, end in query.expect
    )


def evaluate(index: TranscriptIndex, ids: dict[str, str], queries: list[Query]) -> dict[str, Score]:
    by_kind: dict[str, list[tuple[int | None, int]]] = {}
    for query in queries:
        results = index.search(query.q, limit=10, options=SearchOptions(**query.options))
        if query.kind == "metadata":
            wanted = {ids[e[0]] for e in query.expect}
            listed = [m.id for m in results.recordings]
            rank = next((i for i, rid in enumerate(listed, 1) if rid in wanted), None)
            by_kind.setdefault(query.kind, []).append((rank, len(listed)))
            continue
        rank = next((i for i, hit in enumerate(results.hits, 1) if _answers(hit, query, ids)), None)
        full = [h for h in results.hits if not h.missing]
        by_kind.setdefault(query.kind, []).append((rank, len(full)))
    scores = {}
    for kind, found in by_kind.items():
        n = len(found)
        scores[kind] = Score(
            queries=n,
            hit1=sum(1 for r, _ in found if r == 1) / n,
            hit5=sum(1 for r, _ in found if r is not None and r <= 5) / n,
            mrr=sum(1 / r for r, _ in found if r) / n,
            no_hit=sum(1 for _, count in found if count == 0) / n,
        )
    return scores


def misses(index: TranscriptIndex, ids: dict[str, str], queries: list[Query]) -> list[str]:
    """The queries that fall short, with what they found first (for the report)."""
    lines = []
    for query in queries:
        results = index.search(query.q, limit=5, options=SearchOptions(**query.options))
        if query.kind == "metadata":
            found = [m.title for m in results.recordings]
            if not found or found[0] != _title(query.expect[0][0]):
                lines.append(f"  metadata {query.q!r}: found {found!r}")
        elif query.kind == "absent":
            full = [h for h in results.hits if not h.missing]
            if full:
                lines.append(f"  absent {query.q!r}: found {full[0].text!r}")
        elif not any(_answers(h, query, ids) for h in results.hits):
            first = results.hits[0].text if results.hits else "nothing"
            lines.append(f"  {query.kind} {query.q!r}: first hit {first!r}")
    return lines


def _title(name: str) -> str:
    return RECORDINGS[name][1].title


def report(scores: dict[str, Score], label: str) -> None:
    print(f"{label}:")
    print(f"  {'kind':12} {'n':>3} {'hit@1':>6} {'hit@5':>6} {'MRR':>6} {'no hit':>7}  target")
    for kind, s in scores.items():
        target = {**TARGETS, **SEMANTIC_TARGETS}.get(kind)
        aim = f"{target[0]} >= {target[1]:.2f}" if target else ""
        print(f"  {kind:12} {s.queries:>3} {s.hit1:>6.2f} {s.hit5:>6.2f} {s.mrr:>6.2f} "
              f"{s.no_hit:>7.2f}  {aim}")  # fmt: skip


def open_index(config: Config, semantic: bool) -> TranscriptIndex:
    """The library's index, keyword only or with semantic search fused in."""
    vectors = SemanticIndex(config.vectors_dir) if semantic else None
    return TranscriptIndex(config.index_dir, vectors)


def main() -> None:
    queries = load_queries()
    with tempfile.TemporaryDirectory(prefix="recall-relevance-") as tmp:
        config, ids = build_library(Path(tmp))
        for semantic in (False, True) if is_installed() else (False,):
            index = open_index(config, semantic)
            label = "keywords and meaning (fused)" if semantic else "keyword search"
            try:
                report(evaluate(index, ids, queries), f"{label}, {len(queries)} queries")
                for line in misses(index, ids, queries):
                    print(line)
            finally:
                index.close()
        if not is_installed():
            print("semantic search is not installed: pip install -e .")


if __name__ == "__main__":
    main()
