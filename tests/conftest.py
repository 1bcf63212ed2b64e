"""Fixtures: media made by ffmpeg, a fresh library per test, the real Whisper model."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ingest.runner import ffmpeg_exe
from library.config import Config, parse_config
from web.services import Services, open_services

DATA = Path(__file__).parent / "data"
JFK = DATA / "jfk-inaugural-excerpt.flac"
GATHERINGS = DATA / "online-gatherings.webm"
FFMPEG = ffmpeg_exe()  # the one Recall uses: on PATH, else the imageio-ffmpeg binary


def ffmpeg(*args: str) -> None:
    subprocess.run(
        [FFMPEG, "-hide_banner", "-loglevel", "error", "-y", *args], check=True, timeout=120
    )


def _video(seconds: float) -> list[str]:
    return ["-f", "lavfi", "-i", f"testsrc2=size=320x240:rate=25:duration={seconds}"]


def _tone(seconds: float) -> list[str]:
    return ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={seconds}"]


def _make(name: str, folder: Path) -> Path:
    """One generated file by name; see MEDIA for what each is."""
    path = folder / name
    h264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    match name:
        case "h264-aac.mp4":
            ffmpeg(*_video(3), *_tone(3), *h264, "-c:a", "aac", "-shortest", str(path))
        case "h264-mp3.mov":
            ffmpeg(*_video(3), *_tone(3), *h264, "-c:a", "libmp3lame", "-shortest", str(path))
        case "vp9-opus.webm":
            ffmpeg(*_video(3), *_tone(3), "-c:v", "libvpx-vp9", "-deadline", "realtime",
                   "-cpu-used", "8", "-c:a", "libopus", "-shortest", str(path))  # fmt: skip
        case "mpeg4-mp3.avi":
            ffmpeg(*_video(3), *_tone(3), "-c:v", "mpeg4", "-c:a", "libmp3lame", "-shortest",
                   str(path))  # fmt: skip
        case "tone.wav" | "tone.mp3" | "tone.m4a":
            ffmpeg(*_tone(3), str(path))
        case "silence.wav":
            ffmpeg("-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "20", str(path))
        case "noise.wav":
            ffmpeg("-f", "lavfi", "-i", "anoisesrc=color=brown:amplitude=0.3:duration=20",
                   str(path))  # fmt: skip
        case "no-audio.mp4":
            ffmpeg(*_video(3), *h264, str(path))
        case "short.wav":
            ffmpeg("-f", "lavfi", "-i", "sine=duration=0.2", str(path))
        case "empty.mp4":
            path.write_bytes(b"")
        case "text.mp4":
            path.write_text("This is a text file, not a video.\n" * 20)
        case "image.mp4":
            ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x64", "-frames:v", "1", "-f", "image2",
                   "-c:v", "png", str(path))  # fmt: skip
        case "truncated.mp4":
            # Without +faststart the moov index is written last: cutting the file loses it.
            whole = folder / "whole.mp4"
            ffmpeg(*_video(3), *_tone(3), *h264, "-c:a", "aac", "-shortest", str(whole))
            data = whole.read_bytes()
            path.write_bytes(data[: len(data) // 2])
        case _:
            raise KeyError(name)
    return path


class MediaFactory:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __call__(self, name: str) -> Path:
        path = self.folder / name
        if not path.exists():
            _make(name, self.folder)
        return path


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> MediaFactory:
    """``media("h264-aac.mp4")``: a generated file, made once per test session."""
    return MediaFactory(tmp_path_factory.mktemp("media"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--database",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="the catalog of the libraries tests make: SQLite files (default), or a fresh "
        "database each on a private PostgreSQL server started for the session",
    )


_POSTGRES: list[Any] = []  # the private server, started by the first library that needs it


_DATABASE_KIND: list[str] = []  # "sqlite" or "postgresql", from --database


def pytest_configure(config: pytest.Config) -> None:
    _DATABASE_KIND[:] = [config.getoption("--database")]


# Fixtures that make a test slow wherever it is written: a library transcribed by Whisper, a
# browser. `pytest -m "not slow"` (the fast lane) leaves such tests out.
SLOW_FIXTURES = frozenset({"site_config", "browser"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def pytest_unconfigure(config: pytest.Config) -> None:
    for server in _POSTGRES:
        server.stop()


def database_url() -> str:
    """The catalog for a new test library: "" (SQLite in its data_dir), or with
    --database=postgresql a fresh database on the private server."""
    if not database_url_in_use():
        return ""
    return postgres_database()


def postgres_database() -> str:
    """A fresh database on the private PostgreSQL server, whatever --database says (for tests
    of what only PostgreSQL does). Skipped where PostgreSQL is not installed, except in CI."""
    if not _POSTGRES:
        from tests.postgres import PostgresServer

        try:
            _POSTGRES.append(PostgresServer())
        except RuntimeError as e:
            if os.environ.get("CI") or "not installed" not in str(e):
                raise
            pytest.skip(str(e))
    return str(_POSTGRES[0].new_database())


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A private redis-server on a free port, for as long as the test runs."""
    server = shutil.which("redis-server")
    if server is None:
        if os.environ.get("CI"):
            raise RuntimeError("CI needs redis-server: apt-get install redis-server")
        pytest.skip("redis-server is not installed")
    port = free_port()
    proc = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    wait_for(lambda: listening(port), proc, timeout=60, what="redis-server")
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=30)


