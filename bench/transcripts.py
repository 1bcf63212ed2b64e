"""Transcript quality: word error rate, names right, speech coverage, words and speed per test
recording, and how well word probabilities flag the wrong words.

    python bench/transcripts.py                     # every tests/data recording with a .txt
    python bench/transcripts.py --variants plain,vocab,beam5,beam5vocab,prompt
    python bench/transcripts.py --variants before,now --only apollo,stereo

Each recording with a reference (``tests/data/NAME.txt`` beside ``NAME.*``) is ingested through
the whole pipeline into a fresh library, once per variant, with the details staff would give
(``tests/data/metadata.toml``) and that file's library glossary. A variant is a set of
``[transcribe]`` settings: "before" is Recall as it was (faster-whisper's own VAD, downmix
only, no vocabulary), "now" the defaults, "plain" greedy without vocabulary, "vocab" greedy
told the vocabulary as hotwords, "ownvocab" told only the recording's own details (no
glossary), "prompt" as an initial prompt, "beam5"/"beam5vocab" the same
with beam search. WER is normalised: case, punctuation, hyphens, and numbers written as words.
"Names" counts the names said (metadata ``names`` and speakers) that came out right; "added"
counts glossary terms that appear in the transcript but not in the reference.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
import tempfile
import time
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from library.config import parse_config  # noqa: E402
from library.models import RecordingMeta, Segment, Word  # noqa: E402

DATA = ROOT / "tests" / "data"

VARIANTS: dict[str, dict[str, Any]] = {
    "before": {"recover_speech": False, "split_channels": False, "vocabulary": "off"},
    "now": {},
    "plain": {"beam_size": 1, "vocabulary": "off"},
    "vocab": {"beam_size": 1, "vocabulary": "hotwords"},
    # Told only the recording's own details, not the library glossary (a bench-only switch).
    "ownvocab": {"beam_size": 1, "vocabulary": "hotwords", "_glossary": False},
    "prompt": {"beam_size": 1, "vocabulary": "prompt"},
    "beam5": {"beam_size": 5, "vocabulary": "off"},
    "beam5vocab": {"beam_size": 5, "vocabulary": "hotwords"},
    "beam5own": {"beam_size": 5, "vocabulary": "hotwords", "_glossary": False},
}
# Probability thresholds tried for flagging words in the editor.
THRESHOLDS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)

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


def metadata() -> dict[str, Any]:
    """``tests/data/metadata.toml``: details per recording and a library glossary."""
    return tomllib.loads((DATA / "metadata.toml").read_text(encoding="utf-8"))


def meta_for(name: str, details: dict[str, Any]) -> RecordingMeta:
    return RecordingMeta(
        title=details.get("title", name),
        event=details.get("event", ""),
        speakers=tuple(details.get("speakers", ())),
        tags=tuple(details.get("tags", ())),
    )


def _count(phrase: str, text: list[str]) -> int:
    words = normalise(phrase)
    n = len(words)
    return sum(text[i : i + n] == words for i in range(len(text) - n + 1)) if n else 0


def names_right(names: Sequence[str], reference: str, hypothesis: str) -> tuple[int, int]:
    """(times a name is said and comes out right, times it is said), normalised."""
    ref, hyp = normalise(reference), normalise(hypothesis)
    said = {name: _count(name, ref) for name in names}
    right = sum(min(count, _count(name, hyp)) for name, count in said.items())
    return right, sum(said.values())


def terms_added(glossary: Sequence[str], reference: str, hypothesis: str) -> list[str]:
    """Glossary terms, and words of them (4+ letters), that the transcript has more often than
    the reference: put there, not heard ("human" from "Human Learning Systems")."""
    ref, hyp = normalise(reference), normalise(hypothesis)
    words = {w for t in glossary for w in normalise(t) if len(w) >= 4} - {
        w for t in glossary if len(normalise(t)) == 1 for w in normalise(t)
    }
    return [t for t in [*glossary, *sorted(words)] if _count(t, hyp) > _count(t, ref)]


def label_words(reference: str, words: Sequence[Word]) -> list[tuple[float, bool]]:
    """(probability, heard right) for each word of a transcript, by aligning its normalised
    words to the reference's; a word is right when all its parts match."""
    ref = normalise(reference)
    parts = [(i, token) for i, w in enumerate(words) for token in normalise(w.text)]
    matcher = difflib.SequenceMatcher(None, ref, [t for _, t in parts], autojunk=False)
    matched = {b.b + k for b in matcher.get_matching_blocks() for k in range(b.size)}
    right = [True] * len(words)
    for n, (i, _) in enumerate(parts):
        if n not in matched:
            right[i] = False
    return [(w.probability, right[i]) for i, w in enumerate(words) if normalise(w.text)]


@dataclass(frozen=True)
class Figures:
    wer: float
    words: int
    reference_words: int
    coverage: float | None
    speed: float  # x real time, the whole ingest
    speakers: tuple[str, ...]
    names: tuple[int, int]
    added: tuple[str, ...]
    labelled: tuple[tuple[float, bool], ...]


