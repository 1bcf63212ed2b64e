"""Probe a file with PyAV: container, streams, codecs, duration. Bad input is refused here."""

from __future__ import annotations

from pathlib import Path

import av

from library.errors import MediaError
from library.models import MediaInfo

# Decoder names that differ from the codec's own name.
_CODEC_NAMES = {
    "mp3float": "mp3",
    "mp2float": "mp2",
    "libopus": "opus",
    "libvorbis": "vorbis",
    "libdav1d": "av1",
    "libaom-av1": "av1",
}

# How media files start; text or an image renamed .mp4 starts otherwise.
_MEDIA_MAGIC = (b"ftyp", b"RIFF", b"OggS", b"\x1aE\xdf\xa3", b"ID3", b"fLaC", b"\xff\xfb")


def _codec_name(stream: av.stream.Stream) -> str:
    name = stream.codec_context.name
    return _CODEC_NAMES.get(name, name)


def _looks_like_media(path: Path) -> bool:
    with path.open("rb") as f:
        head = f.read(16)
    return any(magic in head for magic in _MEDIA_MAGIC)


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise MediaError(path, "no such file")
    if path.is_dir():
        raise MediaError(path, "is a folder, not a media file")
    try:
        with path.open("rb") as f:
            f.read(1)
    except PermissionError as e:
        raise MediaError(path, "permission denied: cannot read the file") from e
    except OSError as e:
        raise MediaError(path, f"cannot read the file: {e.strerror}") from e
    if path.stat().st_size == 0:
        raise MediaError(path, "file is empty (0 bytes)")


def _scan_duration(container: av.container.InputContainer, stream: av.stream.Stream) -> float:
    """Last packet end time, for containers that do not declare a duration."""
    end = 0.0
    for packet in container.demux(stream):
        if packet.pts is not None and packet.time_base is not None:
            end = max(end, float((packet.pts + (packet.duration or 0)) * packet.time_base))
    return end


def probe(path: Path, *, min_duration: float = 0.5) -> MediaInfo:
    """What ``path`` holds.

    Raises :class:`MediaError` for a missing, unreadable, empty or non-media file, truncated
    media, media with no audio track, or audio shorter than ``min_duration`` seconds.
    """
    _check_readable(path)
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except av.error.FFmpegError as e:
        if _looks_like_media(path):
            raise MediaError(path, "media file is truncated or damaged", str(e)) from e
        raise MediaError(path, "not an audio or video file", str(e)) from e
    with container:
        if container.format.name == "image2" or container.format.name.endswith("_pipe"):
            raise MediaError(path, "is a picture, not an audio or video file")
        audio = next(iter(container.streams.audio), None)
        video = next(
            (
                s
                for s in container.streams.video
                # Cover art in an MP3 or M4A is a one-frame "video" stream: not a video.
                if not s.disposition & av.stream.Disposition.attached_pic
            ),
            None,
        )
        if audio is None:
            what = "video has no audio track" if video is not None else "file has no audio track"
            raise MediaError(path, f"{what}: nothing to transcribe")
        if container.duration is not None:
            duration = container.duration / av.time_base
        elif audio.duration is not None and audio.time_base is not None:
            duration = float(audio.duration * audio.time_base)
        else:
            duration = _scan_duration(container, audio)
        info = MediaInfo(
            container=container.format.name,
            duration=float(duration),
            audio_codec=_codec_name(audio),
            video_codec=_codec_name(video) if video is not None else None,
            width=video.codec_context.width if video is not None else 0,
            height=video.codec_context.height if video is not None else 0,
            pixel_format=video.codec_context.pix_fmt if video is not None else None,
        )
    if info.duration < min_duration:
        raise MediaError(
            path, f"too short ({info.duration:.1f} s; at least {min_duration:g} s is needed)"
        )
    return info


def playable_duration(path: Path) -> float | None:
    """The duration of a file Recall made itself (its playable copy), from its index: unlike
    the original's, it counts only what ffmpeg could read. None when it declares none."""
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if container.duration is None:
                return None
            return float(container.duration / av.time_base)
    except av.error.FFmpegError:
        return None