def library_config(base: Path, raw: dict[str, Any] | None = None, source: str = "test") -> Config:
    """parse_config for a test library, its catalog as --database says."""
    raw = dict(raw or {})
    url = database_url()
    if url:
        raw["library"] = {**raw.get("library", {}), "database_url": url}
    return parse_config(raw, base, source)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return library_config(tmp_path / "home")


@pytest.fixture
def services(config: Config) -> Iterator[Services]:
    s = open_services(config)
    yield s
    s.close()


def copy_library(source: Path, folder: Path) -> Path:
    """A private copy of the test library in ``source`` (a folder whose config.toml and data
    are relative to it), in ``folder``: a library built once per session is changed by each
    test only in its own copy. With --database=postgresql the catalog is not in the folder,
    so the copy would share it: callers build a fresh library there instead."""
    assert not database_url_in_use(), "a PostgreSQL catalog cannot be copied with the folder"
    shutil.copytree(source, folder, dirs_exist_ok=True)
    return folder


def database_url_in_use() -> bool:
    """Whether test libraries keep their catalog outside their folder (--database)."""
    return _DATABASE_KIND[:1] == ["postgresql"]


def write_config(folder: Path) -> Path:
    """A config file whose data lives in ``folder``/var (for the CLI)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.toml"
    # Keyword search only: each `recall` process these tests start would otherwise load
    # PyTorch for semantic search (~10 s); in-process tests and test_relevance cover it.
    url = database_url()
    catalog = f'database_url = "{url}"\n' if url else ""
    path.write_text(f'[library]\ndata_dir = "var"\n{catalog}\n[index]\nsemantic = "off"\n')
    return path


# The installed console script, as a user runs it; "python -m web" where it is not installed.
_SCRIPT = Path(sys.executable).with_name("recall")
RECALL = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "web"]


def run_recall(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "RECALL_CONFIG"}
    return subprocess.run(
        [*RECALL, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


def wait_for(
    predicate: Callable[[], object],
    proc: subprocess.Popen[Any] | None = None,
    *,
    timeout: float = 240,
    what: str = "the condition",
) -> None:
    """Poll ``predicate`` until it holds; fail on ``timeout``, or at once if ``proc`` (the
    process that should make it hold) has ended."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        if proc is not None:
            assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)


def whisper_is_at_work(folder: Path, source: Path, tmp: Path) -> Callable[[], bool]:
    """A predicate for "the transcribe stage is in the middle of its work" on ``source`` in
    the library media ``folder`` (one recording's, or the media folder of a library with one):
    the stage's scratch file holds all of the decoded audio (ffmpeg is done; Whisper has it)
    and is still there (the stage removes it as it ends). The catalog's progress is not used:
    it is written only every few seconds, and batched Whisper reports in bursts."""
    from ingest.audio import decode_pcm

    whole = decode_pcm(source, tmp / "expected.s16le").path.stat().st_size

    def at_work() -> bool:
        found = [*folder.glob(".audio.s16le.part"), *folder.glob("*/.audio.s16le.part")]
        try:
            return any(p.stat().st_size == whole for p in found)
        except FileNotFoundError:  # removed between glob and stat: the stage ended
            return False

    return at_work