def measure(
    source: Path, reference: str, settings: dict[str, Any], home: Path, details: dict[str, Any]
) -> Figures:
    """Ingest ``source`` into a new library under ``home`` with ``settings``; its figures."""
    from web.services import open_services

    told_glossary = settings.get("_glossary", True)
    settings = {k: v for k, v in settings.items() if not k.startswith("_")}
    services = open_services(parse_config({"transcribe": settings}, home, "bench"))
    glossary = metadata().get("glossary", {}).get("terms", []) if told_glossary else []
    try:
        services.pipeline.glossary.add(*glossary)
        started = time.perf_counter()
        recording = services.pipeline.ingest(source, meta_for(source.stem, details))
        elapsed = time.perf_counter() - started
        segments: list[Segment] = services.catalog.segments(recording.id)
    finally:
        services.close()
    text = " ".join(s.text for s in segments)
    names = [*details.get("names", ()), *details.get("speakers", ())]
    return Figures(
        wer=word_error_rate(reference, text),
        words=len(normalise(text)),
        reference_words=len(normalise(reference)),
        coverage=recording.speech_coverage,
        speed=recording.duration / elapsed if elapsed else 0.0,
        speakers=tuple(sorted({s.speaker for s in segments if s.speaker})),
        names=names_right(sorted(set(names)), reference, text),
        added=tuple(terms_added(metadata()["glossary"]["terms"], reference, text)),
        labelled=tuple(label_words(reference, [w for s in segments for w in s.words])),
    )


def _flag_table(labelled: dict[str, list[tuple[float, bool]]]) -> None:
    """For each threshold: the share of wrong words flagged, and of right words flagged."""
    print("\nflagging words below a probability (share of wrong / of right words flagged)")
    print(f"{'variant':10} " + " ".join(f"{t:>11}" for t in THRESHOLDS))
    for variant, pairs in labelled.items():
        wrong = [p for p, ok in pairs if not ok]
        right = [p for p, ok in pairs if ok]
        cells = []
        for t in THRESHOLDS:
            w = sum(p < t for p in wrong) / max(1, len(wrong))
            r = sum(p < t for p in right) / max(1, len(right))
            cells.append(f"{w:4.0%}/{r:4.0%}  ")
        print(f"{variant:10} " + " ".join(f"{c:>11}" for c in cells))
        print(f"{'':10} ({len(wrong)} wrong, {len(right)} right words)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="before,now", help=f"of {', '.join(VARIANTS)}")
    parser.add_argument("--only", default="", help="recordings whose name has one of these")
    args = parser.parse_args()
    variants = args.variants.split(",")
    only = [o for o in args.only.split(",") if o]
    details = metadata()
    totals: dict[str, list[float]] = {v: [0, 0, 0, 0, 0, 0, 0] for v in variants}
    labelled: dict[str, list[tuple[float, bool]]] = {v: [] for v in variants}
    with tempfile.TemporaryDirectory() as tmp:
        from ingest.transcribe import load_model

        load_model(parse_config({}, Path(tmp), "bench").transcribe)  # as in a worker
        print(
            f"{'recording':30} {'variant':10} {'WER':>6} {'names':>6} {'words':>9} "
            f"{'cover':>6} {'speed':>7}"
        )
        for n, (source, reference) in enumerate(references(only)):
            for variant in variants:
                f = measure(
                    source,
                    reference,
                    VARIANTS[variant],
                    Path(tmp) / f"{variant}{n}",
                    details.get(source.stem, {}),
                )
                cover = "-" if f.coverage is None else f"{f.coverage:.0%}"
                speakers = f"  speakers: {', '.join(f.speakers)}" if f.speakers else ""
                added = f"  ADDED: {', '.join(f.added)}" if f.added else ""
                names = f"{f.names[0]}/{f.names[1]}"
                print(
                    f"{source.name[:30]:30} {variant:10} {f.wer:6.3f} {names:>6} "
                    f"{f.words:4}/{f.reference_words:<4} {cover:>6} {f.speed:6.1f}x"
                    f"{speakers}{added}",
                    flush=True,
                )
                t = totals[variant]
                duration = f.reference_words  # weights for the overall WER
                t[0] += f.wer * duration
                t[1] += duration
                t[2] += f.names[0]
                t[3] += f.names[1]
                t[4] += len(f.added)
                t[5] += 1 / f.speed if f.speed else 0
                t[6] += 1
                labelled[variant] += f.labelled
        print()
        for variant, t in totals.items():
            print(
                f"{'overall':30} {variant:10} {t[0] / max(1, t[1]):6.3f} "
                f"{int(t[2])}/{int(t[3]):<4} added {int(t[4])}  "
                f"speed {t[6] / t[5] if t[5] else 0:.1f}x (harmonic mean)"
            )
    _flag_table(labelled)


if __name__ == "__main__":
    main()
