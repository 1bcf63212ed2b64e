"""Hostile or unusual input: odd titles, cue text, file names, upload headers, anonymous API
reads. Each test failed before its fix."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from urllib.parse import unquote

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ingest.captions import write_srt, write_txt, write_vtt
from ingest.manage import parse_captions
from library.config import Config, parse_config
from library.models import MediaInfo, RecordingMeta, Segment, Status, Visibility
from tests.conftest import add_account, app_for
from web.services import open_services

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


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


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
