"""Hostile or unusual input: odd titles, cue text, file names, upload headers, anonymous API
reads. Each test failed before its fix."""

from __future__ import annotations

import base64
import contextlib
import html
import io
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ingest.captions import write_srt, write_txt, write_vtt
from ingest.manage import parse_captions
from ingest.probe import probe
from library.config import Config, parse_config
from library.models import MediaInfo, RecordingMeta, Segment, Status, Visibility
from library.timecode import clock
from tests.conftest import (
    MediaFactory,
    add_account,
    app_for,
    csrf_token,
    ffmpeg,
    run_recall,
    served,
    sign_in,
    write_config,
)
from web.services import Services, open_services

XSS_TITLE = "\"'><img src=x onerror=alert(1)>"
ODD_TITLES = ["Keynote — day 1", "Don’t stop", "日本の会議", "Launch 🚀", "Two\nlines", "日本"]


def _add(config: Config, title: str, status: Status, **changes: object) -> str:
    services = open_services(config)
    try:
        info = MediaInfo("mov,mp4,m4a,3gp,3g2,mj2", 60.0, "aac", "h264", 320, 240, "yuv420p")
        recording = services.catalog.add(
            RecordingMeta(title=title, visibility=Visibility.PUBLIC),
            f"{title[:10]}.mp4",
            f"hash-{title}-{status}",
            info,
        )
        services.catalog.replace_segments(
            recording.id, [Segment(1.0, 4.0, "Q&A: is a < b? Yes & no.")]
        )
        services.catalog.update(recording.id, status=status, **changes)
        return recording.id
    finally:
        services.close()


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Config:
    """Recordings added straight to the catalog (no media files): odd titles, and one queued
    and one failed recording the library page does not show."""
    config = parse_config({}, tmp_path_factory.mktemp("input"), "input")
    for title in [*ODD_TITLES, XSS_TITLE]:
        _add(config, title, Status.READY)
    _add(config, "Waiting in the queue", Status.QUEUED)
    _add(config, "Broken upload", Status.FAILED, error="ffmpeg failed: /srv/secret/path")
    return config


@pytest.fixture
def app(library: Config) -> Iterator[Flask]:
    with app_for(library) as app:
        yield app


def _ids(client: FlaskClient, headers: dict[str, str] | None = None) -> dict[str, str]:
    listed = client.get("/api/recordings", headers=headers or {}).get_json()
    return {r["title"]: r["id"] for r in listed}


def _all_ids(library: Config) -> dict[str, str]:
    services = open_services(library)
    try:
        return {r.title: r.id for r in services.catalog.recordings()}
    finally:
        services.close()


# -- 11: downloads of titles outside Latin-1 ------------------------------------------------


@pytest.mark.parametrize("title", ODD_TITLES)
@pytest.mark.parametrize("fmt", ["vtt", "srt", "txt", "json"])
def test_transcript_downloads_name_any_title(
    client: FlaskClient, library: Config, title: str, fmt: str
) -> None:
    rid = _all_ids(library)[title]
    response = client.get(f"/api/recordings/{rid}/transcript.{fmt}?download=1")
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    disposition.encode("latin-1")  # a header value the server can send
    assert "\n" not in disposition and "\r" not in disposition
    assert disposition.startswith('attachment; filename="') or disposition.startswith(
        "attachment; filename="
    )
    shown = " ".join(title.split())
    if shown.isascii():
        assert f'"{shown}.{fmt}"' in disposition or f"={shown}.{fmt}" in disposition
    else:
        assert "filename*=UTF-8''" in disposition
        assert unquote(disposition.split("filename*=UTF-8''")[1]) == f"{shown}.{fmt}"
        fallback = re.search(r'filename="?([^";]+)', disposition)[1]  # type: ignore[index]
        assert fallback.isascii() and fallback.endswith(f".{fmt}") and len(fallback) > 4


# -- 16: WebVTT cue text is escaped ----------------------------------------------------------

