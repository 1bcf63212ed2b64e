"""Decode a recording's audio for Whisper, and measure how loud it is (pydub).

Whisper hears 16 kHz mono. ffmpeg decodes and resamples straight to 16-bit samples on a pipe,
so a 2-hour recording costs 230 MB of samples, never a WAV on disk; transcription converts
them to float a window at a time.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import ffmpeg
import numpy as np
import numpy.typing as npt

with warnings.catch_warnings():
    # pydub warns at import when no ffmpeg is on PATH; it only does arithmetic here.
    warnings.simplefilter("ignore", RuntimeWarning)
    from pydub import AudioSegment

from ingest.runner import ProgressFn, run_ffmpeg

SAMPLE_RATE = 16_000
# The loudness is measured over windows of one second: long enough to hold a syllable.
_WINDOW_MS = 1000


@dataclass(frozen=True)
class Loudness:
    loudest_dbfs: float  # the loudest one-second window
    mean_dbfs: float  # over the whole recording

    def is_silent(self, threshold_dbfs: float) -> bool:
        return self.loudest_dbfs < threshold_dbfs


def decode_pcm(
    path: Path, duration: float = 0.0, on_progress: ProgressFn | None = None
) -> bytearray:
    """16 kHz mono signed 16-bit little-endian samples of the first audio track.

    Raises :class:`MediaError`.
    """
    args = (
        ffmpeg.input(str(path))["a:0"]
        .output("pipe:1", f="s16le", acodec="pcm_s16le", ac=1, ar=SAMPLE_RATE)
        .get_args()
    )
    # Two bytes a sample, and a second to spare for a duration the container rounded down.
    size_hint = int((duration + 1) * SAMPLE_RATE * 2)
    return run_ffmpeg(
        list(args),
        path,
        duration=duration,
        on_progress=on_progress,
        capture=True,
        size_hint=size_hint,
    )


def _dbfs(segment: AudioSegment) -> float:
    value = float(segment.dBFS)
    return value if math.isfinite(value) else -120.0


def measure_loudness(pcm: bytes | bytearray) -> Loudness:
    audio = AudioSegment(data=pcm, sample_width=2, frame_rate=SAMPLE_RATE, channels=1)
    if len(audio) == 0:
        return Loudness(-120.0, -120.0)
    windows = (audio[i : i + _WINDOW_MS] for i in range(0, len(audio), _WINDOW_MS))
    loudest = max(_dbfs(w) for w in windows)
    return Loudness(loudest_dbfs=loudest, mean_dbfs=_dbfs(audio))


def as_samples(pcm: bytes | bytearray) -> npt.NDArray[np.int16]:
    """The samples of ``decode_pcm``'s bytes, without a copy."""
    return np.frombuffer(pcm, dtype=np.int16)
