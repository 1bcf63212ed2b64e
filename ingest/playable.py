"""Make a recording playable in every browser, and give it a poster image.

Browsers play H.264 video with AAC or MP3 audio in MP4, and AAC or MP3 audio on its own. What
already is that is only remuxed (``-c copy``, no quality loss, ~100x faster than encoding);
anything else is transcoded. The decision and the ffmpeg arguments are pure functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ffmpeg

from ingest.runner import FractionDone, run_ffmpeg
from library.models import MediaInfo

_BROWSER_AUDIO = {"aac", "mp3"}
# 8-bit 4:2:0 is the only H.264 flavour every browser decodes.
_BROWSER_PIXEL_FORMATS = {"yuv420p", "yuvj420p", None}


@dataclass(frozen=True)
class PlayablePlan:
    extension: str  # of the playable file: "mp4", "m4a" or "mp3"
    copy_video: bool
    copy_audio: bool
    has_video: bool

    @property
    def is_remux(self) -> bool:
        return self.copy_audio and (self.copy_video or not self.has_video)


def plan_playable(info: MediaInfo) -> PlayablePlan:
    """Remux what browsers already play; transcode the rest."""
    copy_audio = info.audio_codec in _BROWSER_AUDIO
    if not info.has_video:
        extension = "mp3" if info.audio_codec == "mp3" else "m4a"
        return PlayablePlan(extension, copy_video=False, copy_audio=copy_audio, has_video=False)
    copy_video = info.video_codec == "h264" and info.pixel_format in _BROWSER_PIXEL_FORMATS
    return PlayablePlan("mp4", copy_video=copy_video, copy_audio=copy_audio, has_video=True)


def playable_args(source: Path, dest: Path, plan: PlayablePlan) -> list[str]:
    """ffmpeg arguments that turn ``source`` into ``dest`` following ``plan``."""
    stream = ffmpeg.input(str(source))
    options: dict[str, str | int] = {}
    if plan.copy_audio:
        options["c:a"] = "copy"
    else:
        options.update({"c:a": "aac", "b:a": "128k"})
    streams = [stream["a:0"]]
    if plan.has_video:
        streams.insert(0, stream["v:0"])
        if plan.copy_video:
            options["c:v"] = "copy"
        else:
            options.update(
                {
                    "c:v": "libx264",
                    "preset": "veryfast",
                    "crf": 23,
                    "pix_fmt": "yuv420p",
                    # H.264 4:2:0 needs even dimensions.
                    "vf": "scale=trunc(iw/2)*2:trunc(ih/2)*2",
                }
            )
    if plan.extension != "mp3":
        # The index at the front: playback starts before the whole file has downloaded.
        options["movflags"] = "+faststart"
    options["f"] = {"mp4": "mp4", "m4a": "ipod", "mp3": "mp3"}[plan.extension]
    out = ffmpeg.output(*streams, str(dest), map_metadata=-1, **options)
    return list(out.get_args())


def _jpeg(stream: Any, dest: Path) -> list[str]:
    return list(ffmpeg.output(stream, str(dest), vframes=1, **{"q:v": 3, "f": "image2"}).get_args())


def frame_args(source: Path, dest: Path, at: float) -> list[str]:
    """A JPEG of the video frame at ``at`` seconds, at most 1280 pixels wide."""
    return _jpeg(
        ffmpeg.input(str(source), ss=round(at, 3)).filter("scale", "min(1280,iw)", -2), dest
    )


def poster_args(source: Path, dest: Path, info: MediaInfo, at: float) -> list[str]:
    """A frame ``at`` (a fraction) into a video, or a waveform picture for audio."""
    if info.has_video:
        return frame_args(source, dest, info.duration * at)
    wave = ffmpeg.input(str(source))["a:0"].filter(
        "showwavespic", s="1280x400", colors="0x7dd3fc", split_channels=0
    )
    background = ffmpeg.input("color=c=0x0f172a:s=1280x720:d=1", f="lavfi")
    return _jpeg(ffmpeg.overlay(background, wave, x=0, y=160), dest)


def make_playable(
    source: Path, dest: Path, info: MediaInfo, on_progress: FractionDone | None = None
) -> None:
    """Raises :class:`MediaError`."""
    plan = plan_playable(info)
    run_ffmpeg(
        playable_args(source, dest, plan),
        source,
        duration=info.duration,
        on_progress=on_progress,
    )


def make_poster(source: Path, dest: Path, info: MediaInfo, at: float) -> None:
    """Raises :class:`MediaError`."""
    run_ffmpeg(poster_args(source, dest, info, at), source)
