"""Transcript quality: word error rate, speech coverage, words and speed per test recording.

    python bench/transcripts.py                     # every tests/data recording with a .txt
    python bench/transcripts.py --variants before,now --only apollo,stereo

Each recording with a reference (``tests/data/NAME.txt`` beside ``NAME.*``) is ingested through
the whole pipeline into a fresh library, once per variant. A variant is a set of
``[transcribe]`` settings: "before" is Recall as it was (faster-whisper's own VAD, downmix
only), "now" the defaults. Another dimension (beam 5, hotwords...) is one more entry in
VARIANTS. WER is normalised: case, punctuation, hyphens, and numbers written as words.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from library.config import parse_config  # noqa: E402
from library.models import RecordingMeta, Segment  # noqa: E402

DATA = ROOT / "tests" / "data"

VARIANTS: dict[str, dict[str, Any]] = {
    "before": {"recover_speech": False, "split_channels": False},
    "now": {},
    "beam5": {"beam_size": 5},
}

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def _number(n: int) -> str:
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        rest = "" if n % 100 == 0 else " " + _number(n % 100)
        return _ONES[n // 100] + " hundred" + rest
    return " ".join(_ONES[int(d)] for d in str(n))  # digit by digit: 2015, call signs


def normalise(text: str) -> list[str]:
    """Words for comparison: lower case, no punctuation, "B-1" as "b one"."""
    text = re.sub(r"\d+", lambda m: f" {_number(int(m[0]))} ", text.lower().replace("-", " "))
    return [w.strip("'") for w in re.sub(r"[^a-z' ]", " ", text).split() if w.strip("'")]


def word_error_rate(reference: str, hypothesis: str) -> float:
    """(substitutions + deletions + insertions) / reference words, after :func:`normalise`."""
    ref, hyp = normalise(reference), normalise(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        diagonal, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (r != h))
    return row[-1] / max(1, len(ref))


def references(only: Sequence[str] = ()) -> list[tuple[Path, str]]:
    """(recording, reference text) for each test recording with a .txt beside it."""
    out = []
    for text in sorted(DATA.glob("*.txt")):
        media = [p for p in DATA.glob(text.stem + ".*") if p.suffix != ".txt"]
        if media and (not only or any(o in text.stem for o in only)):
            out.append((media[0], text.read_text()))
    return out


@dataclass(frozen=True)
class Figures:
    wer: float
    words: int
    reference_words: int
    coverage: float | None
    speed: float  # x real time, the whole ingest
    speakers: tuple[str, ...]


def measure(source: Path, reference: str, settings: dict[str, Any], home: Path) -> Figures:
    """Ingest ``source`` into a new library under ``home`` with ``settings``; its figures."""
    from web.services import open_services

    services = open_services(parse_config({"transcribe": settings}, home, "bench"))
    try:
        started = time.perf_counter()
        recording = services.pipeline.ingest(source, RecordingMeta(title=source.name))
        elapsed = time.perf_counter() - started
        segments: list[Segment] = services.catalog.segments(recording.id)
    finally:
        services.close()
    text = " ".join(s.text for s in segments)
    return Figures(
        wer=word_error_rate(reference, text),
        words=len(normalise(text)),
        reference_words=len(normalise(reference)),
        coverage=recording.speech_coverage,
        speed=recording.duration / elapsed if elapsed else 0.0,
        speakers=tuple(sorted({s.speaker for s in segments if s.speaker})),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="before,now", help=f"of {', '.join(VARIANTS)}")
    parser.add_argument("--only", default="", help="recordings whose name has one of these")
    args = parser.parse_args()
    variants = args.variants.split(",")
    only = [o for o in args.only.split(",") if o]
    with tempfile.TemporaryDirectory() as tmp:
        from ingest.transcribe import load_model

        load_model(parse_config({}, Path(tmp), "bench").transcribe)  # as in a worker
        print(f"{'recording':30} {'variant':7} {'WER':>6} {'words':>9} {'cover':>6} {'speed':>7}")
        for n, (source, reference) in enumerate(references(only)):
            for variant in variants:
                f = measure(source, reference, VARIANTS[variant], Path(tmp) / f"{variant}{n}")
                cover = "-" if f.coverage is None else f"{f.coverage:.0%}"
                speakers = f"  speakers: {', '.join(f.speakers)}" if f.speakers else ""
                print(
                    f"{source.name[:30]:30} {variant:7} {f.wer:6.3f} "
                    f"{f.words:4}/{f.reference_words:<4} {cover:>6} {f.speed:6.1f}x{speakers}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
