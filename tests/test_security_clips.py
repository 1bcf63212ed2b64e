"""Clips and stills a visitor can ask for are bounded: one cut per file, a finite set of files,
a few cuts at once with a time limit, a cache under its cap; never a 500."""

from __future__ import annotations

import dataclasses
import http.client
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ingest.clips import cut_clip, keyframe_before
from ingest.probe import probe
from ingest.runner import run_ffmpeg
from library.clips import clip_edges, still_time
from library.config import Config, parse_config
from library.errors import ConfigError, MediaError
from library.models import Segment
from tests.conftest import MediaFactory, app_for

SENTENCES = [Segment(1.0, 4.0, "One."), Segment(4.5, 9.0, "Two."), Segment(12.0, 15.5, "Three.")]


def test_clip_edges_snap_outwards_to_whole_sentences() -> None:
    assert clip_edges(SENTENCES, 2.3, 5.1, 20.0) == (1.0, 9.0)  # inside One .. inside Two
    assert clip_edges(SENTENCES, 4.2, 11.0, 20.0) == (4.5, 9.0)  # pause before Two, after it
    assert clip_edges(SENTENCES, 0.0, 20.0, 20.0) == (1.0, 15.5)
    assert clip_edges(SENTENCES, 1.01, 8.99, 20.0) == clip_edges(SENTENCES, 1.02, 8.98, 20.0)


def test_clip_edges_fall_back_to_whole_seconds() -> None:
    assert clip_edges([], 2.3, 5.1, 20.0) == (2.0, 6.0)
    assert clip_edges([], 19.2, 19.9, 19.5) == (19.0, 19.5)  # never past the end
    assert clip_edges(SENTENCES, 9.2, 11.7, 20.0) == (9.0, 12.0)  # a pause holds no sentence
    assert clip_edges(SENTENCES, 16.0, 18.5, 20.0) == (16.0, 19.0)  # after the last sentence


def test_still_times_are_whole_seconds_before_the_last_frame() -> None:
    assert still_time(3.7, 10.0) == 3.0
    assert still_time(10.0, 10.0) == still_time(99.0, 10.0) == 9.0
    assert still_time(-4.0, 10.0) == 0.0
    assert still_time(3.0, 3.04) == 2.0


def test_ffmpeg_running_past_its_timeout_is_killed(tmp_path: Path) -> None:
    started = time.monotonic()
    endless = ["-f", "lavfi", "-re", "-i", "sine=duration=600", "-f", "null", "-"]
    with pytest.raises(MediaError, match=r"longer than 0\.5 s"):
        run_ffmpeg(endless, tmp_path / "x", timeout=0.5)
    assert time.monotonic() - started < 5


def _video_packets(path: Path) -> list[bytes]:
    import av

    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(video=0) if p.size]


def test_video_is_copied_from_a_keyframe_and_re_encoded_between(
    media: MediaFactory, tmp_path: Path
) -> None:
    source = media("h264-aac.mp4")  # one keyframe, at 0
    info = probe(source)
    assert keyframe_before(source, 1.3) == 0.0
    original = _video_packets(source)
    copied, encoded = tmp_path / "copied.mp4", tmp_path / "encoded.mp4"
    cut_clip(source, copied, 0.0, 2.0, info)
    cut_clip(source, encoded, 1.3, 2.5, info)
    assert _video_packets(copied)[:10] == original[:10]  # the same bytes: copied
    assert _video_packets(encoded)[0] not in original
    assert probe(copied).duration == pytest.approx(2.0, abs=0.1)
    assert probe(encoded).duration == pytest.approx(1.2, abs=0.1)


# The site, served by waitress: concurrency is what these tests are about.


def _web(config: Config, **changes: object) -> Config:
    return dataclasses.replace(config, web=dataclasses.replace(config.web, **changes))


@pytest.fixture
def app(site_config: Config) -> Iterator[Flask]:
    with app_for(site_config) as app:
        yield app


def _recordings(client: FlaskClient) -> dict[str, dict[str, object]]:
    return {r["title"]: r for r in client.get("/api/recordings").get_json()}


def _ids(config: Config) -> tuple[str, str]:
    """(the video talk, the audio-only speech), with their caches emptied: first requests."""
    with app_for(config) as app:
        found = _recordings(app.test_client())
    talk = str(found["Online gatherings people enjoy"]["id"])
    jfk = str(found["Inaugural address"]["id"])
    for rid in (talk, jfk):
        shutil.rmtree(config.media_dir / rid / "cache", ignore_errors=True)
    return talk, jfk


