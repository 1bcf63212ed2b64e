"""Staying up: /healthz and /readyz, the Jobs page's notice when no worker runs, `recall
doctor`, and `recall serve` starting its worker again when it dies."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from ingest.liveness import beacon, workers_dir
from library.config import Config, parse_config
from tests.conftest import (
    RECALL,
    add_account,
    app_for,
    free_port,
    run_recall,
    sign_in,
    wait_for,
    write_config,
)
from web.supervise import WorkerSupervisor

TIMEOUT = 120


def test_healthz_and_readyz_answer_200_when_well(config: Config) -> None:
    with app_for(config) as app:
        client = app.test_client()
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.json
        assert ready.json["status"] == "ready" and ready.json["failing"] == []
        assert set(ready.json["checks"]) == {"catalog", "index", "queue", "disk"}
        assert str(config.data_dir) not in ready.get_data(as_text=True)
        assert "no-store" in ready.headers["Cache-Control"]


def test_readyz_is_503_naming_low_disk_space(config: Config) -> None:
    low = dataclasses.replace(config.library, min_free_mb=10**12)
    with app_for(dataclasses.replace(config, library=low)) as app:
        ready = app.test_client().get("/readyz")
        assert ready.status_code == 503
        assert ready.json["failing"] == ["disk"]
        assert "below the" in ready.json["checks"]["disk"]
        assert app.test_client().get("/healthz").status_code == 200


def test_readyz_is_503_naming_a_catalog_that_cannot_be_opened(config: Config) -> None:
    with app_for(config) as app:
        database = config.data_dir / "catalog.sqlite3"
        app.extensions["recall"].catalog.engine.dispose()
        for leftover in config.data_dir.glob("catalog.sqlite3*"):
            leftover.unlink()
        database.mkdir()  # a directory where the database file was: SQLite cannot open it
        ready = app.test_client().get("/readyz")
        assert ready.status_code == 503
        assert ready.json["failing"] == ["catalog"]
        assert str(config.data_dir) not in ready.get_data(as_text=True)


def test_jobs_page_and_api_say_plainly_when_no_worker_is_running(config: Config) -> None:
    add_account(config, "ana@example.org", "staff")
    with app_for(config) as app:
        client = app.test_client()
        sign_in(client, "ana@example.org")
        api = client.get("/api/jobs")
        assert api.status_code == 200 and api.json == []
        assert "No worker is running: jobs will wait" in api.headers["Warning"]
        assert api.headers["Recall-Workers"] == "0"
        page = client.get("/jobs").get_data(as_text=True)
        assert "No worker is running: jobs will wait" in page
        with beacon(config.data_dir):
            api = client.get("/api/jobs")
            assert "Warning" not in api.headers and api.headers["Recall-Workers"] == "1"
            page = client.get("/jobs").get_data(as_text=True)
            assert 'id="no-worker" role="status" hidden' in page
        assert not list(workers_dir(config.data_dir).iterdir())  # a clean stop says so


@pytest.mark.slow
def test_doctor_prints_one_line_per_part_and_exits_1_when_one_fails(tmp_path: Path) -> None:
    write_config(tmp_path)
    well = run_recall("doctor", cwd=tmp_path)
    assert well.returncode == 0, well.stdout + well.stderr
    lines = well.stdout.splitlines()
    assert [line.split("\t")[1] for line in lines] == [
        "ffmpeg", "model", "limits", "catalog", "index", "queue", "disk",
    ]  # fmt: skip
    assert all(line.startswith("ok\t") for line in lines)

    config = tmp_path / "config.toml"
    config.write_text(config.read_text().replace('"var"', '"var"\nmin_free_mb = 1000000000000'))
    low = run_recall("doctor", cwd=tmp_path)
    assert low.returncode == 1
    assert [line.split("\t")[0] for line in low.stdout.splitlines()].count("FAILED") == 1
    assert low.stdout.splitlines()[-1].startswith("FAILED\tdisk\t")


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return 0


def _worker_pids(data_dir: Path) -> set[int]:
    folder = workers_dir(data_dir)
    names = [p.name for p in folder.iterdir()] if folder.is_dir() else []
    return {int(name.rpartition(":")[2]) for name in names}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.slow
def test_serve_starts_its_worker_again_when_it_is_killed(tmp_path: Path) -> None:
    config_file = write_config(tmp_path)
    config = parse_config({"library": {"data_dir": "var"}}, tmp_path)
    port = free_port()
    site = subprocess.Popen(
        [*RECALL, "--config", str(config_file), "serve", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _get(f"{base}/healthz") == 200, site, timeout=TIMEOUT)
        wait_for(lambda: _worker_pids(config.data_dir), site, timeout=TIMEOUT)
        (first,) = _worker_pids(config.data_dir)
        os.kill(first, signal.SIGKILL)
        wait_for(lambda: _worker_pids(config.data_dir) - {first}, site, timeout=TIMEOUT)
        (second,) = _worker_pids(config.data_dir) - {first}
        assert _alive(second)
        assert _get(f"{base}/readyz") == 200
        body = json.loads(urllib.request.urlopen(f"{base}/readyz", timeout=5).read())
        assert body["status"] == "ready"
    finally:
        site.send_signal(signal.SIGINT)
        _, err = site.communicate(timeout=60)
    assert f"The worker (pid {first}) ended with status -9; starting another in 1 s." in err
    deadline = time.monotonic() + 30
    while _alive(second) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(second), "the worker outlived the site"


def test_a_worker_that_keeps_dying_is_started_again_ever_more_slowly(
    capfd: pytest.CaptureFixture[str],
) -> None:
    supervisor = WorkerSupervisor([sys.executable, "-c", "raise SystemExit(3)"], first=0.1)
    supervisor.start()
    deadline = time.monotonic() + 60
    while supervisor.restarts < 3:
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    started = time.monotonic()
    supervisor.stop()  # also while it waits to start the next one
    assert time.monotonic() - started < 5
    err = capfd.readouterr().err
    for wait in ("0.1", "0.2", "0.4"):
        assert f"ended with status 3; starting another in {wait} s." in err
