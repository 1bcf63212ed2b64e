"""Probing and making playable, on files made by ffmpeg."""

from pathlib import Path

import pytest

from ingest.playable import make_playable, make_poster, plan_playable
from ingest.probe import probe
from library.errors import MediaError
from library.models import MediaInfo
from tests.conftest import MediaFactory


def info(audio: str | None, video: str | None = None, pix: str | None = None) -> MediaInfo:
    return MediaInfo("x", 60.0, audio, video, 640, 360, pix if video else None)


@pytest.mark.parametrize(
    ("media_info", "extension", "copy_video", "copy_audio"),
    [
        (info("aac", "h264", "yuv420p"), "mp4", True, True),
        (info("mp3", "h264", "yuv420p"), "mp4", True, True),
        (info("opus", "h264", "yuv420p"), "mp4", True, False),
        (info("aac", "h264", "yuv444p"), "mp4", False, True),
        (info("opus", "vp9", "yuv420p"), "mp4", False, False),
        (info("aac"), "m4a", False, True),
        (info("mp3"), "mp3", False, True),
        (info("flac"), "m4a", False, False),
    ],
)
def test_plan_remuxes_what_browsers_play_and_transcodes_the_rest(
    media_info: MediaInfo, extension: str, copy_video: bool, copy_audio: bool
) -> None:
    plan = plan_playable(media_info)
    assert (plan.extension, plan.copy_video, plan.copy_audio) == (
        extension, copy_video, copy_audio
    )  # fmt: skip


@pytest.mark.parametrize(
    ("name", "audio", "video"),
    [
        ("h264-aac.mp4", "aac", "h264"),
        ("h264-mp3.mov", "mp3", "h264"),
        ("vp9-opus.webm", "opus", "vp9"),
        ("mpeg4-mp3.avi", "mp3", "mpeg4"),
        ("tone.wav", "pcm_s16le", None),
        ("tone.mp3", "mp3", None),
        ("tone.m4a", "aac", None),
    ],
)
def test_probe_reads_codecs_and_duration(
    media: MediaFactory, name: str, audio: str, video: str | None
) -> None:
    found = probe(media(name))
    assert (found.audio_codec, found.video_codec) == (audio, video)
    assert found.duration == pytest.approx(3.0, abs=0.15)
    assert found.has_audio and found.has_video == (video is not None)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("empty.mp4", "file is empty"),
        ("text.mp4", "not an audio or video file"),
        ("image.mp4", "is a picture, not an audio or video file"),
        ("truncated.mp4", "truncated or damaged"),
        ("no-audio.mp4", "video has no audio track"),
        ("short.wav", r"too short \(0\.2 s"),
    ],
)
def test_probe_refuses_bad_input_with_a_clear_reason(
    media: MediaFactory, name: str, message: str
) -> None:
    with pytest.raises(MediaError, match=message) as caught:
        probe(media(name))
    assert caught.value.path.name == name
    assert str(caught.value).startswith(name + ": ")


def test_probe_refuses_missing_paths_and_folders(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="no such file"):
        probe(tmp_path / "missing.mp4")
    with pytest.raises(MediaError, match="is a folder"):
        probe(tmp_path)


@pytest.mark.parametrize(
    ("name", "extension"),
    [
        ("h264-aac.mp4", "mp4"),
        ("vp9-opus.webm", "mp4"),
        ("mpeg4-mp3.avi", "mp4"),
        ("tone.wav", "m4a"),
        ("tone.m4a", "m4a"),
        ("tone.mp3", "mp3"),
    ],
)
def test_make_playable_gives_browser_codecs(
    media: MediaFactory, tmp_path: Path, name: str, extension: str
) -> None:
    source = media(name)
    found = probe(source)
    plan = plan_playable(found)
    assert plan.extension == extension
    dest = tmp_path / f"playable.{extension}"
    fractions: list[float] = []
    make_playable(source, dest, found, fractions.append)
    result = probe(dest)
    assert result.audio_codec in {"aac", "mp3"}
    assert result.video_codec in ({"h264"} if found.has_video else {None})
    assert result.duration == pytest.approx(found.duration, abs=0.2)
    if extension == "mp4":
        # +faststart: the index ("moov") comes before the media data ("mdat").
        head = dest.read_bytes()
        assert head.index(b"moov") < head.index(b"mdat")


def test_remux_copies_the_streams_unchanged(media: MediaFactory, tmp_path: Path) -> None:
    source = media("h264-aac.mp4")
    found = probe(source)
    assert plan_playable(found).is_remux
    dest = tmp_path / "playable.mp4"
    make_playable(source, dest, found)
    # Same encoded bytes, only moved: the sizes are within the container's overhead.
    assert abs(dest.stat().st_size - source.stat().st_size) < 4096


@pytest.mark.parametrize("name", ["h264-aac.mp4", "tone.m4a"])
def test_poster_is_a_jpeg(media: MediaFactory, tmp_path: Path, name: str) -> None:
    dest = tmp_path / "poster.jpg"
    make_poster(media(name), dest, probe(media(name)), 0.1)
    assert dest.read_bytes()[:3] == b"\xff\xd8\xff"


def test_ffmpeg_failure_names_the_file(media: MediaFactory, tmp_path: Path) -> None:
    source = media("tone.wav")
    with pytest.raises(MediaError, match=r"tone\.wav: ffmpeg failed"):
        make_playable(source, tmp_path / "no-such-dir" / "x.m4a", probe(source))
