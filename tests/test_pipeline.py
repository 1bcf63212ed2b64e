"""The whole pipeline with real ffmpeg, real Whisper tiny.en, real SQLite and Whoosh."""

import dataclasses
import itertools
import json
import os
import signal
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from ingest import audio, intake
from ingest.audio import AudioSegment, decode_pcm, measure_loudness
from ingest.transcribe import plan_windows, transcribe
from library.config import Config
from library.errors import MediaError
from library.models import STAGES, RecordingMeta, Status
from tests.conftest import (
    GATHERINGS,
    JFK,
    RECALL,
    MediaFactory,
    wait_for,
    whisper_is_at_work,
    write_config,
)
from web.services import Services, open_services

pytestmark = pytest.mark.slow


def test_transcribes_real_speech_with_word_times(config: Config, tmp_path: Path) -> None:
    transcript = transcribe(decode_pcm(JFK, tmp_path / "jfk.pcm"), config.transcribe)
    text = " ".join(s.text for s in transcript.segments).lower()
    assert "ask not what your country can do for you" in text
    words = [w for s in transcript.segments for w in s.words]
    assert words[0].start < 1.0 and 9.0 < words[-1].end <= 11.1
    assert all(a.start <= b.start for a, b in itertools.pairwise(words))
    # "country" is said twice; the second time near the end (about 9.5-10.5 s).
    last = [w for w in words if "country" in w.text.lower()][-1]
    assert 8.5 < last.start < 10.8


def test_windows_end_at_quiet_moments() -> None:
    rate = 16_000
    tone = (np.sin(np.arange(rate * 100) * 0.2) * 10_000).astype(np.int16)
    tone[rate * 58 : rate * 59] = 0  # the only quiet second near the 60 s mark
    tone[rate * 85 : rate * 87] = 0  # too far from it
    starts = plan_windows(tone, 60)
    assert len(starts) == 2 and starts[0] == 0
    assert rate * 58 <= starts[1] <= rate * 59
    assert plan_windows(tone[: rate * 70], 60) == [0]


def test_windowed_transcription_keeps_times(config: Config, tmp_path: Path) -> None:
    """The same speech in 60 s windows: times stay absolute, no word is lost at the cut."""
    small = dataclasses.replace(config.transcribe, window_seconds=60)
    samples = decode_pcm(GATHERINGS, tmp_path / "talk.pcm")
    whole = transcribe(samples, config.transcribe)
    windowed = transcribe(samples, small)
    words = [w for s in windowed.segments for w in s.words]
    assert all(a.start <= b.start for a, b in itertools.pairwise(words))
    text = " ".join(s.text for s in windowed.segments).lower()
    assert "what surprised you this week" in text and "one question to carry" in text
    assert abs(len(text.split()) - len(" ".join(s.text for s in whole.segments).split())) <= 8
    surprised = next(s for s in windowed.segments if "surprised" in s.text)
    assert 24 < surprised.start < 33


def test_silence_and_noise_give_no_text(
    config: Config, media: MediaFactory, tmp_path: Path
) -> None:
    silence = decode_pcm(media("silence.wav"), tmp_path / "silence.pcm")
    assert measure_loudness(silence).is_silent(config.ingest.silence_dbfs)
    noise = decode_pcm(media("noise.wav"), tmp_path / "noise.pcm")
    assert not measure_loudness(noise).is_silent(config.ingest.silence_dbfs)
    assert transcribe(noise, config.transcribe).segments == []


