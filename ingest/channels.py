"""One speaker per channel: recognise such recordings and transcribe them channel by channel.

Interviews and calls are often recorded with each person on a channel of their own. Downmixed,
the quieter voice can fall below voice detection and vanish from the transcript (the second
speaker of a two-channel test recording did). Such recordings are told apart from ordinary
stereo (the same voice on every channel) by two things: the channels hardly correlate, and each
of at least two channels is clearly the loudest for a good share of the voiced time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ingest import voice
from ingest.audio import SAMPLE_RATE, PcmFile
from ingest.sentences import drop_loops, resegment
from ingest.transcribe import Transcript, hear_all
from ingest.vocabulary import NO_VOCABULARY, Vocabulary
from library.config import TranscribeConfig
from library.models import Segment, Word

# Read a minute of samples at a time: memory does not grow with the length.
_CHUNK = SAMPLE_RATE * 60
# A channel "leads" a frame when it is this much louder than every other channel...
_LEAD_DB = 10.0
# ...and it must lead at least this share of the voiced frames, and this many seconds.
_MIN_LEAD_SHARE = 0.1
_MIN_LEAD_SECONDS = 2.0
# Ordinary stereo correlates far above this; separate microphones far below.
_MAX_CORRELATION = 0.5
# A channel's word is kept unless another channel is this much louder under it: then it is
# the other person's voice leaking into this microphone.
_BLEED_DB = 6.0


@dataclass(frozen=True)
class ChannelLevels:
    levels: npt.NDArray[np.float64]  # (channels, frames) dBFS of 100 ms frames
    correlation: float  # of the loudest two channels' samples, -1..1

    def leads(self) -> npt.NDArray[np.float64]:
        """Seconds each channel is clearly the loudest while someone speaks."""
        levels = self.levels
        floor = np.percentile(levels, 10, axis=1, keepdims=True)
        voiced = (levels > np.maximum(floor + 12.0, -60.0)).any(axis=0)
        out = np.zeros(len(levels))
        for c in range(len(levels)):
            others = np.delete(levels, c, axis=0).max(axis=0)
            out[c] = np.count_nonzero(voiced & (levels[c] >= others + _LEAD_DB))
        return out * voice.FRAME_SECONDS

    def voiced_seconds(self) -> float:
        floor = np.percentile(self.levels, 10, axis=1, keepdims=True)
        voiced = (self.levels > np.maximum(floor + 12.0, -60.0)).any(axis=0)
        return float(np.count_nonzero(voiced)) * voice.FRAME_SECONDS

    def has_one_voice_per_channel(self) -> bool:
        leads = self.leads()
        enough = max(_MIN_LEAD_SECONDS, _MIN_LEAD_SHARE * self.voiced_seconds())
        return self.correlation < _MAX_CORRELATION and int(np.count_nonzero(leads >= enough)) >= 2

    def is_bleed(self, channel: int, word: Word) -> bool:
        """Whether ``word``, heard on ``channel``, is louder on another channel."""
        lo = int(word.start / voice.FRAME_SECONDS)
        hi = max(lo + 1, int(np.ceil(word.end / voice.FRAME_SECONDS)))
        frames = self.levels[:, lo:hi]
        if frames.shape[1] == 0:
            return False
        power = np.log10(np.mean(10 ** (frames / 10), axis=1)) * 10
        return bool(np.delete(power, channel).max(initial=-200.0) > power[channel] + _BLEED_DB)


def measure(tracks: Sequence[PcmFile]) -> ChannelLevels:
    """Per-channel frame levels, and how alike the two loudest channels are."""
    levels: list[list[npt.NDArray[np.float64]]] = [[] for _ in tracks]
    energy = np.zeros(len(tracks))
    products = np.zeros((len(tracks), len(tracks)))
    for offset in range(0, min(len(t) for t in tracks), _CHUNK):
        chunk = np.stack([t[offset : offset + _CHUNK].astype(np.float64) / 32768 for t in tracks])
        for c, samples in enumerate(chunk):
            levels[c].append(voice.frame_levels(samples.astype(np.float32)))
        products += chunk @ chunk.T
        energy += np.square(chunk).sum(axis=1)
    stacked = np.stack([np.concatenate(parts) if parts else np.zeros(0) for parts in levels])
    a, b = np.argsort(energy)[::-1][:2]
    denominator = float(np.sqrt(products[a, a] * products[b, b]))
    correlation = float(products[a, b]) / denominator if denominator > 0 else 1.0
    return ChannelLevels(stacked, correlation)


def speaker_names(count: int, given: Sequence[str]) -> list[str]:
    """The speakers named at ingest, in channel order; "Speaker N" for the rest."""
    return [given[i] if i < len(given) else f"Speaker {i + 1}" for i in range(count)]


def transcribe_channels(
    tracks: Sequence[PcmFile],
    levels: ChannelLevels,
    names: Sequence[str],
    config: TranscribeConfig,
    *,
    language: str | None = None,
    vocabulary: Vocabulary = NO_VOCABULARY,
    on_progress: Callable[[float], None] = lambda fraction: None,
) -> Transcript:
    """Each channel transcribed alone, its sentences labelled with its speaker, merged by time.

    Raises :class:`ModelError`.
    """
    segments: list[Segment] = []
    voiced: list[voice.Span] = []
    detected = language or config.language
    for c, track in enumerate(tracks):

        def progress(fraction: float, c: int = c) -> None:
            on_progress((c + fraction) / len(tracks))

        heard = hear_all(
            track, config, language=language, vocabulary=vocabulary, on_progress=progress
        )
        detected = heard.language if c == 0 else detected
        words = [w for w in drop_loops(heard.words) if not levels.is_bleed(c, w)]
        segments += [
            Segment(s.start, s.end, s.text, s.words, speaker=names[c])
            for s in resegment(words, config.max_cue_seconds)
        ]
        voiced += heard.voiced
    on_progress(1.0)
    segments.sort(key=lambda s: (s.start, s.end))
    return Transcript(segments, detected, tuple(sorted(voiced)))