CUES = [
    Segment(0.0, 2.0, "Q&A: is a < b > c? <b>not bold</b>", speaker="Ana & <Bo>"),
    Segment(3.0, 5.0, "Tom & Jerry", ()),
]


def test_vtt_escapes_cue_text_and_keeps_voice_tags() -> None:
    f = io.StringIO()
    write_vtt(CUES, f)
    text = f.getvalue()
    said = "Q&amp;A: is a &lt; b &gt; c? &lt;b&gt;not bold&lt;/b&gt;"
    assert f"\n<v Ana &amp; &lt;Bo&gt;>{said}\n" in text
    assert "\nTom &amp; Jerry\n" in text
    body = text.split("\n", 1)[1]
    assert "<b>" not in body and "& " not in body


def test_srt_and_txt_stay_plain_text() -> None:
    srt, txt = io.StringIO(), io.StringIO()
    write_srt(CUES, srt)
    write_txt(CUES, txt)
    assert "Ana & <Bo>: Q&A: is a < b > c? <b>not bold</b>" in srt.getvalue()
    assert txt.getvalue().startswith("Ana & <Bo>: Q&A: is a < b > c?")
    assert "\nTom & Jerry\n" in txt.getvalue()


def test_recalls_own_vtt_reads_back_as_it_was_said() -> None:
    f = io.StringIO()
    write_vtt(CUES, f)
    cues = parse_captions(f.getvalue(), "back.vtt")
    assert [(c.text, c.speaker) for c in cues] == [
        ("Q&A: is a < b > c? <b>not bold</b>", "Ana & <Bo>"),
        ("Tom & Jerry", ""),
    ]


# -- 18: what visitors see of the API --------------------------------------------------------


def test_visitors_list_only_what_the_library_page_shows(
    client: FlaskClient, library: Config
) -> None:
    listed = client.get("/api/recordings").get_json()
    titles = {r["title"] for r in listed}
    assert "Waiting in the queue" not in titles and "Broken upload" not in titles
    assert {r["status"] for r in listed} <= {"ready", "no_speech"}
    assert "Keynote — day 1" in titles


def test_visitors_get_no_staff_fields(client: FlaskClient, library: Config) -> None:
    ids = _all_ids(library)
    for title in ("Broken upload", "Keynote — day 1"):
        detail = client.get(f"/api/recordings/{ids[title]}").get_json()
        assert detail["title"] == title
        assert not {"source_name", "error", "note", "stages_done"} & set(detail)
    assert "secret" not in client.get(f"/api/recordings/{ids['Broken upload']}").get_data(
        as_text=True
    )


def test_staff_still_get_everything(client: FlaskClient, library: Config) -> None:
    token = add_account(library, "editor@example.org", "staff")
    headers = {"Authorization": f"Bearer {token}"}
    titles = set(_ids(client, headers))
    assert {"Waiting in the queue", "Broken upload"} <= titles
    rid = _all_ids(library)["Broken upload"]
    detail = client.get(f"/api/recordings/{rid}", headers=headers).get_json()
    assert detail["error"] == "ffmpeg failed: /srv/secret/path"
    assert detail["source_name"] and "note" in detail


# -- 15: tus numbers and a full disk ---------------------------------------------------------


def _upload_app(tmp_path: Path, **web: int) -> Iterator[Flask]:
    config = parse_config({"web": {"max_upload_mb": 5, **web}}, tmp_path / "home", "test")
    add_account(config, "ana@example.org", "staff")
    with app_for(config) as app:
        yield app


@pytest.fixture
def upload_app(tmp_path: Path) -> Iterator[Flask]:
    yield from _upload_app(tmp_path)


def _staff(app: Flask) -> tuple[FlaskClient, dict[str, str]]:
    client = app.test_client()
    sign_in(client, "ana@example.org")
    return client, {"X-CSRFToken": csrf_token(client, "/upload"), "Tus-Resumable": "1.0.0"}


