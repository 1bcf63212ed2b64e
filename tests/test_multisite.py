"""Several site processes and workers sharing one library: PostgreSQL, Redis and data_dir.

Two `recall serve` processes and two `recall worker` processes run on this machine as they
would behind one proxy: what one site takes in, the other shows; guesses spread over both sites
count against one sign-in limit; a worker killed mid-job hands the job to the other.
"""

from __future__ import annotations

import base64
import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from library.config import load_config, parse_config
from library.errors import ConfigError
from tests.conftest import (
    DATA,
    JFK,
    PASSWORD,
    RECALL,
    add_account,
    app_for,
    free_port,
    postgres_database,
    run_recall,
    sign_in,
    write_config,
)
from web import throttle

TIMEOUT = 300
FOOD_BANK = DATA / "food-bank-volunteers.mp3"


# -- the sign-in limits in Redis ---------------------------------------------------------------


def test_limits_url_takes_redis_or_memory_and_names_anything_else(tmp_path: Path) -> None:
    for url in ("", "memory://", "redis://127.0.0.1:6379/1", "rediss://h/0", "unix:///r.sock"):
        assert parse_config({"web": {"limits_url": url}}, tmp_path).web.limits_url == url
    for url in ("http://127.0.0.1:6379", "127.0.0.1:6379", "memcached://x"):
        with pytest.raises(ConfigError, match=r"web\.limits_url must be empty, memory:// or"):
            parse_config({"web": {"limits_url": url}}, tmp_path)


def _from(client: Any, address: str) -> Any:
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_two_sites_with_one_limits_url_count_guesses_together(
    tmp_path: Path, redis_url: str
) -> None:
    config = parse_config({"web": {"limits_url": redis_url}}, tmp_path)
    add_account(config, "ana@example.org", "staff")
    with app_for(config) as a, app_for(config) as b:
        sites = [_from(a.test_client(), "203.0.113.9"), _from(b.test_client(), "203.0.113.9")]
        statuses = [
            sign_in(sites[n % 2], "ana@example.org", "wrong").status_code  # type: ignore[attr-defined]
            for n in range(6)
        ]
        assert statuses == [401] * 5 + [429]
        refused = sign_in(sites[1], "ana@example.org")
        assert refused.status_code == 429  # type: ignore[attr-defined]
        assert 0 < int(refused.headers["Retry-After"]) <= 15 * 60  # type: ignore[attr-defined]
        # The owner elsewhere is not locked out, on either site.
        owner = _from(b.test_client(), "198.51.100.7")
        assert sign_in(owner, "ana@example.org").status_code == 302  # type: ignore[attr-defined]


