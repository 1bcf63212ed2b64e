"""The relevance evaluation (bench/relevance.py) on real transcriptions of the test
recordings: each kind of query must reach its target."""

import os

import pytest

from bench.relevance import (
    SEMANTIC_TARGETS,
    TARGETS,
    build_library,
    evaluate,
    load_queries,
    misses,
    open_index,
)
from index.semantic import fuse, is_installed
from library.config import Config

pytestmark = pytest.mark.slow


def test_fusion_ranks_items_found_both_ways_first() -> None:
    assert fuse([["a", "b", "c"], ["c", "d"]]) == ["c", "a", "b", "d"]
    assert fuse([[], ["x"]]) == ["x"]


def test_fusion_counts_an_item_by_its_weight() -> None:
    # A keyword hit with one word of six comes after a sentence that means the question.
    keywords, meaning = ["one word of six", "five of six"], ["means it"]
    assert fuse([keywords, meaning])[0] == "one word of six"
    weights = [{"one word of six": 1 / 6, "five of six": 5 / 6}]
    assert fuse([keywords, meaning], weights=weights) == [
        "means it", "five of six", "one word of six"
    ]  # fmt: skip


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> tuple[Config, dict[str, str]]:
    """The four test recordings, transcribed (and embedded when semantic search is in)."""
    return build_library(tmp_path_factory.mktemp("relevance"))


@pytest.mark.parametrize("semantic", [False, True], ids=["keywords", "with-semantic"])
def test_every_kind_of_query_reaches_its_target(
    library: tuple[Config, dict[str, str]], semantic: bool
) -> None:
    if semantic and not is_installed():
        if os.environ.get("CI"):
            raise RuntimeError("semantic search is in install_requires: pip install -e '.[test]'")
        pytest.skip("semantic search is not installed (pip install -e .)")
    queries = load_queries()
    assert len(queries) >= 40
    assert {q.kind for q in queries} >= set(TARGETS) | {"paraphrase"}
    config, ids = library
    index = open_index(config, semantic)
    targets = TARGETS | (SEMANTIC_TARGETS if semantic else {})
    try:
        scores = evaluate(index, ids, queries)
        report = "\n".join(misses(index, ids, queries))
        for kind, (measure, minimum) in targets.items():
            assert scores[kind].measure(measure) >= minimum, f"{kind}: {scores[kind]}\n{report}"
    finally:
        index.close()