@pytest.fixture
def served(app: Flask) -> Iterator[int]:
    """The app behind waitress on a free port of 127.0.0.1; yields the port."""
    import waitress.server

    server = waitress.server.create_server(app, host="127.0.0.1", port=0, threads=8)
    stopping = threading.Event()

    def run() -> None:
        try:
            server.run()
        except (OSError, ValueError):  # its sockets closed under the loop, as asked
            if not stopping.is_set():
                raise

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield int(server.effective_port)  # type: ignore[union-attr]
    finally:
        stopping.set()
        server.task_dispatcher.shutdown()  # type: ignore[union-attr]
        server.close()
        thread.join(timeout=10)


def _get(port: int, path: str) -> tuple[int, bytes, dict[str, str]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read(), dict(response.getheaders())
    finally:
        conn.close()


def _fetch(port: int, path: str, into: list[tuple[int, bytes, dict[str, str]]]) -> None:
    into.append(_get(port, path))


def _cached(config: Config, rid: str) -> list[Path]:
    return sorted((config.media_dir / rid / "cache").glob("*"))


@pytest.mark.slow
def test_concurrent_first_requests_for_one_clip_all_get_one_good_file(
    site_config: Config, served: int, tmp_path: Path
) -> None:
    talk, jfk = _ids(site_config)
    for rid, ext, video in ((talk, "mp4", True), (jfk, "m4a", False)):
        path = f"/r/{rid}/clip.{ext}?start=3.21&end=9.87"
        answers: list[tuple[int, bytes, dict[str, str]]] = []
        threads = [threading.Thread(target=_fetch, args=(served, path, answers)) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert [status for status, _, _ in answers] == [200] * 6
        assert len({body for _, body, _ in answers}) == 1
        out = tmp_path / f"clip.{ext}"
        out.write_bytes(answers[0][1])
        info = probe(out, min_duration=0)
        assert info.has_audio and info.has_video == video and info.duration > 1
        assert len(_cached(site_config, rid)) == 1
        assert not [p for p in (site_config.media_dir / rid).rglob(".*.part")]


@pytest.mark.slow
def test_clips_snap_to_sentences_so_near_ranges_share_one_cut(app: Flask) -> None:
    talk, _ = _ids(app.extensions["recall"].config)
    client = app.test_client()
    first = client.get(f"/r/{talk}/clip.mp4?start=25.31&end=29.87")
    second = client.get(f"/r/{talk}/clip.mp4?start=25.4&end=29.9")
    assert first.status_code == second.status_code == 200 and first.data == second.data
    config = app.extensions["recall"].config
    assert len(_cached(config, talk)) == 1
    segments = app.extensions["recall"].catalog.segments(talk)
    start, end = clip_edges(segments, 25.31, 29.87, 1e9)
    assert any(s.start == start for s in segments) and any(s.end == end for s in segments)
    assert f"{start:.2f}-{end:.2f}" in first.headers["Content-Disposition"]


@pytest.mark.slow
def test_a_clip_longer_than_the_limit_is_refused_with_a_reason(site_config: Config) -> None:
    talk, _ = _ids(site_config)
    with app_for(_web(site_config, max_clip_seconds=5.0)) as app:
        response = app.test_client().get(f"/r/{talk}/clip.mp4?start=0&end=40")
    assert response.status_code == 400 and "at most 5 seconds" in response.get_data(as_text=True)
    assert _cached(site_config, talk) == []


@pytest.mark.slow
def test_with_every_cutter_busy_a_new_clip_is_503_with_retry_after(app: Flask) -> None:
    talk, _ = _ids(app.extensions["recall"].config)
    slots = app.extensions["recall"].cuts.slots
    assert slots.acquire(blocking=False)  # the one cutter, busy elsewhere
    try:
        busy = app.test_client().get(f"/r/{talk}/clip.mp4?start=1&end=5")
        still = app.test_client().get(f"/media/{talk}/still.jpg?t=7")
    finally:
        slots.release()
    assert busy.status_code == still.status_code == 503
    assert int(busy.headers["Retry-After"]) > 0
    assert app.test_client().get(f"/r/{talk}/clip.mp4?start=1&end=5").status_code == 200


@pytest.mark.slow
def test_a_cut_past_its_timeout_is_stopped_and_not_kept(site_config: Config) -> None:
    talk, _ = _ids(site_config)
    with app_for(_web(site_config, clip_timeout=0.01)) as app:
        client = app.test_client()
        for path in (f"/r/{talk}/clip.mp4?start=0&end=30", f"/media/{talk}/still.jpg?t=4"):
            response = client.get(path)
            assert response.status_code == 503, path
            assert "longer than" in response.get_data(as_text=True)
    assert _cached(site_config, talk) == []


@pytest.mark.slow
def test_a_cut_that_fails_is_503_and_not_kept(site_config: Config, tmp_path: Path) -> None:
    _, jfk = _ids(site_config)
    with app_for(site_config) as app:
        client = app.test_client()
        recording = app.extensions["recall"].catalog.get(jfk)
        source = site_config.media_dir / jfk / recording.playable_file
        saved = tmp_path / "saved"
        shutil.copyfile(source, saved)
        try:
            source.write_bytes(saved.read_bytes()[:2000])  # damaged since it was ingested
            response = client.get(f"/r/{jfk}/clip.m4a?start=1&end=5")
            assert response.status_code == 503
            assert _cached(site_config, jfk) == []
        finally:
            shutil.copyfile(saved, source)
        assert client.get(f"/r/{jfk}/clip.m4a?start=1&end=5").status_code == 200


@pytest.mark.slow
def test_stills_past_the_end_are_the_last_frame_and_cached_per_second(app: Flask) -> None:
    services = app.extensions["recall"]
    talk, _ = _ids(services.config)
    duration = services.catalog.get(talk).duration
    client = app.test_client()
    answers = [client.get(f"/media/{talk}/still.jpg?t={t}") for t in (duration, duration + 60)]
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].data[:3] == b"\xff\xd8\xff" and answers[0].data == answers[1].data
    assert (
        client.get(f"/media/{talk}/still.jpg?t=4.2").data
        == client.get(f"/media/{talk}/still.jpg?t=4.7").data
    )
    assert len(_cached(services.config, talk)) == 2


@pytest.mark.slow
def test_the_cache_stays_under_its_cap_dropping_the_least_recently_served(
    site_config: Config,
) -> None:
    talk, _ = _ids(site_config)
    with app_for(site_config) as app:
        segments = app.extensions["recall"].catalog.segments(talk)[:3]
        paths = [f"/r/{talk}/clip.mp4?start={s.start + 0.1}&end={s.end - 0.1}" for s in segments]
        sizes = [len(app.test_client().get(p).data) for p in paths]
    shutil.rmtree(site_config.media_dir / talk / "cache")
    cap_mb = (sizes[0] + sizes[1] + min(sizes) // 2) / 1024 / 1024
    with app_for(_web(site_config, clip_cache_mb=cap_mb)) as app:
        client = app.test_client()
        for path in (paths[0], paths[1], paths[0], paths[2]):  # the first is served again
            assert client.get(path).status_code == 200
            time.sleep(0.05)  # access times apart
        cache = app.extensions["recall"].cuts
        assert 0 < cache.size() <= cache.cap_bytes
        kept = [p.name for p in _cached(site_config, talk)]
    names = [f"clip-{s.start:.2f}-{s.end:.2f}.mp4" for s in segments]
    assert kept == sorted([names[0], names[2]])


@pytest.mark.slow
def test_a_clips_captions_are_its_whole_sentences_from_zero(app: Flask, tmp_path: Path) -> None:
    talk, _ = _ids(app.extensions["recall"].config)
    client = app.test_client()
    query = "start=27&end=29.9"
    captions = client.get(f"/api/recordings/{talk}/transcript.json?{query}").get_json()
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(client.get(f"/r/{talk}/clip.mp4?{query}").data)
    cues = captions["segments"]
    assert cues[0]["start"] == 0
    assert cues[-1]["end"] == pytest.approx(probe(clip).duration, abs=0.3)


@pytest.mark.parametrize(
    "web",
    [{"clip_workers": 0}, {"clip_requests": 0}, {"clip_timeout": 0}, {"clip_cache_mb": -1},
     {"max_clip_seconds": 0.5}],
)  # fmt: skip
def test_clip_limits_must_be_positive(web: dict[str, float], tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"web\.clip_workers and clip_requests must be >= 1"):
        parse_config({"web": web}, tmp_path)