def test_loudness_reads_minutes_at_a_time(
    media: MediaFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Measured in pieces (here 0.7 s), a tone's level is what pydub says of it whole."""
    monkeypatch.setattr(audio, "_CHUNK", 11_200)
    samples = decode_pcm(media("tone.wav"), tmp_path / "tone.pcm")
    whole = AudioSegment(data=samples[:].tobytes(), sample_width=2, frame_rate=16_000, channels=1)
    loudness = measure_loudness(samples)
    assert loudness.mean_dbfs == pytest.approx(whole.dBFS, abs=0.01)
    assert loudness.loudest_dbfs == pytest.approx(whole.dBFS, abs=0.1)
    assert len(samples[10:20]) == 10 and len(samples[len(samples) - 5 :]) == 5
    # A last piece shorter than a millisecond holds no window at all.
    monkeypatch.setattr(audio, "_CHUNK", len(samples) - 8)
    assert measure_loudness(samples).mean_dbfs == pytest.approx(whole.dBFS, abs=0.01)


def test_ingest_makes_media_captions_and_search(services: Services) -> None:
    meta = RecordingMeta(title="Inaugural", event="1961", speakers=("John F. Kennedy",))
    stages: list[str] = []
    recording = services.pipeline.ingest(JFK, meta, lambda s, f: stages.append(s))
    assert recording.status == Status.READY, recording.error
    assert recording.stages_done == STAGES
    assert list(dict.fromkeys(stages)) == list(STAGES)
    folder = services.storage.folder(recording.id)
    names = {p.name for p in folder.iterdir() if not p.name.startswith(".")}
    assert names == {
        "source.flac", "playable.m4a", "poster.jpg",
        "transcript.vtt", "transcript.srt", "transcript.txt", "transcript.json",
    }  # fmt: skip
    vtt = (folder / "transcript.vtt").read_text()
    assert vtt.startswith("WEBVTT\nTitle: Inaugural\n") and "-->" in vtt
    doc = json.loads((folder / "transcript.json").read_text())
    assert doc["recording_id"] == recording.id and doc["segments"][0]["words"]
    hit = services.index.search("ask not what your country can do").hits[0]
    assert hit.recording_id == recording.id and hit.title == "Inaugural"
    assert "<mark>country</mark>" in hit.snippet
    assert services.index.search("country", speaker="john f. kennedy").hits


def test_without_keep_source_only_the_playable_copy_stays(config: Config) -> None:
    lean = dataclasses.replace(config, ingest=dataclasses.replace(config.ingest, keep_source=False))
    services = open_services(lean)
    try:
        recording = services.pipeline.ingest(JFK, RecordingMeta(title="Lean"))
        assert recording.status == Status.READY and recording.source_file == ""
        folder = services.storage.folder(recording.id)
        assert not list(folder.glob("source.*")) and (folder / "playable.m4a").exists()
    finally:
        services.close()


def test_the_same_file_twice_is_one_recording(services: Services, tmp_path: Path) -> None:
    first = services.pipeline.ingest(JFK, RecordingMeta(title="One"))
    copy = tmp_path / "another name.flac"
    copy.write_bytes(JFK.read_bytes())
    second = services.pipeline.ingest(copy, RecordingMeta(title="Two"))
    assert second.id == first.id and second.title == "One"
    assert len(services.catalog.recordings()) == 1


def test_a_recording_in_progress_elsewhere_is_left_alone(services: Services) -> None:
    meta = RecordingMeta(title="Busy")
    submitted = intake.submit(services.catalog, JFK, meta, services.config.ingest).recording
    with services.storage.lock(submitted.id):  # as another process would hold it
        assert services.pipeline.process(submitted.id, JFK, wait=False) is None
    untouched = services.catalog.get(submitted.id)
    assert untouched.status == Status.QUEUED and untouched.stages_done == ()
    done = services.pipeline.process(submitted.id, JFK, wait=False)
    assert done is not None and done.status == Status.READY


def test_the_pipeline_indexes_into_the_index_a_rebuild_made(services: Services) -> None:
    services.rebuild_index()
    assert services.pipeline.index() is services.index


def test_silent_audio_ingests_with_no_speech_note(services: Services, media: MediaFactory) -> None:
    recording = services.pipeline.ingest(media("silence.wav"), RecordingMeta(title="Quiet"))
    assert recording.status == Status.NO_SPEECH
    assert recording.note == "no speech detected"
    assert services.catalog.segments(recording.id) == []
    folder = services.storage.folder(recording.id)
    assert (folder / "transcript.vtt").read_text() == "WEBVTT\nTitle: Quiet\n"
    assert (folder / "poster.jpg").exists()


def test_transcode_path_with_real_speech(services: Services) -> None:
    recording = services.pipeline.ingest(GATHERINGS, RecordingMeta(title="Online gatherings"))
    assert recording.status == Status.READY
    assert recording.playable_file == "playable.mp4"
    text = " ".join(s.text for s in services.catalog.segments(recording.id)).lower()
    for phrase in ("breakout rooms", "live captions", "trust matters more than content"):
        assert phrase in text
    segments = services.catalog.segments(recording.id)
    assert all(s.end - s.start <= services.config.transcribe.max_cue_seconds for s in segments)
    hit = services.index.search("what surprised you this week").hits[0]
    assert 20 < hit.start < 35


@pytest.mark.parametrize(
    "name", ["empty.mp4", "text.mp4", "truncated.mp4", "no-audio.mp4", "short.wav"]
)
def test_bad_input_changes_nothing(services: Services, media: MediaFactory, name: str) -> None:
    with pytest.raises(MediaError):
        services.pipeline.ingest(media(name), RecordingMeta(title="bad"))
    assert services.catalog.recordings() == []
    assert not services.storage.root.exists() or not any(services.storage.root.iterdir())
    assert services.index.document_count() == 0


def _stage_of(database: Path) -> str | None:
    try:
        with sqlite3.connect(database, timeout=1) as db:
            row = db.execute("SELECT stage FROM recordings").fetchone()
    except sqlite3.OperationalError:
        return None
    return row[0] if row else None


def _transcribing(database: Path, at_work: Callable[[], bool]) -> bool:
    """Whether Whisper is at work on the recording (see whisper_is_at_work); fails at once if
    the transcribe stage has ended."""
    stage = _stage_of(database)
    assert stage not in ("captions", "index"), "transcription not seen"
    return stage == "transcribe" and at_work()


def test_killed_ingest_resumes_without_redoing_finished_stages(tmp_path: Path) -> None:
    config_file = write_config(tmp_path)
    database = tmp_path / "var" / "catalog.sqlite3"
    command = [*RECALL, "--config", str(config_file), "ingest", str(GATHERINGS)]
    at_work = whisper_is_at_work(tmp_path / "var" / "media", GATHERINGS, tmp_path)
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for(lambda: _transcribing(database, at_work), proc, timeout=120, what="Whisper")
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    assert _stage_of(database) == "transcribe"
    folder = next((tmp_path / "var" / "media").iterdir())
    playable = folder / "playable.mp4"
    made_at = playable.stat().st_mtime_ns
    assert not (folder / "transcript.vtt").exists()
    assert list(folder.glob(".*.part"))  # the killed run's scratch file, for the next to remove

    # The worker picks it up; the finished stages are not run again.
    resumed = subprocess.run(
        [*RECALL, "--config", str(config_file), "worker", "--once"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout == f"{folder.name}\tready\n"
    assert "playable" not in resumed.stderr and "transcribe" in resumed.stderr
    assert playable.stat().st_mtime_ns == made_at
    assert not list(folder.glob(".*.part"))
    assert (folder / "transcript.vtt").exists()
    # Ingesting the same file again changes nothing.
    again = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert again.stdout == f"{folder.name}\tready\n"