def test_sign_in_goes_on_counting_in_memory_while_redis_is_down(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = parse_config({"web": {"limits_url": f"redis://127.0.0.1:{port}/0"}}, tmp_path)
    add_account(config, "ana@example.org", "staff")
    with app_for(config) as app:
        guesser = _from(app.test_client(), "203.0.113.9")
        statuses = [
            sign_in(guesser, "ana@example.org", "wrong").status_code  # type: ignore[attr-defined]
            for _ in range(6)
        ]
        assert statuses == [401] * 5 + [429]  # never a 500; the limit holds in this process
        owner = _from(app.test_client(), "198.51.100.7")
        assert sign_in(owner, "ana@example.org").status_code == 302  # type: ignore[attr-defined]


def test_doctor_says_whether_the_sign_in_limits_are_shared(tmp_path: Path, redis_url: str) -> None:
    alone = parse_config({}, tmp_path).web
    assert throttle.check_storage(alone) == "counted in each site process's memory"
    shared = parse_config({"web": {"limits_url": redis_url}}, tmp_path).web
    assert throttle.check_storage(shared) == "shared in Redis"
    config_file = write_config(tmp_path / "home")
    config_file.write_text(
        config_file.read_text() + f'\n[web]\nlimits_url = "redis://127.0.0.1:{free_port()}/0"\n'
    )
    down = run_recall("doctor", cwd=tmp_path / "home")
    assert down.returncode == 1
    assert "FAILED\tlimits\tunavailable (ConnectionError): Redis does not answer" in down.stdout


# -- two sites and two workers -----------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any) -> None:
        return None  # a 302 is answered as it is


class Browser:
    """One visitor's cookies on one site, over real HTTP."""

    def __init__(self, base: str, jar: http.cookiejar.CookieJar | None = None) -> None:
        self.base = base
        self.jar = jar if jar is not None else http.cookiejar.CookieJar()
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect
        )

    def request(
        self, path: str, data: bytes | None = None, method: str | None = None, **headers: str
    ) -> tuple[int, dict[str, str], bytes]:
        names = {k.replace("_", "-"): v for k, v in headers.items()}  # Upload_Length=...
        request = urllib.request.Request(self.base + path, data, names, method=method)
        try:
            with self._opener.open(request, timeout=30) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()
        except urllib.error.URLError:  # not listening yet
            return 0, {}, b""

    def sign_in(self, email: str, password: str) -> int:
        page = self.request("/login")[2].decode()
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        assert token, page
        form = {"email": email, "password": password, "csrf_token": token.group(1)}
        return self.request("/login", urllib.parse.urlencode(form).encode())[0]

    def sign_out(self) -> int:
        page = self.request("/logout")[2].decode()
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        assert token, page
        form = urllib.parse.urlencode({"csrf_token": token.group(1)}).encode()
        return self.request("/logout", form)[0]

    def upload(self, path: Path, title: str, api_token: str) -> str:
        """A tus upload in one piece; the new recording's id."""
        auth = {"Authorization": f"Bearer {api_token}", "Tus_Resumable": "1.0.0"}
        meta = ",".join(
            f"{k} {base64.b64encode(v.encode()).decode()}"
            for k, v in (("filename", path.name), ("title", title))
        )
        size = str(path.stat().st_size)
        status, headers, body = self.request(
            "/api/uploads", b"", "POST", **auth, Upload_Length=size, Upload_Metadata=meta
        )
        assert status == 201, body
        status, headers, body = self.request(
            headers["Location"], path.read_bytes(), "PATCH", **auth, Upload_Offset="0",
            Content_Type="application/offset+octet-stream",
        )  # fmt: skip
        assert status == 204, body
        return headers["Recall-Recording"]


def _wait(predicate: Callable[[], object], procs: list[subprocess.Popen[str]]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        for proc in procs:
            assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)


