"""Cut a clip out of a playable recording, and grab a still frame, for sharing and embeds."""

from __future__ import annotations

from pathlib import Path

import ffmpeg

from ingest.playable import frame_args
from ingest.runner import run_ffmpeg
from library.models import MediaInfo


def clip_args(source: Path, dest: Path, start: float, end: float, info: MediaInfo) -> list[str]:
    """Re-encoded, so the clip starts exactly at ``start`` (a copy would start at a keyframe)."""
    stream = ffmpeg.input(str(source), ss=round(start, 3), t=round(end - start, 3))
    options: dict[str, str | int] = {"c:a": "aac", "b:a": "128k", "movflags": "+faststart"}
    if info.has_video:
        options.update({"c:v": "libx264", "preset": "veryfast", "crf": 23, "pix_fmt": "yuv420p"})
        streams = [stream["v:0"], stream["a:0"]]
        options["f"] = "mp4"
    else:
        streams = [stream["a:0"]]
        options["f"] = "ipod"
    return list(ffmpeg.output(*streams, str(dest), **options).get_args())


def cut_clip(source: Path, dest: Path, start: float, end: float, info: MediaInfo) -> None:
    """Raises :class:`MediaError`."""
    run_ffmpeg(clip_args(source, dest, start, end, info), source)


def grab_frame(source: Path, dest: Path, at: float) -> None:
    """A JPEG of the frame at ``at`` seconds. Raises :class:`MediaError`."""
    run_ffmpeg(frame_args(source, dest, at), source)
