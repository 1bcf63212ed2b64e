"""Background jobs: one worker per job, cancel and retry, and a killed worker's job resumed."""

import os
import shutil
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from ingest import intake
from ingest.lease import is_abandoned
from ingest.manage import cancel, requeue
from library.clock import utc_now
from library.config import Config, load_config, parse_config
from library.models import RecordingMeta, Status
from tests.conftest import (
    GATHERINGS,
    JFK,
    RECALL,
    MediaFactory,
    add_account,
    app_for,
    wait_for,
    whisper_is_at_work,
    write_config,
)
from web.services import Services, open_services

TIMEOUT = 240


def _added(services: Services, source: Path, tmp_path: Path, title: str) -> str:
    """An upload's path: the file moved into the library and its job queued."""
    copy = tmp_path / f"upload-{source.name}"
    shutil.copyfile(source, copy)
    s, meta = services, RecordingMeta(title=title)
    added = intake.add(s.catalog, s.storage, copy, meta, s.config.ingest, name=source.name)
    services.jobs.enqueue(added.recording.id)
    return added.recording.id


def test_only_one_worker_can_hold_a_job(services: Services, media: MediaFactory) -> None:
    meta = RecordingMeta(title="t")
    submitted = intake.submit(services.catalog, media("tone.wav"), meta, services.config.ingest)
    recording = submitted.recording
    never = lambda worker, heartbeat: False  # noqa: E731
    always = lambda worker, heartbeat: True  # noqa: E731
    assert services.catalog.claim(recording.id, "a:1:1", never) is not None
    assert services.catalog.claim(recording.id, "b:2:2", never) is None
    # A holder taken for dead is replaced by exactly one claimant.
    assert services.catalog.claim(recording.id, "b:2:2", always) is not None
    assert services.catalog.claim(recording.id, "c:3:3", never) is None
    assert services.catalog.heartbeat(recording.id, "a:1:1", progress=0.5) is None  # not a's
    assert services.catalog.heartbeat(recording.id, "b:2:2", progress=0.5) == Status.QUEUED
    services.catalog.release(recording.id, "b:2:2")
    assert services.catalog.claim(recording.id, "c:3:3", never) is not None


def test_a_dead_worker_on_this_machine_is_noticed_at_once(services: Services) -> None:
    import socket

    host = socket.gethostname()
    lease_seconds = services.config.jobs.lease_seconds
    assert is_abandoned(f"{host}:{os.getpid()}:1", None, lease_seconds) is False
    proc = subprocess.Popen(["true"])
    proc.wait()  # reaped: its pid is free now
    assert is_abandoned(f"{host}:{proc.pid}:1", None, lease_seconds) is True
    # Elsewhere only the heartbeat's age tells.
    import datetime as dt

    now = utc_now()
    assert is_abandoned("elsewhere:1:1", now, lease_seconds) is False
    assert is_abandoned("elsewhere:1:1", now - dt.timedelta(minutes=5), lease_seconds)


def test_staff_cancel_a_waiting_job_and_retry_it_over_the_api(
    config: Config, media: MediaFactory
) -> None:
    token = add_account(config, "jobs@example.org", "staff")
    with app_for(config) as app:
        services = app.extensions["recall"]
        meta = RecordingMeta(title="Waiting")
        rid = intake.submit(services.catalog, media("tone.wav"), meta, config.ingest).recording.id
        client = app.test_client()
        auth = {"Authorization": f"Bearer {token}"}
        cancelled = client.post(f"/api/jobs/{rid}/cancel", headers=auth)
        assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
        assert client.post(f"/api/jobs/{rid}/cancel", headers=auth).status_code == 409
        retried = client.post(f"/api/jobs/{rid}/retry", headers=auth)
        assert retried.status_code == 200 and retried.get_json()["status"] == "queued"
        assert client.post(f"/api/jobs/{rid}/retry", headers=auth).status_code == 409
        assert services.catalog.get(rid).status == Status.QUEUED


@pytest.mark.slow
def test_cancel_then_retry(services: Services, tmp_path: Path) -> None:
    rid = _added(services, JFK, tmp_path, "Inaugural")
    assert cancel(services.catalog, rid).status == Status.CANCELLED
    services.jobs.drain()  # the queued task finds the job cancelled and does nothing
    assert services.catalog.get(rid).status == Status.CANCELLED
    assert services.catalog.get(rid).stages_done == ("store",)
    requeue(services.catalog, rid)
    services.jobs.enqueue(rid)
    services.jobs.drain()
    recording = services.catalog.get(rid)
    assert recording.status == Status.READY and recording.worker == ""
    assert services.index.search("ask not what your country").hits[0].recording_id == rid


def _status(database: str, rid: str) -> tuple[str, str]:
    """A recording's status and stage as the catalog (SQLite or PostgreSQL) holds them now."""
    engine = create_engine(database)
    try:
        with engine.connect() as db:
            query = text("SELECT status, stage FROM recordings WHERE id = :id")
            row = db.execute(query, {"id": rid}).fetchone()
    except OperationalError:  # SQLite: busy, or the file not there yet
        return "", ""
    finally:
        engine.dispose()
    return (row[0], row[1]) if row else ("", "")


def _transcribing(database: str, rid: str, at_work: Callable[[], bool]) -> bool:
    """Whether Whisper is at work on the recording (see whisper_is_at_work); fails at once if
    the transcribe stage has ended."""
    status, stage = _status(database, rid)
    assert status != "ready" and stage not in ("captions", "index"), "transcription not seen"
    return stage == "transcribe" and at_work()