def _create(client: FlaskClient, headers: dict[str, str], length: str) -> object:
    name = base64.b64encode(b"talk.mp4").decode()
    return client.post(
        "/api/uploads",
        headers={**headers, "Upload-Length": length, "Upload-Metadata": f"filename {name}"},
    )


BAD_NUMBERS = ["²", "٣", "１２", "-1", "+5", " 5", "1e3", "0x10", "1_000", "9" * 5000,
               "99999999999999999999", "", "NaN", "5.0"]  # fmt: skip


@pytest.mark.parametrize("value", BAD_NUMBERS)
def test_upload_length_that_is_not_a_byte_count_is_400(upload_app: Flask, value: str) -> None:
    client, headers = _staff(upload_app)
    response = _create(client, headers, value)
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert "Upload-Length" in response.get_json()["message"]  # type: ignore[attr-defined]
    assert not any(upload_app.extensions["recall"].config.uploads_dir.glob("*.json"))


@pytest.mark.parametrize("value", BAD_NUMBERS)
def test_upload_offset_that_is_not_a_byte_count_is_400(upload_app: Flask, value: str) -> None:
    client, headers = _staff(upload_app)
    url = _create(client, headers, "10").headers["Location"]  # type: ignore[attr-defined]
    response = client.patch(
        url,
        data=b"x" * 10,
        headers={**headers, "Upload-Offset": value,
                 "Content-Type": "application/offset+octet-stream"},
    )  # fmt: skip
    assert response.status_code == 400
    assert client.head(url, headers=headers).headers["Upload-Offset"] == "0"


def test_an_upload_that_would_eat_the_reserve_is_refused_with_507(tmp_path: Path) -> None:
    free_mb = shutil.disk_usage(tmp_path).free // 1_000_000
    for app in _upload_app(tmp_path, upload_reserve_mb=free_mb + 10):
        client, headers = _staff(app)
        response = _create(client, headers, "1000")
        assert response.status_code == 507  # type: ignore[attr-defined]
        message = response.get_json()["message"]  # type: ignore[attr-defined]
        assert "web.upload_reserve_mb" in message and "MB free" in message
        assert not any(app.extensions["recall"].config.uploads_dir.iterdir())


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs: a disk that fills up mid-upload (needs root, as in CI's container)."""
    where = tmp_path / "small"
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(where)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True)


def test_a_disk_filling_up_mid_upload_is_507_and_the_upload_resumes(small_disk: Path) -> None:
    config = parse_config(
        {"library": {"data_dir": str(small_disk / "var")},
         "web": {"max_upload_mb": 5, "upload_reserve_mb": 0}},
        small_disk,
        "test",
    )  # fmt: skip
    add_account(config, "ana@example.org", "staff")
    # The catalog and uploads share the 2 MB: declare 1.5 MB, which fits at creation, then
    # fill the disk behind the server's back.
    with app_for(config) as app:
        client, headers = _staff(app)
        created = _create(client, headers, "1500000")
        assert created.status_code == 201  # type: ignore[attr-defined]
        url = created.headers["Location"]  # type: ignore[attr-defined]
        filler = small_disk / "filler"
        with contextlib.suppress(OSError), filler.open("wb", buffering=0) as f:
            while True:
                f.write(b"\0" * 65536)
        free = shutil.disk_usage(small_disk).free
        response = client.patch(
            url,
            data=b"x" * 1_500_000,
            headers={**headers, "Upload-Offset": "0",
                     "Content-Type": "application/offset+octet-stream"},
        )  # fmt: skip
        assert response.status_code == 507
        assert "disk is full" in response.get_json()["message"]
        offset = int(client.head(url, headers=headers).headers["Upload-Offset"])
        assert offset <= free + 65536
        filler.unlink()  # room again: the client goes on from where the upload stands
        rest = client.patch(
            url,
            data=b"x" * (1_500_000 - offset),
            headers={**headers, "Upload-Offset": str(offset),
                     "Content-Type": "application/offset+octet-stream"},
        )  # fmt: skip
        assert rest.status_code == 422  # all bytes arrived; "x"s are no recording


