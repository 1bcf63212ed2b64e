"""What a visitor can learn from search: only what the recordings they may search say.

Suggestions, corrections, "all words are known", totals and facet counts never count the
words of a recording the asker may not search; a query too long to be a question is refused
with a clear message. (The site-wide checks of the same are in test_visibility; accounts,
clips and bad input have test_security_*.py of their own.)
"""

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from index.search import MAX_QUERY_CHARS, SearchOptions, TranscriptIndex
from library.errors import QueryError
from library.models import Visibility
from tests.test_index import cues, recording

PUBLIC = SearchOptions(visibilities=["public"], facets=True)


def _with(visibility: Visibility, rid: str, event: str, speaker: str):  # type: ignore[no-untyped-def]
    talk = recording(rid, rid.title(), event, (speaker,))
    return dataclasses.replace(talk, meta=dataclasses.replace(talk.meta, visibility=visibility))


@pytest.fixture
def index(tmp_path: Path) -> Iterator[TranscriptIndex]:
    ix = TranscriptIndex(tmp_path / "ix")
    ix.index_recording(
        _with(Visibility.PUBLIC, "open", "Open day", "Ana"),
        cues("Our volunteers came every week.", "The volunteers were tired.", "Volunteers."),
    )
    for visibility, rid in ((Visibility.PRIVATE, "secret"), (Visibility.UNLISTED, "hidden")):
        ix.index_recording(
            _with(visibility, rid, "Board", "Bo"),
            cues(
                f"The marmalade volunteers of {rid} were terrible.",
                "Marmalade volunteers again, marmalade volunteers everywhere.",
                "Volunteers said zeitgeist.",
            ),
        )
    yield ix
    ix.close()


def _seen(results):  # type: ignore[no-untyped-def]
    return (results.total, [h.recording_id for h in results.hits], results.suggestion,
            results.corrected, results.facets)  # fmt: skip


def test_words_only_other_recordings_say_are_never_suggested(index: TranscriptIndex) -> None:
    for query in ("marmalaid", "marmalade", "zeitgiest", "marmalaid volunteers"):
        results = index.search(query, options=PUBLIC)
        assert "marmalade" not in results.suggestion and "zeitgeist" not in results.suggestion
        assert not results.corrected, query
    # Staff (every recording) get the correction, and the moments.
    assert index.search("marmalaid").suggestion == "marmalade"
    assert index.search("marmalaid").corrected


def test_counts_are_the_same_as_for_a_word_said_nowhere(index: TranscriptIndex) -> None:
    """The private word and a word no one said give visitors the same answer in every number:
    nothing tells them the private recording says it, nor how often."""
    nowhere = _seen(index.search("zzqxjv volunteers", options=PUBLIC))
    for word in ("marmalade", "zeitgeist", "terrible"):
        assert _seen(index.search(f"{word} volunteers", options=PUBLIC)) == nowhere, word
    plain = index.search("volunteers", options=PUBLIC)
    assert {h.recording_id for h in plain.hits} == {"open"}
    assert plain.facets == {"event": {"Open day": 3}, "speaker": {"Ana": 3}}
    # Staff count everything.
    assert index.search("marmalade volunteers").total >= 4


def test_estimated_counts_count_only_what_the_asker_may_search(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the sampling budget the count is an estimate: of the visitor's matches, not of the
    index's (the private recordings saying the word as often again changes nothing)."""
    from index import matching

    monkeypatch.setattr(matching, "BUDGET", 8)
    counts = []
    for private_sentences in (0, 40):
        ix = TranscriptIndex(tmp_path / f"ix{private_sentences}")
        for n in range(4):
            ix.index_recording(
                _with(Visibility.PUBLIC, f"p{n}", "Week", "Ana"),
                cues(*(f"Trust point {i}." for i in range(10)), step=60),
            )
            if private_sentences:
                ix.index_recording(
                    _with(Visibility.PRIVATE, f"s{n}", "Board", "Bo"),
                    cues(*(f"Trust secret {i}." for i in range(private_sentences // 4))),
                )
        results = ix.search("trust", options=PUBLIC)
        counts.append((results.total, results.facets))
        ix.close()
    assert counts[0][0] == 40
    assert abs(counts[1][0] - 40) <= 8, counts  # an estimate from the sample: near, not 80
    assert set(counts[1][1]["event"]) == {"Week"}


@pytest.mark.parametrize("words", [1_100, 20_000])
def test_a_query_too_long_to_be_a_question_is_refused_clearly(
    index: TranscriptIndex, words: int
) -> None:
    with pytest.raises(QueryError, match="too long"):
        index.search("volunteers " * words)


def test_many_distinct_words_are_refused_and_repeats_count_once(index: TranscriptIndex) -> None:
    with pytest.raises(QueryError, match="too many different words"):
        index.search(" ".join(f"w{i}x" for i in range(40)))
    repeated = "volunteers " * (MAX_QUERY_CHARS // len("volunteers ") - 1)
    assert index.search(repeated).total == index.search("volunteers").total


def test_visitors_never_find_other_recordings_by_title_speaker_event_or_tag(
    tmp_path: Path,
) -> None:
    """Metadata of private and unlisted recordings is not searched for a visitor: not by
    title, speaker, event, tag or description, nor by a near spelling of one."""
    ix = TranscriptIndex(tmp_path / "ix")
    for visibility, rid in ((Visibility.PRIVATE, "secret"), (Visibility.UNLISTED, "hidden")):
        talk = _with(visibility, rid, "Quorum Summit", "Zebedee Quist")
        meta = dataclasses.replace(talk.meta, tags=("skunkworks",), description="Marmalade plans.")
        ix.index_recording(dataclasses.replace(talk, meta=meta), cues("Volunteers came."))
    ix.index_recording(_with(Visibility.PUBLIC, "open", "Open day", "Ana"), cues("Volunteers."))
    try:
        for query in ("secret", "hidden", "Quorum Summit", "Zebedee", "zebedea", "skunkworks",
                      "marmalade plans", "volunteers"):  # fmt: skip
            assert index_of(ix.search(query, options=PUBLIC)) == [], query
            assert ix.search(query, options=PUBLIC).facets.get("tag", {}) == {}, query
        assert index_of(ix.search("open", options=PUBLIC)) == ["open"]
        # Staff find them.
        assert set(index_of(ix.search("skunkworks"))) == {"secret", "hidden"}
        assert (
            "skunkworks"
            in ix.search("volunteers", options=SearchOptions(facets=True)).facets["tag"]
        )
    finally:
        ix.close()


def index_of(results):  # type: ignore[no-untyped-def]
    return [m.id for m in results.recordings]
