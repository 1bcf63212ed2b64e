"""Decode a recording's audio for Whisper, and measure how loud it is (pydub).

Whisper hears 16 kHz mono. ffmpeg decodes and resamples to raw 16-bit samples in a scratch
file (230 MB for 2 hours); loudness and transcription then read it a piece at a time, so memory
does not grow with the length of the recording.
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

from ingest.runner import FractionDone, run_ffmpeg

# What Whisper, Silero VAD and every reader of the scratch file take: samples per second.
SAMPLE_RATE = 16_000
# The loudness is measured over windows of one second: long enough to hold a syllable.
_WINDOW_MS = 1000


@dataclass(frozen=True)
class Loudness:
    loudest_dbfs: float  # the loudest one-second window
    mean_dbfs: float  # over the whole recording

    def is_silent(self, threshold_dbfs: float) -> bool:
        return self.loudest_dbfs < threshold_dbfs


class PcmFile:
    """Raw 16 kHz mono 16-bit samples on disk, read by slices (``samples[a:b]``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._count = path.stat().st_size // 2

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, key: slice) -> npt.NDArray[np.int16]:
        start, stop, _ = key.indices(self._count)
        count = max(0, stop - start)
        with self.path.open("rb") as f:
            return np.fromfile(f, dtype="<i2", count=count, offset=start * 2)


def decode_pcm(
    path: Path, dest: Path, duration: float = 0.0, on_progress: FractionDone | None = None
) -> PcmFile:
    """Decode the first audio track of ``path`` into ``dest`` as 16 kHz mono 16-bit samples.

    Raises :class:`MediaError`.
    """
    args = (
        ffmpeg.input(str(path))["a:0"]
        .output(str(dest), f="s16le", acodec="pcm_s16le", ac=1, ar=SAMPLE_RATE)
        .get_args()
    )
    run_ffmpeg(list(args), path, duration=duration, on_progress=on_progress)
    return PcmFile(dest)


# Channels beyond this many are not looked at one by one (a 5.1 film is still downmixed).
MAX_CHANNELS = 8


def channel_count(path: Path) -> int:
    """How many channels the first audio track has (0 when it cannot be read)."""
    import av

    try:
        with av.open(str(path)) as container:
            stream = next(iter(container.streams.audio), None)
            return int(stream.codec_context.channels) if stream is not None else 0
    except (av.FFmpegError, OSError):
        return 0


def decode_channels(
    path: Path, dests: list[Path], duration: float = 0.0, on_progress: FractionDone | None = None
) -> list[PcmFile]:
    """Each of the first ``len(dests)`` channels of the first audio track of ``path`` into its
    own file, 16 kHz mono 16-bit, in one ffmpeg run. Raises :class:`MediaError`."""
    split = ";".join(f"[a{i}]pan=mono|c0=c{i}[c{i}]" for i in range(len(dests)))
    fan = "".join(f"[a{i}]" for i in range(len(dests)))
    args = ["-i", str(path), "-filter_complex", f"[0:a:0]asplit={len(dests)}{fan};{split}"]
    for i, dest in enumerate(dests):
        args += ["-map", f"[c{i}]", "-f", "s16le", "-acodec", "pcm_s16le"]
        args += ["-ar", str(SAMPLE_RATE), str(dest)]
    run_ffmpeg(args, path, duration=duration, on_progress=on_progress)
    return [PcmFile(dest) for dest in dests]


def _dbfs(segment: AudioSegment) -> float:
    value = float(segment.dBFS)
    return value if math.isfinite(value) else -120.0


# Loudness is measured a minute of samples at a time.
_CHUNK = SAMPLE_RATE * 60


def measure_loudness(samples: PcmFile) -> Loudness:
    """The loudest second and the mean level, with pydub, one minute at a time."""
    loudest, energy = -120.0, 0.0
    for offset in range(0, len(samples), _CHUNK):
        chunk = AudioSegment(
            data=samples[offset : offset + _CHUNK].tobytes(),
            sample_width=2,
            frame_rate=SAMPLE_RATE,
            channels=1,
        )
        windows = (chunk[i : i + _WINDOW_MS] for i in range(0, len(chunk), _WINDOW_MS))
        loudest = max([loudest, *(_dbfs(w) for w in windows)])  # a last chunk may be < 1 ms
        energy += float(chunk.rms) ** 2 * chunk.frame_count()
    if not len(samples) or not energy:
        return Loudness(loudest, -120.0)
    mean_rms = math.sqrt(energy / len(samples))
    return Loudness(loudest_dbfs=loudest, mean_dbfs=20 * math.log10(mean_rms / 32768))
