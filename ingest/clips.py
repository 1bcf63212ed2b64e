"""Cut a clip out of a playable recording, and grab a still frame, for sharing and embeds."""

from __future__ import annotations

from pathlib import Path

import ffmpeg

from ingest.playable import frame_args
from ingest.runner import run_ffmpeg
from library.models import MediaInfo

# One thread per cut: the site's pool of cuts (web.clip_workers) then bounds the cores that
# cutting may take, and pages keep the rest.
_THREADS = 1
# Cuts are started by visitors; pages for other visitors come first.
_NICENESS = 10


def clip_args(source: Path, dest: Path, start: float, end: float, info: MediaInfo) -> list[str]:
    """Video is re-encoded, so the clip starts exactly at ``start`` (a copy would start at the
    keyframe before it). AAC audio alone is copied: every audio packet is a keyframe."""
    stream = ffmpeg.input(str(source), ss=round(start, 3), t=round(end - start, 3))
    audio = "copy" if info.audio_codec == "aac" and not info.has_video else "aac"
    options: dict[str, str | int] = {"c:a": audio, "movflags": "+faststart", "threads": _THREADS}
    if audio == "aac":
        options["b:a"] = "128k"
    if info.has_video:
        options.update({"c:v": "libx264", "preset": "veryfast", "crf": 23, "pix_fmt": "yuv420p"})
        streams = [stream["v:0"], stream["a:0"]] if info.has_audio else [stream["v:0"]]
        options["f"] = "mp4"
    else:
        streams = [stream["a:0"]]
        options["f"] = "ipod"
    return ["-threads", str(_THREADS), *ffmpeg.output(*streams, str(dest), **options).get_args()]


def cut_clip(
    source: Path,
    dest: Path,
    start: float,
    end: float,
    info: MediaInfo,
    *,
    timeout: float | None = None,
) -> None:
    """Raises :class:`MediaError` (also when it ran past ``timeout`` seconds)."""
    run_ffmpeg(
        clip_args(source, dest, start, end, info), source, timeout=timeout, niceness=_NICENESS
    )


def grab_frame(source: Path, dest: Path, at: float, *, timeout: float | None = None) -> None:
    """A JPEG of the frame at ``at`` seconds. Raises :class:`MediaError`."""
    args = ["-threads", str(_THREADS), *frame_args(source, dest, at)]
    run_ffmpeg(args, source, timeout=timeout, niceness=_NICENESS)
