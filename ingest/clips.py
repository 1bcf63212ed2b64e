"""Cut a clip out of a playable recording, and grab a still frame, for sharing and embeds."""

from __future__ import annotations

from pathlib import Path

import av
import ffmpeg

from ingest.playable import frame_args
from ingest.runner import run_ffmpeg
from library.models import MediaInfo

# One thread per cut: the site's pool of cuts (web.clip_workers) then bounds the cores that
# cutting may take, and pages keep the rest.
_THREADS = 1
# Cuts are started by visitors; pages for other visitors come first.
_NICENESS = 10
# H.264 video is copied, not re-encoded, when a keyframe lies at most this many seconds before
# the clip's start: the clip then holds those few frames more, for a hundredth of the work.
COPY_LEAD = 0.5


def keyframe_before(source: Path, at: float) -> float | None:
    """The time of the last video keyframe at or before ``at``; None when there is none."""
    try:
        with av.open(str(source)) as container:
            stream = container.streams.video[0]
            assert stream.time_base is not None
            target = int(at / stream.time_base)
            container.seek(target, stream=stream, backward=True, any_frame=False)
            for packet in container.demux(stream):
                if packet.pts is not None and packet.is_keyframe:
                    found = float(packet.pts * stream.time_base)
                    return found if found <= at + 1e-3 else None
    except (av.error.FFmpegError, IndexError):
        pass
    return None


def copies_video(source: Path, start: float, info: MediaInfo) -> bool:
    """Whether a clip from ``start`` may copy the video: H.264 with a keyframe just before."""
    if info.video_codec != "h264":
        return False
    keyframe = keyframe_before(source, start)
    return keyframe is not None and start - keyframe <= COPY_LEAD


def clip_args(
    source: Path, dest: Path, start: float, end: float, info: MediaInfo, *, copy_video: bool
) -> list[str]:
    """AAC audio is copied (every AAC packet starts cleanly); video is copied when
    ``copy_video`` (a clip copied from a keyframe long before ``start`` would start there, so
    the caller decides with :func:`copies_video`), else re-encoded fast."""
    stream = ffmpeg.input(str(source), ss=round(start, 3), t=round(end - start, 3))
    audio = "copy" if info.audio_codec == "aac" else "aac"
    options: dict[str, str | int] = {"c:a": audio, "movflags": "+faststart", "threads": _THREADS}
    if audio == "aac":
        options["b:a"] = "128k"
    if info.has_video:
        if copy_video:
            options["c:v"] = "copy"
        else:
            encode: dict[str, str | int] = {
                "c:v": "libx264",
                "preset": "veryfast",
                "crf": 23,
                "pix_fmt": "yuv420p",
            }
            options.update(encode)
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
    copy_video = info.has_video and copies_video(source, start, info)
    args = clip_args(source, dest, start, end, info, copy_video=copy_video)
    run_ffmpeg(args, source, timeout=timeout, niceness=_NICENESS)


def grab_frame(source: Path, dest: Path, at: float, *, timeout: float | None = None) -> None:
    """A JPEG of the frame at ``at`` seconds. Raises :class:`MediaError`."""
    args = ["-threads", str(_THREADS), *frame_args(source, dest, at)]
    run_ffmpeg(args, source, timeout=timeout, niceness=_NICENESS)
