"""The Whoosh index: round trips, stemming, phrases, filters, highlighting, concurrency."""

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from index.search import TranscriptIndex, rebuild_index
from library.errors import QueryError
from library.models import Recording, RecordingId, RecordingMeta, Segment, Status


def recording(rid: str, title: str, event: str = "", speakers: tuple[str, ...] = ()) -> Recording:
    return Recording(
        id=RecordingId(rid),
        meta=RecordingMeta(title=title, event=event, speakers=speakers),
        source_name=f"{rid}.mp4",
        source_hash=rid,
        status=Status.READY,
        created_at=dt.datetime(2026, 1, 1),
    )


def cues(*texts: str, step: float = 10.0) -> list[Segment]:
    return [Segment(i * step, i * step + 8, t) for i, t in enumerate(texts)]


TALK = recording("talk", "Letting go", "HLS Week 2022", ("Ana Ruiz", "Tom Li"))
PANEL = recording("panel", "Panel <b>", "Other Event", ("Sam Okafor",))


@pytest.fixture
def index(tmp_path: Path) -> Iterator[TranscriptIndex]:
    ix = TranscriptIndex(tmp_path / "index")
    ix.index_recording(
        TALK,
        cues(
            "Welcome to this session on complexity.",
            "We had to let go of the illusion of control.",
            "Start somewhere and don't wait for permission.",
        ),
    )
    ix.index_recording(
        PANEL,
        cues("Controlling budgets is hard <really>.", "Control & trust go together."),
    )
    yield ix
    ix.close()


def test_search_finds_the_moment_with_stemming_and_highlight(index: TranscriptIndex) -> None:
    results = index.search("letting go of control")
    hit = results.hits[0]
    assert (hit.recording_id, hit.start, hit.end) == ("talk", 10.0, 18.0)
    assert hit.title == "Letting go" and hit.event == "HLS Week 2022"
    assert hit.snippet == (
        "We had to <mark>let</mark> <mark>go</mark> of the illusion of <mark>control</mark>."
    )
    assert hit.url == "/r/talk?t=10"


def test_all_words_rank_before_some_words(index: TranscriptIndex) -> None:
    results = index.search("control trust")
    assert [h.recording_id for h in results.hits] == ["panel"]
    assert results.total == 1
    # No cue has every word: the cues with most of them still answer.
    fallback = index.search("control permission")
    assert {h.text for h in fallback.hits} >= {
        "Start somewhere and don't wait for permission.",
        "Control & trust go together.",
    }


def test_snippets_escape_html(index: TranscriptIndex) -> None:
    hit = index.search("budgets").hits[0]
    assert hit.snippet == "Controlling <mark>budgets</mark> is hard &lt;really&gt;."
    assert hit.title == "Panel <b>"  # raw; escaping is the page's job


def test_phrase_queries_need_the_words_in_order(index: TranscriptIndex) -> None:
    assert [h.start for h in index.search('"wait for permission"').hits] == [20.0]
    assert index.search('"permission wait"').hits == ()


def test_filters_by_event_and_speaker(index: TranscriptIndex) -> None:
    assert {h.recording_id for h in index.search("control").hits} == {"talk", "panel"}
    by_event = index.search("control", event="hls week 2022")
    assert {h.recording_id for h in by_event.hits} == {"talk"}
    by_speaker = index.search("control", speaker="Sam Okafor")
    assert {h.recording_id for h in by_speaker.hits} == {"panel"}
    assert index.search("control", speaker="Nobody").hits == ()


@pytest.mark.parametrize("query", ['"control', "control AND", "-control", "control:*"])
def test_stray_syntax_still_searches(index: TranscriptIndex, query: str) -> None:
    assert index.search(query).hits


@pytest.mark.parametrize("query", ["", "   ", "the of and", "AND OR NOT", '"" ()'])
def test_queries_with_nothing_to_search_are_refused(index: TranscriptIndex, query: str) -> None:
    with pytest.raises(QueryError, match="nothing to search for"):
        index.search(query)


def test_replacing_and_removing_a_recording(index: TranscriptIndex) -> None:
    index.index_recording(TALK, cues("Only a new sentence about gardens."))
    assert index.search("illusion").hits == ()
    assert index.search("gardens").hits[0].recording_id == "talk"
    index.remove_recording("talk")
    assert index.search("gardens").hits == ()
    assert index.document_count() == 2


def test_limit_and_total(index: TranscriptIndex) -> None:
    results = index.search("control", limit=1)
    assert len(results.hits) == 1 and results.total >= 2


def test_rebuild_from_transcripts_alone(tmp_path: Path, index: TranscriptIndex) -> None:
    directory = index.directory
    index.close()
    count = rebuild_index(directory, [(TALK, cues("A rebuilt sentence about rivers."))])
    assert count == 1
    fresh = TranscriptIndex(directory)
    assert fresh.search("rivers").hits[0].recording_id == "talk"
    assert fresh.search("budgets").hits == ()
    fresh.close()


def test_searching_while_a_recording_is_indexed_keeps_working(index: TranscriptIndex) -> None:
    big = cues(*(f"Sentence number {i} about rivers and control." for i in range(1500)))
    errors: list[BaseException] = []
    done = threading.Event()

    def write() -> None:
        try:
            for n in range(2):
                index.index_recording(recording(f"big{n}", "Big"), big)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)
        finally:
            done.set()

    writer = threading.Thread(target=write)
    writer.start()
    searches = 0
    while not done.is_set() or searches < 5:
        assert index.search("letting go of control").hits[0].recording_id == "talk"
        searches += 1
    writer.join()
    assert not errors
    assert searches >= 5
    assert len(index.search("rivers", limit=5).hits) == 5