@contextlib.contextmanager
def served(config: Config, threads: int = 4) -> Iterator[str]:
    """The site for ``config`` on waitress in a thread; yields its base URL."""
    from waitress.server import create_server

    from web.app import create_app

    app = create_app(config)
    httpd = create_server(app, host="127.0.0.1", port=0, threads=threads)
    thread = threading.Thread(target=httpd.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.effective_port}"
    finally:
        httpd.close()
        app.extensions["recall"].close()


@pytest.fixture(scope="session")
def site_config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    """A library with the two speech recordings (audio-only JFK, the WebM talk as video)."""
    from library.models import RecordingMeta

    config = library_config(tmp_path_factory.mktemp("site"), source="site")
    services = open_services(config)
    try:
        for path, meta in (
            (JFK, RecordingMeta(title="Inaugural address", event="1961",
                                speakers=("John F. Kennedy",))),
            (GATHERINGS, RecordingMeta(title="Online gatherings people enjoy",
                                       event="HLS Week 2022", speakers=("Priya Natarajan",))),
        ):  # fmt: skip
            recording = services.pipeline.ingest(path, meta)
            assert recording.status.value == "ready", recording.error
    finally:
        services.close()
    return config


PASSWORD = "a long enough passphrase"


# Catalogs holding one account, made once per session: (email, role) -> (catalog, token).
# Hashing the password (scrypt) and creating the catalog cost ~0.2 s, paid otherwise by each
# of the many parametrized sign-in and upload tests.
_ACCOUNT_CATALOGS: dict[tuple[str, str], tuple[Path, str]] = {}
_SESSION_TMP: list[pytest.TempPathFactory] = []


@pytest.fixture(scope="session", autouse=True)
def _session_tmp(tmp_path_factory: pytest.TempPathFactory) -> None:
    _SESSION_TMP[:] = [tmp_path_factory]


def _added(config: Config, email: str, role: str) -> str:
    from library.models import Role

    services = open_services(config)
    try:
        return services.users.add(email, PASSWORD, Role(role))[1]
    finally:
        services.close()


def add_account(config: Config, email: str, role: str) -> str:
    """An account in ``config``'s library; returns its API token. A library not made yet
    (SQLite) gets a copy of a catalog holding only that account, made once per session."""
    catalog = config.data_dir / "catalog.sqlite3"
    fresh = not config.data_dir.exists() and config.database_url == f"sqlite:///{catalog}"
    if not fresh or not _SESSION_TMP:
        return _added(config, email, role)
    if (email, role) not in _ACCOUNT_CATALOGS:
        template = parse_config({}, _SESSION_TMP[0].mktemp("account"), "account")  # SQLite
        token = _added(template, email, role)
        _ACCOUNT_CATALOGS[email, role] = (template.data_dir / "catalog.sqlite3", token)
    source, token = _ACCOUNT_CATALOGS[email, role]
    config.data_dir.mkdir(parents=True)
    for part in source.parent.glob(f"{source.name}*"):  # with -wal/-shm if any were left
        shutil.copyfile(part, config.data_dir / part.name)
    return token


def csrf_token(client: object, path: str = "/login") -> str:
    import re

    page = client.get(path).get_data(as_text=True)  # type: ignore[attr-defined]
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        r'name="csrf-token" content="([^"]+)"', page
    )
    assert found, page
    return found.group(1)


def sign_in(client: object, email: str, password: str = PASSWORD) -> object:
    token = csrf_token(client)
    return client.post(  # type: ignore[attr-defined]
        "/login", data={"email": email, "password": password, "csrf_token": token}
    )


class BufferedClient(FlaskClient):
    """Reads each response whole and closes it: files sent with send_file are not left open."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        response = super().open(*args, **kwargs)
        response.get_data()
        response.close()
        return response


@contextlib.contextmanager
def app_for(config: Config) -> Iterator[Flask]:
    """The site for ``config``, with buffered test clients; its services closed after."""
    from web.app import create_app

    app = create_app(config)
    app.config["TESTING"] = True
    app.test_client_class = BufferedClient
    try:
        yield app
    finally:
        app.extensions["recall"].close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of the module's ``app`` fixture."""
    return app.test_client()


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
    "--mute-audio",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium, driven by Playwright (its own browser download is never
    used). Skipped where it is not installed, except in CI."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            raise RuntimeError("CI needs Debian's chromium: apt-get install chromium")
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    p = context.new_page()
    yield p
    context.close()
