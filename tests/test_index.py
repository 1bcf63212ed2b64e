"""The Whoosh index: round trips, stemming, phrases, filters, highlighting, concurrency."""

import dataclasses
import datetime as dt
import html
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from index.rebuild import rebuild_index
from index.search import TranscriptIndex
from library.errors import QueryError
from library.models import Recording, RecordingId, RecordingMeta, Segment, Status, Visibility


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
    assert results.hits[0].text == "Control & trust go together."
    # Then the moments with one of the two words.
    assert {h.text for h in results.hits[1:]} == {
        "Controlling budgets is hard <really>.",
        "We had to let go of the illusion of control.",
    }
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


def test_snippets_and_terms_are_what_whoosh_s_highlight_and_analyzer_make() -> None:
    """hits.snippet and schema.index_terms stand in for Whoosh's highlight() and analyzer:
    the same terms, the same words marked, the same escaping, on real transcripts and awkward
    text."""
    import random

    from whoosh.highlight import HtmlFormatter, WholeFragmenter, get_text, highlight

    from index.hits import snippet
    from index.schema import analyzer, index_terms

    class Marks(HtmlFormatter):  # type: ignore[misc]
        def format_token(self, text: str, token: object, replace: bool = False) -> str:
            return f"<mark>{self._text(get_text(text, token, replace))}</mark>"

    data = Path(__file__).parent / "data"
    texts = [line for f in sorted(data.glob("*.txt")) for line in f.read_text().splitlines()]
    texts += [
        'Controlling budgets is hard <really> & "quoted".',
        "It's 3.5 million, e.g. U.S.A.-style; don't stop—WAIT!",
        "Café naïve coöperation: the *star* words, A I, x y z.",
        "",
        "   ",
    ]
    analyse = analyzer()
    rng = random.Random(5)
    for text in texts:
        assert index_terms(text) == [t.text for t in analyse(text)]
        stems = index_terms(text) or ["nothing"]
        for terms in ({*rng.sample(stems, min(3, len(stems)))}, {"the", "a", "it"}, set(stems)):
            whoosh = highlight(text, terms, analyse, WholeFragmenter(), Marks(), top=1)
            assert snippet(text, terms) == (whoosh or html.escape(text, quote=False)), text


def test_phrase_queries_need_the_words_in_order(index: TranscriptIndex) -> None:
    assert [h.start for h in index.search('"wait for permission"').hits] == [20.0]
    assert index.search('"permission wait"').hits == ()


def test_a_long_phrase_is_its_words_in_order_not_just_its_pairs(tmp_path: Path) -> None:
    ix = TranscriptIndex(tmp_path / "ix")
    ix.index_recording(
        TALK,
        cues(
            "Human learning matters, and so do learning systems.",  # both pairs, not the phrase
            "We are building human learning systems together.",
            "It is about trust and shared",  # a phrase said across two sentences
            "power in the room.",
            step=30.0,
        ),
    )
    assert [h.start for h in ix.search('"human learning systems"').hits] == [30.0]
    assert [h.start for h in ix.search('"shared power"').hits] == [60.0]
    assert ix.search('"systems learning"').hits == ()
    # A sentence of stop words alone ("Yeah. So.") has no words and no pairs, and indexes.
    ix.index_recording(PANEL, cues("Yeah. So.", "Okay", "Human learning systems, yes."))
    found = ix.search('"human learning systems"').hits
    assert sorted(h.recording_id for h in found) == ["panel", "talk"]
    ix.close()


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
    assert index.document_count() == 3  # the panel's two sentences and their passage


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


@pytest.mark.slow
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


def test_an_idea_over_two_sentences_is_found_as_its_tightest_span(tmp_path: Path) -> None:
    ix = TranscriptIndex(tmp_path / "ix")
    ix.index_recording(
        TALK,
        cues(
            "Good morning everyone.",
            "Our topic today is psychological wellbeing.",
            "And in particular what makes a team feel safe.",
            "Then we break for lunch.",
            step=6.0,
        ),
    )
    hit = ix.search("psychological safe").hits[0]
    assert (hit.start, hit.end) == (6.0, 20.0)  # sentences 2 and 3, not the whole passage
    assert hit.text == (
        "Our topic today is psychological wellbeing. And in particular what makes a team feel safe."
    )
    assert hit.snippet.count("<mark>") == 2
    ix.close()


def test_a_misspelled_word_is_corrected_from_the_index_s_words(index: TranscriptIndex) -> None:
    results = index.search("ilusion of contrl")
    assert results.suggestion == "illusion of control"
    assert results.corrected and results.hits[0].start == 10.0
    # A word the index knows is never "corrected"; nothing similar: no suggestion.
    assert index.search("control").suggestion == ""
    assert index.search("zebrafish").suggestion == "" and not index.search("zebrafish").hits