def _job(database: str, rid: str) -> tuple[str, str, str]:
    """A recording's status, stage and worker as the catalog holds them now."""
    engine = create_engine(database)
    try:
        with engine.connect() as db:
            row = db.execute(
                text("SELECT status, stage, worker FROM recordings WHERE id = :id"), {"id": rid}
            ).fetchone()
    finally:
        engine.dispose()
    return (row[0], row[1], row[2] or "") if row else ("", "", "")


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test starts; interrupted (killed if they linger) when it ends."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
    for proc in started:
        try:
            proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def _start(processes: list[subprocess.Popen[str]], *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "RECALL_CONFIG"}
    proc = subprocess.Popen(
        [*RECALL, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    processes.append(proc)
    return proc


def _stop(proc: subprocess.Popen[str]) -> tuple[str, str]:
    proc.send_signal(signal.SIGINT)
    return proc.communicate(timeout=60)


@pytest.mark.slow
def test_two_sites_and_two_workers_share_one_library(
    tmp_path: Path, redis_url: str, processes: list[subprocess.Popen[str]]
) -> None:
    started = time.monotonic()
    config_file = tmp_path / "config.toml"
    # lease_seconds = 10: each worker looks for a dead worker's job every 10 s.
    config_file.write_text(
        f'[library]\ndata_dir = "var"\ndatabase_url = "{postgres_database()}"\n\n'
        f'[index]\nsemantic = "off"\n\n'
        f'[jobs]\nqueue_url = "{redis_url}"\nlease_seconds = 10.0\n\n'
        f'[web]\nlimits_url = "{redis_url}"\n'
    )
    config = load_config(config_file)
    token = add_account(config, "ana@example.org", "staff")
    add_account(config, "ben@example.org", "staff")
    ports = [free_port(), free_port()]
    sites = [
        _start(processes, "--config", str(config_file), "serve", "--no-worker", "--port", str(p))
        for p in ports
    ]
    workers = [
        _start(processes, "--config", str(config_file), "worker", "--interval", "0.2")
        for _ in range(2)
    ]
    a, b = (Browser(f"http://127.0.0.1:{p}") for p in ports)
    _wait(lambda: a.request("/healthz")[0] == 200 and b.request("/healthz")[0] == 200, sites)

    # An upload through site A is transcribed by one worker, searchable and playable on B.
    first = a.upload(JFK, "Inaugural address", token)
    _wait(lambda: _job(config.database_url, first)[0] == "ready", workers)
    found = json.loads(b.request("/api/search?q=ask+not+what+your+country")[2])
    assert found["hits"] and {h["recording_id"] for h in found["hits"]} == {first}
    (playable,) = (config.media_dir / first).glob("playable.*")
    status, _, body = b.request(f"/media/{first}/{playable.name}", Range="bytes=0-99")
    assert status == 206 and len(body) == 100
    assert body == playable.read_bytes()[:100]

    # A session begun on A works on B; signing out on B ends it on A too.
    assert a.sign_in("ana@example.org", PASSWORD) == 302
    copied = http.cookiejar.CookieJar()  # the cookie as it was, copied before signing out
    for cookie in a.jar:
        copied.set_cookie(cookie)
    on_b = Browser(b.base, a.jar)  # the same browser: cookies do not depend on the port
    assert on_b.request("/jobs")[0] == 200
    assert on_b.sign_out() == 302
    assert a.request("/jobs")[0] == 302
    assert Browser(a.base, copied).request("/jobs")[0] == 302

    # Five wrong passwords split across A and B trip one shared limit.
    guesses = [(a, b)[n % 2].sign_in("ben@example.org", "wrong") for n in range(5)]
    assert guesses == [401] * 5
    assert a.sign_in("ben@example.org", PASSWORD) == 429
    assert b.sign_in("ben@example.org", PASSWORD) == 429

    # Killing a worker mid-job hands the job to the other.
    rid = b.upload(FOOD_BANK, "Food bank volunteers", token)
    _wait(lambda: _job(config.database_url, rid)[2], workers)
    holder = int(_job(config.database_url, rid)[2].split(":")[1])
    (victim,) = [w for w in workers if w.pid == holder]
    (survivor,) = [w for w in workers if w.pid != holder]
    stage = _job(config.database_url, rid)[1]
    os.kill(victim.pid, signal.SIGKILL)
    killed = time.monotonic()
    outputs = [victim.communicate()]
    _wait(lambda: f":{survivor.pid}:" in _job(config.database_url, rid)[2], [survivor])
    handover = time.monotonic() - killed
    _wait(lambda: _job(config.database_url, rid)[0] == "ready", [survivor])
    outputs.append(_stop(survivor))
    assert f"{rid}\tready" in outputs[1][0].splitlines(), outputs[1][1]
    # The first upload was transcribed by exactly one of the two.
    assert [f"{JFK.name}: transcribe" in err for _, err in outputs].count(True) == 1
    assert [f"{first}\tready" in out.splitlines() for out, _ in outputs].count(True) == 1
    found = json.loads(a.request("/api/search?q=volunteers")[2])
    assert rid in {h["recording_id"] for h in found["hits"]}
    print(
        f"killed in stage {stage!r}; handover {handover:.1f} s; "
        f"whole test {time.monotonic() - started:.0f} s"
    )
    assert handover < 10 + 5  # one look for dead workers' jobs (lease_seconds), and a start