# -- 14: a file name that is not UTF-8 ------------------------------------------------------


@pytest.mark.slow
def test_ingest_reports_a_name_that_is_not_utf8_and_goes_on(
    tmp_path: Path, media: MediaFactory
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(media("tone.wav"), folder / "tone.wav")
    shutil.copy(media("tone.wav"), os.path.join(os.fsencode(folder), b"caf\xe9.wav"))
    write_config(tmp_path)
    result = run_recall("ingest", "in", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    failed = [line for line in result.stderr.splitlines() if "failed:" in line]
    assert failed == [
        "-\tfailed: in/caf\ufffd.wav: the file name is not UTF-8 text: rename the file"
    ]
    assert re.fullmatch(r"\w+\t(ready|no speech)\n", result.stdout), result.stdout


# -- 12: embed code ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(library: Config) -> Iterator[str]:
    with served(library, threads=2) as url:
        yield url


@pytest.mark.slow
@pytest.mark.parametrize("query", ["", "?start=10&end=20"])
def test_embed_code_of_a_hostile_title_is_only_text_on_the_partner_page(
    page: Any, server: str, library: Config, query: str
) -> None:
    rid = _all_ids(library)[XSS_TITLE]
    page.goto(f"{server}/r/{rid}{query}")
    code = page.get_attribute("button[data-copy*='<iframe']", "data-copy")
    assert code and XSS_TITLE not in code
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto("about:blank")  # another site: not this one's origin or CSP
    page.set_content(f"<!doctype html><title>Partner</title><main>{code}</main>")
    page.wait_for_selector("iframe")
    assert page.eval_on_selector_all("img", "els => els.length") == 0
    assert page.eval_on_selector_all("main *", "els => els.length") == 2  # wrapper, iframe
    assert page.get_attribute("iframe", "title").startswith(XSS_TITLE)
    page.wait_for_timeout(300)
    assert dialogs == []
    # Responsive: as wide as the partner's column, 16:9.
    page.set_viewport_size({"width": 500, "height": 800})
    box = page.locator("iframe").bounding_box()
    assert box["width"] == pytest.approx(page.evaluate("document.querySelector('main')"
                                                       ".clientWidth"), abs=1)  # fmt: skip
    assert box["height"] == pytest.approx(box["width"] * 9 / 16, abs=1)


def test_the_copy_box_and_oembed_give_the_same_escaped_snippet(
    client: FlaskClient, library: Config
) -> None:
    rid = _all_ids(library)[XSS_TITLE]
    for query in ("", "?start=10&end=20"):
        page = client.get(f"/r/{rid}{query}").get_data(as_text=True)
        boxes = re.findall(r'data-copy="(&lt;div[^"]*)"', page)
        assert len(boxes) == 1
        copied = html.unescape(boxes[0])
        oembed = client.get("/oembed", query_string={"url": f"http://localhost/r/{rid}{query}"})
        assert oembed.get_json()["html"] == copied
        assert "<img" not in copied and "padding-top:56.25%" in copied
        assert "position:absolute" in copied and "width:100%" in copied
    limited = client.get(
        "/oembed", query_string={"url": f"http://localhost/r/{rid}", "maxwidth": "320"}
    ).get_json()
    assert limited["html"].startswith('<div style="max-width:320px">')


# -- 13: a truncated file whose index, at the front, still names all of it -------------------


def _faststart_mp4(path: Path, seconds: int, audio: list[str]) -> bytes:
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=size=320x240:rate=25:duration={seconds}", *audio,
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
           "-shortest", "-movflags", "+faststart", str(path))  # fmt: skip
    return path.read_bytes()


@pytest.mark.slow
def test_a_truncated_faststart_upload_fails_with_a_clear_reason(
    tmp_path: Path, services: Services
) -> None:
    tone = ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=180"]
    whole = _faststart_mp4(tmp_path / "whole.mp4", 180, tone)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole[:300_000])
    assert probe(cut).duration == pytest.approx(180, abs=1)  # what fooled the ingest
    recording = services.pipeline.ingest(cut, RecordingMeta(title="Cut short"))
    assert recording.status == Status.FAILED
    assert recording.error.startswith("truncated or damaged: only 0:0")
    assert "of the 3:00 it declares could be read" in recording.error
    assert not recording.playable_file
    assert services.listed(None) == []