def test_a_correction_is_the_nearest_word_then_the_most_said(tmp_path: Path) -> None:
    ix = TranscriptIndex(tmp_path / "ix")
    said = ["Trust matters.", "Trust again.", "Trust, always.", "A tract of land."]
    said += ["Permissions granted.", "Permissions denied.", "Ask permission first."]
    ix.index_recording(TALK, cues(*said))
    # One edit from both "trust" and "tract": the one said in more sentences.
    assert ix.search("trast").suggestion == "trust"
    # One edit from "permission", two from the more frequent "permissions": the nearer.
    assert ix.search("permision").suggestion == "permission"
    # The first letter is kept: "crust" is one edit from "trust" but not offered.
    assert ix.search("crust").suggestion == ""
    ix.close()


def test_hits_per_recording_are_capped_and_facets_counted(tmp_path: Path) -> None:
    import datetime as dt

    from index.search import SearchOptions

    ix = TranscriptIndex(tmp_path / "ix")
    many = recording("many", "Many", "Week", ("Ana",))
    many = dataclasses.replace(
        many, meta=dataclasses.replace(many.meta, recorded_on=dt.date(2022, 6, 1))
    )
    other = recording("other", "Other", "Day", ("Ana", "Bo"))
    ix.index_recording(many, cues(*(f"Point {i} about trust." for i in range(6)), step=60))
    ix.index_recording(other, cues("Trust is earned.", step=60))
    results = ix.search("trust", options=SearchOptions(facets=True))
    assert [h.recording_id for h in results.hits].count("many") == 3
    assert "other" in {h.recording_id for h in results.hits}
    assert results.facets == {"event": {"Week": 6, "Day": 1}, "speaker": {"Ana": 7, "Bo": 1}}
    dated = ix.search("trust", options=SearchOptions(recorded_from=dt.date(2022, 1, 1)))
    assert {h.recording_id for h in dated.hits} == {"many"}
    newest = ix.search("trust", options=SearchOptions(sort="date", per_recording=1))
    assert [h.recording_id for h in newest.hits] == ["many", "other"]
    ix.close()