def _worker(config_file: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*RECALL, "--config", str(config_file), "worker", "--interval", "0.2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _stop(proc: subprocess.Popen[str]) -> tuple[str, str]:
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    return out, err


@pytest.mark.slow
def test_a_killed_worker_s_job_resumes_and_ends_consistent(tmp_path: Path) -> None:
    config_file = write_config(tmp_path)
    config = load_config(config_file)  # the workers' own configuration, the same catalog
    database = config.database_url
    services = open_services(config)
    try:
        rid = _added(services, GATHERINGS, tmp_path, "Online gatherings")
    finally:
        services.close()
    at_work = whisper_is_at_work(config.media_dir / rid, GATHERINGS, tmp_path)
    first = _worker(config_file)
    wait_for(lambda: _transcribing(database, rid, at_work), first, timeout=TIMEOUT)
    os.kill(first.pid, signal.SIGKILL)
    first.communicate()
    assert _status(database, rid) == ("processing", "transcribe")
    assert list((config.media_dir / rid).glob(".*.part"))  # its scratch file, left behind
    playable = config.media_dir / rid / "playable.mp4"
    made_at = playable.stat().st_mtime_ns

    second = _worker(config_file)
    wait_for(lambda: _status(database, rid)[0] == "ready", second, timeout=TIMEOUT)
    out, err = _stop(second)
    assert out == f"{rid}\tready\n", err
    assert "playable" not in err and "transcribe" in err
    assert playable.stat().st_mtime_ns == made_at
    services = open_services(config)
    try:
        recording = services.catalog.get(rid)
        assert recording.worker == "" and recording.status == Status.READY
        segments = services.catalog.segments(rid)
        assert segments and (config.media_dir / rid / "transcript.vtt").exists()
        hits = services.index.search("online gatherings").hits
        assert hits and all(h.recording_id == rid for h in hits)
        assert not list((config.media_dir / rid).glob(".*.part"))
    finally:
        services.close()


@pytest.mark.slow
@pytest.mark.parametrize("queue", ["sqlite", "redis"])
def test_two_workers_never_process_the_same_job(
    tmp_path: Path, queue: str, request: pytest.FixtureRequest
) -> None:
    config_file = write_config(tmp_path)
    if queue == "redis":
        url = request.getfixturevalue("redis_url")
        config_file.write_text(config_file.read_text() + f'\n[jobs]\nqueue_url = "{url}"\n')
    config = load_config(config_file)  # the workers' own configuration
    services = open_services(config)
    try:
        ids = [_added(services, path, tmp_path, path.stem) for path in (GATHERINGS, JFK)]
        for rid in ids:  # queued twice: the second task must find the job held or done
            services.jobs.enqueue(rid)
    finally:
        services.close()
    workers = [_worker(config_file), _worker(config_file)]
    database = config.database_url
    wait_for(lambda: all(_status(database, r)[0] == "ready" for r in ids), timeout=TIMEOUT)
    outputs = [_stop(w) for w in workers]
    finished = sorted(line for out, _ in outputs for line in out.splitlines())
    assert finished == sorted(f"{rid}\tready" for rid in ids)
    for name in (GATHERINGS.name, JFK.name):
        transcribed_by = [err for _, err in outputs if f"{name}: transcribe" in err]
        assert len(transcribed_by) == 1, name


@pytest.mark.slow
def test_a_failing_job_does_not_block_the_others_and_can_be_retried(
    services: Services, tmp_path: Path
) -> None:
    broken = _added(services, GATHERINGS, tmp_path, "Broken")
    fine = _added(services, JFK, tmp_path, "Fine")
    source = services.storage.file(broken, services.catalog.get(broken).source_file)
    kept = tmp_path / "kept.webm"
    source.rename(kept)  # the stored original vanished: its first stage cannot read it
    services.jobs.drain()
    failed = services.catalog.get(broken)
    assert failed.status == Status.FAILED and failed.stage == "playable"
    assert "source.webm" in failed.error and "Traceback" not in failed.error
    assert services.catalog.get(fine).status == Status.READY
    kept.rename(source)
    requeue(services.catalog, broken)
    services.jobs.enqueue(broken)
    services.jobs.drain()
    assert services.catalog.get(broken).status == Status.READY


def test_an_unreachable_queue_never_loses_an_upload(tmp_path: Path, media: MediaFactory) -> None:
    config = parse_config({"jobs": {"queue_url": "redis://127.0.0.1:1/0"}}, tmp_path)
    services = open_services(config)
    try:
        meta = RecordingMeta(title="t")
        submitted = intake.submit(services.catalog, media("tone.wav"), meta, config.ingest)
        recording = submitted.recording
        services.jobs.enqueue(recording.id)  # logged, not raised
        assert services.catalog.get(recording.id).status == Status.QUEUED  # recover() finds it
    finally:
        services.close()
    # A worker on a queue that can be reached (here the same library's SQLite queue) finds the
    # upload in the catalog and queues it.
    services = open_services(parse_config({}, tmp_path))
    try:
        assert services.jobs.pending_ids() == set()
        assert services.jobs.recover() == [recording.id]
        assert services.jobs.pending_ids() == {recording.id}
        assert services.jobs.recover() == []  # queued once, however often a worker looks
    finally:
        services.close()