def test_a_file_missing_only_its_end_is_kept_with_a_warning(
    tmp_path: Path, services: Services
) -> None:
    # Silent audio: the test is about the file, not about transcribing it.
    silence = ["-f", "lavfi", "-i", "anullsrc=r=44100:cl=mono"]
    whole = _faststart_mp4(tmp_path / "whole.mp4", 40, silence)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole[: len(whole) * 8 // 10])
    recording = services.pipeline.ingest(cut, RecordingMeta(title="Missing its end"))
    assert recording.status == Status.NO_SPEECH, recording.error
    assert 25 < recording.duration < 37
    assert recording.note.startswith(
        f"damaged file: only {clock(recording.duration)} of the 0:40 it declares could be read"
    )
    assert recording.note.endswith("; no speech detected")
    playable = services.storage.file(recording.id, recording.playable_file)
    assert probe(playable).duration == pytest.approx(recording.duration, abs=0.1)


@pytest.mark.slow
def test_whole_files_carry_no_warning(media: MediaFactory, services: Services) -> None:
    recording = services.pipeline.ingest(media("h264-aac.mp4"), RecordingMeta(title="Fine"))
    assert recording.status in (Status.READY, Status.NO_SPEECH)
    assert "damaged" not in recording.note and recording.duration == pytest.approx(3, abs=0.1)


def test_the_api_lists_what_the_library_page_shows(tmp_path: Path) -> None:
    """One rule (Services.listed) for both. Visitors: exactly the page's recordings. Staff:
    the page's (every visibility), and those not finished, which only the API lists."""
    config = parse_config({}, tmp_path, "listed")
    for title, visibility in (
        ("Open", Visibility.PUBLIC),
        ("Link only", Visibility.UNLISTED),
        ("Staff only", Visibility.PRIVATE),
    ):
        _add(config, title, Status.READY, meta=RecordingMeta(title, visibility=visibility))
    _add(config, "Waiting", Status.QUEUED)
    _add(
        config, "Broken", Status.FAILED, meta=RecordingMeta("Broken", visibility=Visibility.PRIVATE)
    )
    add_account(config, "lister@example.org", "staff")

    def page(client: FlaskClient) -> set[str]:
        body = client.get("/").get_data(as_text=True)
        return set(re.findall(r'href="/r/([a-z0-9]{10})"', body))

    def api(client: FlaskClient) -> dict[str, str]:
        return {r["id"]: r["title"] for r in client.get("/api/recordings").get_json()}

    with app_for(config) as app:
        visitor, staff = app.test_client(), app.test_client()
        sign_in(staff, "lister@example.org")
        assert set(api(visitor)) == page(visitor)
        assert sorted(api(visitor).values()) == ["Open"]
        listed = api(staff)
        finished = {rid for rid, title in listed.items() if title not in {"Waiting", "Broken"}}
        assert finished == page(staff)
        assert sorted(listed.values()) == ["Broken", "Link only", "Open", "Staff only", "Waiting"]


@pytest.mark.parametrize(
    ("url", "field", "value"),
    [
        ("/search?q=ask&from=2024-02-30", "from", "2024-02-30"),
        ("/api/search?q=ask&to=soon", "to", "soon"),
    ],
)
def test_a_bad_search_date_names_its_filter(
    client: FlaskClient, url: str, field: str, value: str
) -> None:
    response = client.get(url)
    assert response.status_code == 400
    message = html.unescape(response.get_data(as_text=True))
    assert f"{field}: '{value}' is not a date (YYYY-MM-DD)" in message
    assert "recorded_on" not in message
