"""Pure functions: timecodes, caption writers, sentence re-cutting, loops, query parsing."""

import io
import json

import pytest

from index.query import parse_query
from ingest.captions import write_json, write_srt, write_txt, write_vtt
from ingest.sentences import drop_loops, resegment
from library.models import STAGE_WEIGHTS, STAGES, Segment, Word
from library.timecode import caption_time, clock


def words(text: str, start: float = 0.0, step: float = 0.4) -> list[Word]:
    return [
        Word(start + i * step, start + i * step + step * 0.8, " " + w)
        for i, w in enumerate(text.split())
    ]


def test_the_progress_bar_knows_every_stage() -> None:
    assert tuple(STAGE_WEIGHTS) == STAGES
    assert sum(STAGE_WEIGHTS.values()) == pytest.approx(1.0)


def test_caption_time_and_clock() -> None:
    assert caption_time(0) == "00:00:00.000"
    assert caption_time(3725.5047) == "01:02:05.505"
    assert caption_time(59.9996, ",") == "00:01:00,000"
    assert clock(135.9) == "2:15"
    assert clock(3725) == "1:02:05"
    assert clock(-3) == "0:00"


SEGMENTS = [
    Segment(0.0, 2.5, "Hello there.", (Word(0.0, 0.5, " Hello"), Word(0.6, 2.5, " there."))),
    Segment(5.0, 7.25, "A --> B\nnext", ()),
]


def test_vtt_has_header_and_safe_cues() -> None:
    f = io.StringIO()
    write_vtt(SEGMENTS, f)
    assert f.getvalue() == (
        "WEBVTT\n\n00:00:00.000 --> 00:00:02.500\nHello there.\n\n"
        "00:00:05.000 --> 00:00:07.250\nA -&gt; B next\n"  # cue text is escaped markup
    )


def test_srt_numbers_cues_with_comma_times() -> None:
    f = io.StringIO()
    write_srt(SEGMENTS, f)
    assert f.getvalue().startswith("1\n00:00:00,000 --> 00:00:02,500\nHello there.\n\n2\n")


def test_txt_starts_a_paragraph_after_a_pause() -> None:
    f = io.StringIO()
    write_txt(SEGMENTS, f)
    assert f.getvalue() == "Hello there.\n\nA -> B next\n"


def test_json_keeps_words_and_times() -> None:
    f = io.StringIO()
    write_json(SEGMENTS, f)
    doc = json.loads(f.getvalue())
    assert doc["segments"][0]["words"][1] == {
        "start": 0.6, "end": 2.5, "word": " there.", "probability": 1.0
    }  # fmt: skip


def test_resegment_cuts_at_sentence_ends() -> None:
    cues = resegment(words("We start here. Then we go on. And stop."))
    assert [c.text for c in cues] == ["We start here.", "Then we go on.", "And stop."]
    assert cues[1].start == cues[1].words[0].start and cues[1].end == cues[1].words[-1].end


def test_resegment_merges_tiny_sentences_into_the_next() -> None:
    cues = resegment(words("Yes. That is what we found in the end."))
    assert cues[0].text.startswith("Yes. That")


def test_resegment_keeps_cues_under_the_limit_preferring_commas() -> None:
    text = "one two three four five, six seven eight nine ten eleven twelve thirteen " * 4
    cues = resegment(words(text, step=0.5), max_cue_seconds=8)
    assert all(c.end - c.start <= 8 for c in cues)
    assert " ".join(c.text for c in cues).split() == text.split()
    assert any(c.text.endswith(",") for c in cues)


def test_resegment_splits_at_long_pauses() -> None:
    cues = resegment([*words("no punctuation here"), *words("after a pause", start=10)])
    assert [c.text for c in cues] == ["no punctuation here", "after a pause"]


def test_drop_loops_collapses_repeated_phrases_only() -> None:
    looped = words("thank you. thank you. thank you. thank you. very very good")
    assert " ".join(w.text.strip() for w in drop_loops(looped)) == "thank you. very very good"
    tail = words("and so on and so on and so on and so on until the end")
    assert " ".join(w.text.strip() for w in drop_loops(tail)) == "and so on until the end"


def test_parse_query_drops_question_framing() -> None:
    assert parse_query("what was said about letting go of control").words == (
        "letting", "go", "of", "control"
    )  # fmt: skip
    assert parse_query("Who talked about psychological safety?").words == (
        "psychological", "safety"
    )  # fmt: skip
    assert parse_query("is there anything on funding").words == ("funding",)
    # A question that is all framing keeps its words.
    assert parse_query("what was said").words == ("what", "was", "said")


def test_parse_query_phrases_and_stray_syntax() -> None:
    parsed = parse_query('"let go" AND control')
    assert parsed.phrases == (("let", "go"),)
    assert parsed.words == ("and", "control")
    assert parse_query('unbalanced "quote').words == ("unbalanced", "quote")
    assert parse_query('a:b -c * ( ) ~ "" ^2').words == ("a", "b", "c", "2")
    assert parse_query("follow-up don't").words == ("follow-up", "don't")
    assert parse_query("  ").is_empty