def test_words_said_everywhere_are_scored_in_a_sample_from_across_the_library(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from index import matching
    from index.search import SearchOptions

    ix = TranscriptIndex(tmp_path / "ix")
    for n in range(16):  # oldest first: document numbers follow the order of indexing
        talk = recording(f"r{n:02d}", f"Talk {n}", f"Event {n % 2}", (f"Speaker {n % 4}",))
        ix.index_recording(talk, cues(*(f"Trust point {i}." for i in range(10)), step=60))
    monkeypatch.setattr(matching, "BUDGET", 16)  # scores 16 of the 160 matching sentences
    one_each = SearchOptions(per_recording=1, facets=True)
    for _ in ("segment per recording", "merged into one"):
        # The first 16 matches would be two recordings' sentences; the sample spans them all.
        results = ix.search("trust", limit=16, options=one_each)
        seen = sorted(int(h.recording_id[1:]) for h in results.hits)
        assert len(seen) >= 12 and seen[0] <= 1 and seen[-1] >= 14
        ix.optimize()
    assert results.total == 160  # the count is the index's estimate, not the sample's
    # Counted in the sample of 16 and scaled up to the 160 that match.
    events = results.facets["event"]
    assert set(events) == {"Event 0", "Event 1"} and sum(events.values()) == 160
    assert sum(results.facets["speaker"].values()) == 160
    # Newest first looks at every match.
    newest = ix.search("trust", limit=3, options=SearchOptions(sort="date", per_recording=1))
    assert len(newest.hits) == 3
    # A filter that keeps most of the index (visibility) is a set of recordings checked per
    # match: the private recording's sentences are never shown, scored or counted.
    secret = recording("secret", "Secret", "Event 0", ("Speaker 0",))
    secret = dataclasses.replace(
        secret, meta=dataclasses.replace(secret.meta, visibility=Visibility.PRIVATE)
    )
    ix.index_recording(secret, cues("Trust, the secret kind.", step=60))
    for sort in ("relevance", "date"):
        public = SearchOptions(visibilities=["public"], sort=sort, facets=True)
        results = ix.search("trust", limit=50, options=public)
        assert results.hits and "secret" not in {h.recording_id for h in results.hits}
        # "secret" is said only where visitors may not search: as if said nowhere (moments
        # with some of the words, the same as for a word no one said).
        partial = ix.search("trust secret", limit=50, options=public)
        nowhere = ix.search("trust zzqxjv", limit=50, options=public)
        assert [h.start for h in partial.hits] == [h.start for h in nowhere.hits]
        assert partial.total == nowhere.total and partial.facets == nowhere.facets
        assert all(h.missing == ("secret",) for h in partial.hits)
    assert ix.search("secret", options=SearchOptions(visibilities=["public"])).hits == ()
    assert [h.recording_id for h in ix.search("secret").hits] == ["secret"]
    ix.close()


def test_stepping_through_postings_by_binary_search_lands_where_whoosh_s_own_step_does(
    tmp_path: Path,
) -> None:
    import random

    from whoosh.codec.whoosh3 import W3LeafMatcher

    from index import postings

    ix = TranscriptIndex(tmp_path / "ix")
    rng = random.Random(3)
    # Words in many sentences, several blocks of postings each (Whoosh's blocks hold 128).
    texts = [
        " ".join(rng.sample(["trust", "power", "learning", "care", "time"], 2)) for _ in range(900)
    ]
    ix.index_recording(TALK, cues(*texts))
    searcher = ix._current_searcher()

    def walk(word: str, targets: list[int]) -> list[int | None]:
        matcher = searcher.postings("text", word)
        landed: list[int | None] = []
        for target in targets:
            if matcher.is_active():
                matcher.skip_to(target)
            landed.append(matcher.id() if matcher.is_active() else None)
        return landed

    assert W3LeafMatcher.skip_to is postings.skip_to  # installed by index.search
    for word in ("trust", "care"):
        targets = [*sorted(rng.randrange(0, 1000) for _ in range(120)), 950, 2000]
        fast = walk(word, targets)
        postings.uninstall()
        try:
            assert walk(word, targets) == fast
        finally:
            postings.install()
    ix.close()


def test_block_intersection_finds_and_scores_what_whoosh_s_intersection_does(
    tmp_path: Path,
) -> None:
    import random

    from whoosh.query import And, Term

    from index import postings

    ix = TranscriptIndex(tmp_path / "ix")
    rng = random.Random(4)
    words = ["trust", "power", "learning", "care", "time", "place"]
    # Several blocks of postings each, some words said twice in a sentence (weights of 2).
    texts = [" ".join(rng.choices(words, k=rng.randint(1, 4))) for _ in range(1500)]
    ix.index_recording(TALK, cues(*texts))
    searcher = ix._current_searcher()

    def walk(query: And, targets: list[tuple[int, int]], fast: bool) -> list[tuple[int, float]]:
        """Skips to each target, then takes a few matches (id and score) one by one."""
        matcher = query.matcher(searcher, searcher.context())
        if fast:
            matcher = postings.Conjunction.of(matcher)
            assert matcher is not None
        seen: list[tuple[int, float]] = []
        for target, steps in targets:
            if matcher.is_active() and target > matcher.id():
                matcher.skip_to(target)
            for _ in range(steps):
                if not matcher.is_active():
                    break
                seen.append((matcher.id(), matcher.score()))
                matcher.next()
        return seen

    for terms in (["trust", "care"], ["power", "time", "place"], ["learn", "trust"]):
        query = And([Term("text", t) for t in terms])
        spots = [*sorted(rng.randrange(0, 1600) for _ in range(200)), 2000]
        targets = [(spot, rng.randint(0, 3)) for spot in spots]
        whoosh = walk(query, targets, fast=False)
        assert len(whoosh) > 40 and walk(query, targets, fast=True) == whoosh
    ix.close()


def test_the_recordings_each_visitors_filters_allow_are_not_all_kept(tmp_path: Path) -> None:
    """A visitor can ask with any date: each set of filters' recordings is worked out once per
    searcher, but only the last few sets are kept (a crawl of every date would fill memory)."""
    from index.search import SearchOptions

    ix = TranscriptIndex(tmp_path / "ix")
    for rec in (TALK, PANEL):
        meta = dataclasses.replace(rec.meta, recorded_on=dt.date(2022, 5, 1))
        ix.index_recording(dataclasses.replace(rec, meta=meta), cues("Control and trust."))
    try:
        for day in range(400):
            since = dt.date(2000, 1, 1) + dt.timedelta(days=day)  # before every recording
            assert ix.search("control", options=SearchOptions(recorded_from=since)).hits
        kept = ix._allowed._by_owner[ix._current_searcher()]
        assert ix._allowed.most is not None and len(kept) <= ix._allowed.most
    finally:
        ix.close()
