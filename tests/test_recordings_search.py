"""Recordings by what they are: title, speakers, event, tags and description are searched
(stemmed, typo-tolerant), each match naming the fields that held the words; and every word of
a query is corrected on its own."""

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from index.search import SearchOptions, TranscriptIndex
from library.models import Segment
from tests.test_index import cues, recording

INAUGURAL = dataclasses.replace(
    recording("jfk", "Inaugural address", "Public Services Summit", ("John F. Kennedy",)),
)
INAUGURAL = dataclasses.replace(
    INAUGURAL,
    meta=dataclasses.replace(
        INAUGURAL.meta, tags=("facilitation", "history"), description="A speech in 1961."
    ),
)
ROOMS = recording("rooms", "Online gatherings", "HLS Week", ("Priya Natarajan",))


@pytest.fixture
def index(tmp_path: Path) -> Iterator[TranscriptIndex]:
    ix = TranscriptIndex(tmp_path / "ix")
    ix.index_recording(INAUGURAL, cues("Ask not what your country can do for you."))
    ix.index_recording(
        ROOMS,
        [
            Segment(0, 8, "We used breakout rooms for small groups.", speaker="Host"),
            Segment(10, 18, "The kettle was always on and the reports were polished."),
            Segment(20, 28, "Speed of trust matters more than speed."),
        ],
    )
    yield ix
    ix.close()


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("Kennedy", "speakers"),
        ("kenendy", "speakers"),
        ("inaugural", "title"),
        ("Public Services Summit", "event"),
        ("summits", "event"),
        ("facilitation", "tags"),
        ("speech 1961", "description"),
    ],
)
def test_recordings_are_found_by_their_metadata(
    index: TranscriptIndex, query: str, field: str
) -> None:
    found = index.search(query).recordings
    assert [m.id for m in found] == ["jfk"], query
    assert field in found[0].matched
    assert found[0].url == "/r/jfk" and found[0].tags == ("facilitation", "history")


def test_a_query_no_metadata_holds_lists_no_recordings(index: TranscriptIndex) -> None:
    assert index.search("kettle").recordings == ()
    assert index.search("Kennedy kettle").recordings == ()


def test_tags_are_a_filter_and_a_facet(index: TranscriptIndex) -> None:
    results = index.search("country", options=SearchOptions(facets=True))
    assert results.facets["tag"] == {"facilitation": 1, "history": 1}
    assert index.search("country", options=SearchOptions(tag="History")).hits
    assert not index.search("country", options=SearchOptions(tag="other")).hits


def test_a_hit_names_the_sentence_s_own_speaker(index: TranscriptIndex) -> None:
    assert index.search("breakout").hits[0].speaker == "Host"
    assert index.search("kettle").hits[0].speaker == ""


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("breakout roms", "breakout rooms"),
        ("kettel", "kettle"),
        ("polished reprots", "polished reports"),
        ("speed of trsut", "speed of trust"),
    ],
)
def test_each_word_is_corrected_on_its_own(index: TranscriptIndex, typed: str, meant: str) -> None:
    results = index.search(typed)
    assert results.corrected and results.hits, typed
    assert results.suggestion == meant


@pytest.fixture
def many(tmp_path: Path) -> Iterator[TranscriptIndex]:
    ix = TranscriptIndex(tmp_path / "many")
    ix.index_recording(ROOMS, cues(*[f"Breakout number {i} went well." for i in range(12)]))
    ix.index_recording(INAUGURAL, cues("A breakout of freedom.", "The torch was passed."))
    yield ix
    ix.close()


def test_counts_say_how_many_moments_exist_and_facets_add_up(many: TranscriptIndex) -> None:
    results = many.search("breakout", options=SearchOptions(facets=True))
    assert results.total == 13 and not results.estimated
    assert results.per_recording == {"rooms": 12, "jfk": 1}
    assert sum(results.facets["event"].values()) == results.total
    # A phrase said once is one moment (not also its passages).
    assert many.search('"torch was passed"').total == 1


def test_pages_reach_every_moment_and_a_recording_lists_all_of_its_own(
    many: TranscriptIndex,
) -> None:
    first = many.search("breakout", limit=2, options=SearchOptions(per_recording=100))
    assert first.pages == 7 and first.page == 1 and len(first.hits) == 2
    seen = []
    for page in range(1, 8):
        got = many.search("breakout", limit=2, options=SearchOptions(per_recording=100, page=page))
        seen += [(h.recording_id, h.start) for h in got.hits]
    assert len(set(seen)) == 13
    own = many.search(
        "breakout", limit=50, options=SearchOptions(recording="rooms", per_recording=50)
    )
    assert len(own.hits) == 12 and {h.recording_id for h in own.hits} == {"rooms"}


def test_moments_with_some_of_the_words_name_the_missing_ones(index: TranscriptIndex) -> None:
    results = index.search("kettle dragons")
    assert results.hits and results.hits[0].missing == ("dragons",)
    # Never for a query none of whose words is said.
    assert index.search("quantum entanglement").hits == ()
