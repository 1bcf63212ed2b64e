"""Where there is voice in a piece of audio: Silero VAD on levelled audio, plus energy.

Silero's speech probability depends on the level: on a two-speaker recording its defaults kept
the first voice (-25 dB) and missed the second (-29 dB after the downmix) entirely; on 8 kHz
radio it marked 33 of 89 s. Levelling the audio first and a lower threshold (0.35) recover
most of it; what is still missed but clearly louder than the noise floor is added from the
energy, so that Whisper hears it too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

from ingest.audio import SAMPLE_RATE

FRAME_SECONDS = 0.1
_FRAME = int(SAMPLE_RATE * FRAME_SECONDS)
# Levelling: the loud end of the voice (95th percentile of 100 ms frames) is brought to this
# level, never amplified more than _MAX_GAIN_DB (noise must not become "speech").
_TARGET_DBFS = -20.0
_MAX_GAIN_DB = 30.0
# A frame has voice energy when it is this far above the noise floor (10th percentile) and
# above an absolute floor; a stretch counts from this length (a click is not speech).
_ABOVE_FLOOR_DB = 12.0
_ABSOLUTE_FLOOR_DBFS = -60.0
_MIN_ENERGY_STRETCH = 0.5
# Whisper hears at most 30 s at once; speech this close together is decoded as one clip.
MAX_CLIP_SECONDS = 30.0
_JOIN_GAP_SECONDS = 1.0

Span = tuple[float, float]


def frame_levels(samples: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    """dBFS of each 100 ms frame of float samples (-1..1); a last partial frame is dropped."""
    frames = samples[: len(samples) // _FRAME * _FRAME].astype(np.float64).reshape(-1, _FRAME)
    return np.asarray(10 * np.log10(np.square(frames).mean(axis=1) + 1e-12))


def level(samples: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """``samples`` scaled so their loud frames sit near -20 dBFS (at most +30 dB)."""
    levels = frame_levels(samples)
    if not len(levels):
        return samples
    loud = float(np.percentile(levels, 95))
    gain_db = min(_MAX_GAIN_DB, _TARGET_DBFS - loud)
    out = samples * np.float32(10 ** (gain_db / 20))
    clipped: npt.NDArray[np.float32] = np.clip(out, -1.0, 1.0).astype(np.float32)
    return clipped


def spans_of(
    mask: Sequence[bool] | npt.NDArray[np.bool_], frame: float = FRAME_SECONDS
) -> list[Span]:
    """Runs of true frames, as (start, end) seconds."""
    spans: list[Span] = []
    start: int | None = None
    for i, on in enumerate([*mask, False]):
        if on and start is None:
            start = i
        elif not on and start is not None:
            spans.append((round(start * frame, 3), round(i * frame, 3)))
            start = None
    return spans


def energy_spans(samples: npt.NDArray[np.float32]) -> list[Span]:
    """Stretches clearly louder than the noise floor, at least half a second long."""
    levels = frame_levels(samples)
    if not len(levels):
        return []
    floor = float(np.percentile(levels, 10))
    voiced = levels > max(floor + _ABOVE_FLOOR_DB, _ABSOLUTE_FLOOR_DBFS)
    return [s for s in spans_of(voiced) if s[1] - s[0] >= _MIN_ENERGY_STRETCH]


def vad_spans(samples: npt.NDArray[np.float32], threshold: float) -> list[Span]:
    """Silero's speech stretches, on levelled audio."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    # Padding and minimum silence as faster-whisper's batched pipeline sets them; the
    # threshold and the levelling are what recover quiet voices (measured in bench/transcripts).
    options = VadOptions(
        threshold=threshold,
        min_silence_duration_ms=160,
        speech_pad_ms=400,
        max_speech_duration_s=MAX_CLIP_SECONDS,
    )
    stamps = get_speech_timestamps(level(samples), options)
    return [(t["start"] / SAMPLE_RATE, t["end"] / SAMPLE_RATE) for t in stamps]


def overlaps(span: Span, others: Iterable[Span]) -> bool:
    return any(a < span[1] and span[0] < b for a, b in others)


def speech_spans(samples: npt.NDArray[np.float32], threshold: float) -> list[Span]:
    """Where there is speech: Silero on levelled audio, and the voiced stretches it missed."""
    found = vad_spans(samples, threshold)
    missed = [s for s in energy_spans(samples) if not overlaps(s, found)]
    return sorted(found + missed)


def clips(spans: Iterable[Span], duration: float) -> list[Span]:
    """Spans joined into clips of at most 30 s where the gap between them is short."""
    out: list[list[float]] = []
    for start, end in sorted(spans):
        end = min(end, duration)
        if out:  # never overlapping: the pipeline would hear those seconds twice
            start = max(start, out[-1][1])
        while end - start > MAX_CLIP_SECONDS:
            out.append([start, start + MAX_CLIP_SECONDS])
            start += MAX_CLIP_SECONDS
        if end <= start:
            continue
        if out and start - out[-1][1] <= _JOIN_GAP_SECONDS and end - out[-1][0] <= MAX_CLIP_SECONDS:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return [(round(a, 3), min(round(b, 3), duration)) for a, b in out]
