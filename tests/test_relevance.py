"""The relevance evaluation (bench/relevance.py) on real transcriptions of the test
recordings: each kind of query must reach its target."""

from pathlib import Path

import pytest

from bench.relevance import TARGETS, build_library, evaluate, load_queries, misses
from index.search import TranscriptIndex

pytestmark = pytest.mark.slow


def test_every_kind_of_query_reaches_its_target(tmp_path: Path) -> None:
    queries = load_queries()
    assert len(queries) >= 40
    assert {q.kind for q in queries} >= set(TARGETS) | {"paraphrase"}
    config, ids = build_library(tmp_path)
    index = TranscriptIndex(config.index_dir)
    try:
        scores = evaluate(index, ids, queries)
        report = "\n".join(misses(index, ids, queries))
        for kind, (measure, minimum) in TARGETS.items():
            assert scores[kind].measure(measure) >= minimum, f"{kind}: {scores[kind]}\n{report}"
    finally:
        index.close()
