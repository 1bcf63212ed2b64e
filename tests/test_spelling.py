"""Forgiving spelling, measured (bench/spelling.py): real typing errors of the test
recordings' words are corrected to the word meant, correctly spelled words are left alone."""

from pathlib import Path

import pytest

from bench.spelling import CHANGED_TARGET, CORRECTED_TARGET, measure


@pytest.mark.slow
def test_typing_errors_are_corrected_and_correct_words_left_alone(tmp_path: Path) -> None:
    figures = measure(tmp_path / "ix")
    assert figures.typos > 1000
    assert figures.corrected >= CORRECTED_TARGET, figures
    assert figures.changed <= CHANGED_TARGET, figures
    assert min(figures.by_kind.values()) >= 0.85, figures.by_kind
