"""Passages and the tightest span of a passage hit (pure functions)."""

import itertools

import pytest

from index.passages import build_passages, holds_phrase, tightest_span
from index.query import parse_query, with_corrections
from library.models import Segment


def timed(*lengths: float, gap: float = 0.5) -> list[Segment]:
    segments, t = [], 0.0
    for i, length in enumerate(lengths):
        segments.append(Segment(t, t + length, f"sentence {i}"))
        t += length + gap
    return segments


def test_passages_are_20_to_40_seconds_and_overlap_by_about_half() -> None:
    segments = timed(*([6.0] * 30))
    passages = build_passages(segments)
    for passage in passages:
        assert 20.0 <= passage.end - passage.start <= 40.0
        assert passage.last > passage.first
    # Every two neighbouring sentences share some passage.
    for i in range(len(segments) - 1):
        assert any(p.first <= i and i + 1 <= p.last for p in passages)
    # Each starts near the middle of the one before.
    for before, after in itertools.pairwise(passages):
        middle = (before.start + before.end) / 2
        assert before.first < after.first <= before.last
        assert abs(after.start - middle) <= 6.5
    assert passages[-1].last == len(segments) - 1


def test_a_sentence_too_long_to_share_is_left_to_itself() -> None:
    passages = build_passages(timed(10.0, 45.0, 10.0, 10.0))
    assert all(not (p.first <= 1 <= p.last) for p in passages)
    assert [(p.first, p.last) for p in passages] == [(2, 3)]


@pytest.mark.parametrize("lengths", [(), (5.0,)])
def test_too_few_sentences_make_no_passage(lengths: tuple[float, ...]) -> None:
    assert build_passages(timed(*lengths)) == []


def test_tightest_span_holds_every_wanted_term_present() -> None:
    cues = [["good", "morn"], ["psycholog", "wellb"], ["team", "feel", "safe"], ["lunch"]]
    assert tightest_span(cues, {"psycholog", "safe"}) == (1, 2)
    assert tightest_span(cues, {"lunch", "absent"}) == (3, 3)  # absent terms ignored
    assert tightest_span(cues, {"nowher"}) == (0, 3)  # nothing to narrow to: all of it
    assert tightest_span([["a"], ["b"], ["a", "b"]], {"a", "b"}) == (2, 2)


def test_tightest_span_says_a_phrase_in_order() -> None:
    cues = [["human", "learn", "learn", "system"], ["build", "human", "learn", "system"]]
    assert tightest_span(cues, {"human", "learn", "system"}) == (0, 0)
    assert tightest_span(cues, {"human", "learn", "system"}, [["human", "learn", "system"]]) == (
        1,
        1,
    )
    across = [["trust", "share"], ["power", "room"]]
    assert tightest_span(across, {"share", "power"}, [["share", "power"]]) == (0, 1)


def test_a_phrase_is_held_only_as_a_run_of_terms_in_order() -> None:
    assert holds_phrase(["a", "b", "c"], ["b", "c"])
    assert not holds_phrase(["a", "b", "c"], ["c", "b"])
    assert not holds_phrase(["a"], ["a", "b"])


def test_corrections_keep_phrases_quoted() -> None:
    parsed = parse_query('"psycological safety" in teams')
    assert with_corrections(parsed, {"psycological": "psychological"}) == (
        '"psychological safety" in teams'
    )
