"""Uploads over tus: chunks, resuming, limits, and the job each finished upload queues."""

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from library.config import Config, parse_config
from library.models import RecordingMeta, Status
from tests.conftest import GATHERINGS, MediaFactory, add_account, app_for, csrf_token, sign_in
from web.uploads import parse_metadata


@pytest.fixture
def upload_config(tmp_path: Path) -> Config:
    return parse_config({"web": {"max_upload_mb": 5}}, tmp_path / "home", "test")


@pytest.fixture
def app(upload_config: Config) -> Iterator[Flask]:
    add_account(upload_config, "ana@example.org", "staff")
    add_account(upload_config, "bob@example.org", "staff")
    with app_for(upload_config) as app:
        yield app


def staff_client(app: Flask, email: str = "ana@example.org") -> tuple[FlaskClient, dict[str, str]]:
    client = app.test_client()
    sign_in(client, email)
    return client, {"X-CSRFToken": csrf_token(client, "/upload"), "Tus-Resumable": "1.0.0"}


def metadata(**fields: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in fields.items())


def create(client: FlaskClient, headers: dict[str, str], length: int, **fields: str) -> str:
    response = client.post(
        "/api/uploads",
        headers={**headers, "Upload-Length": str(length), "Upload-Metadata": metadata(**fields)},
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return str(response.headers["Location"])


def patch(
    client: FlaskClient, headers: dict[str, str], url: str, offset: int, data: bytes
) -> object:
    return client.patch(
        url,
        data=data,
        headers={**headers, "Upload-Offset": str(offset),
                 "Content-Type": "application/offset+octet-stream"},
    )  # fmt: skip


def test_tus_metadata_is_parsed() -> None:
    assert parse_metadata("filename dGFsay53ZWJt,empty,title w6lsw6g=") == {
        "filename": "talk.webm",
        "empty": "",
        "title": "élè",
    }


def test_an_upload_in_chunks_resumes_and_queues_its_job(app: Flask) -> None:
    client, headers = staff_client(app)
    data = GATHERINGS.read_bytes()
    url = create(client, headers, len(data), filename="Day 2 talk.webm", title="Online gatherings",
                 speakers="Priya;Sam", recorded_on="2022-06-02", visibility="unlisted")  # fmt: skip
    head = client.head(url, headers=headers)
    assert head.headers["Upload-Offset"] == "0" and head.headers["Tus-Resumable"] == "1.0.0"
    first = patch(client, headers, url, 0, data[:300_000])
    assert first.status_code == 204 and first.headers["Upload-Offset"] == "300000"  # type: ignore[attr-defined]
    # A chunk sent at the wrong offset (a client that lost track) is refused, nothing written.
    assert patch(client, headers, url, 100, data[100:200]).status_code == 409  # type: ignore[attr-defined]
    # The client asks where it stands and goes on from there.
    offset = int(client.head(url, headers=headers).headers["Upload-Offset"])
    assert offset == 300_000
    last = patch(client, headers, url, offset, data[offset:])
    assert last.status_code == 204  # type: ignore[attr-defined]
    rid = last.headers["Recall-Recording"]  # type: ignore[attr-defined]
    assert last.headers["Recall-Duplicate"] == "0"  # type: ignore[attr-defined]
    services = app.extensions["recall"]
    recording = services.catalog.get(rid)
    assert recording.status == Status.QUEUED and recording.stages_done == ("store",)
    assert recording.title == "Online gatherings" and recording.meta.speakers == ("Priya", "Sam")
    assert recording.meta.visibility.value == "unlisted"
    assert recording.source_name == "Day 2 talk.webm"
    stored = services.storage.file(rid, recording.source_file)
    assert stored.read_bytes() == data
    assert services.jobs.pending_ids() == {rid}
    assert client.head(url, headers=headers).status_code == 404  # finished uploads are gone
    assert not any(services.config.uploads_dir.iterdir())
    # The same file again is recognised.
    again = create(client, headers, len(data), filename="copy.webm")
    assert patch(client, headers, again, 0, data).headers["Recall-Duplicate"] == "1"  # type: ignore[attr-defined]


def test_bad_uploads_are_refused_with_a_reason(app: Flask) -> None:
    client, headers = staff_client(app)

    def refused(length: int, **fields: str) -> str:
        response = client.post(
            "/api/uploads",
            headers={
                **headers,
                "Upload-Length": str(length),
                "Upload-Metadata": metadata(**fields),
            },
        )
        assert response.status_code == 400
        return str(response.get_json()["message"])

    assert "not a recording Recall takes" in refused(1000, filename="notes.pdf")
    assert "larger than the limit of 5 MB" in refused(6_000_000, filename="big.mp4")
    assert "the file is empty" in refused(0, filename="empty.mp4")
    assert "not a date" in refused(10, filename="a.mp4", recorded_on="yesterday")
    assert "visibility" in refused(10, filename="a.mp4", visibility="secret")
    # Content that is not media: the whole file arrives, then the probe says what is wrong.
    text = b"This is a text file, not a video.\n" * 100
    url = create(client, headers, len(text), filename="fake.mp4")
    response = patch(client, headers, url, 0, text)
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert response.get_json()["message"].startswith("fake.mp4: ")  # type: ignore[attr-defined]
    services = app.extensions["recall"]
    assert services.catalog.recordings() == [] and not any(services.config.uploads_dir.iterdir())
    # More bytes than declared.
    url = create(client, headers, 10, filename="a.mp4")
    assert patch(client, headers, url, 0, b"x" * 20).status_code == 400  # type: ignore[attr-defined]


def test_uploads_need_staff_csrf_and_their_owner(app: Flask) -> None:
    anonymous = app.test_client()
    assert anonymous.post("/api/uploads", headers={"Upload-Length": "10"}).status_code == 401
    client, headers = staff_client(app)
    no_csrf = {"Upload-Length": "10", "Upload-Metadata": metadata(filename="a.mp4")}
    assert client.post("/api/uploads", headers=no_csrf).status_code == 400
    url = create(client, headers, 10, filename="a.mp4")
    other, other_headers = staff_client(app, "bob@example.org")
    assert other.head(url, headers=other_headers).status_code == 404
    assert patch(other, other_headers, url, 0, b"x").status_code == 404  # type: ignore[attr-defined]
    assert client.delete(url, headers=headers).status_code == 204
    assert client.head(url, headers=headers).status_code == 404
    options = anonymous.options("/api/uploads")
    assert options.headers["Tus-Version"] == "1.0.0"
    assert options.headers["Tus-Extension"] == "creation,termination"


@pytest.mark.slow
def test_a_one_gigabyte_upload_survives_a_dropped_chunk_and_a_killed_server(
    tmp_path: Path,
) -> None:
    """Through the real server (waitress): the upload is cut off mid-chunk, then the server
    is killed with SIGKILL and started again; the client resumes each time. The server never
    holds the file in memory (bench/upload.py prints the same figures)."""
    from bench.upload import MEMORY_LIMIT_MB, run

    figures = run(tmp_path, 1_000_000_000, 16 << 20)
    assert figures["identical"]
    assert figures["peak_mb"] < MEMORY_LIMIT_MB


@pytest.mark.slow
def test_new_media_replaces_a_recording_s_and_is_processed_again(
    app: Flask, media: MediaFactory
) -> None:
    services = app.extensions["recall"]
    old = services.pipeline.ingest(media("tone.wav"), RecordingMeta(title="Keynote", event="Day 1"))
    assert old.status.is_finished
    client, headers = staff_client(app)
    data = GATHERINGS.read_bytes()
    url = create(client, headers, len(data), filename="keynote-full.webm", replaces=old.id)
    response = patch(client, headers, url, 0, data)
    assert response.status_code == 204  # type: ignore[attr-defined]
    assert response.headers["Recall-Recording"] == old.id  # type: ignore[attr-defined]
    queued = services.catalog.get(old.id)
    assert queued.status == Status.QUEUED and queued.stages_done == ("store",)
    assert queued.title == "Keynote" and queued.source_name == "keynote-full.webm"
    assert not services.storage.file(old.id, "source.wav").exists()
    services.jobs.drain()
    done = services.catalog.get(old.id)
    assert done.status == Status.READY and done.duration > 60
    assert done.playable_file == "playable.mp4"
    assert services.index.search("online gatherings").hits[0].recording_id == old.id
    # Replacing needs a recording that exists.
    missing = client.post(
        "/api/uploads",
        headers={**headers, "Upload-Length": "10",
                 "Upload-Metadata": metadata(filename="a.mp4", replaces="nosuchid")},
    )  # fmt: skip
    assert missing.status_code == 404


CAPTIONS = (
    "WEBVTT\n\n00:00:01.000 --> 00:00:05.000\n<v Priya>Welcome to our online gathering.\n\n"
    "00:00:05.000 --> 00:00:09.000\nBreakout rooms keep everyone talking.\n"
)


@pytest.mark.slow
def test_captions_sent_with_an_upload_are_used_instead_of_transcribing(app: Flask) -> None:
    client, headers = staff_client(app)
    data = GATHERINGS.read_bytes()
    url = create(client, headers, len(data), filename="talk.webm")
    bad = client.put(f"{url}/captions?name=talk.srt", data=b"nonsense", headers=headers)
    assert bad.status_code == 400 and "not a WebVTT or SRT" in bad.get_json()["message"]
    attached = client.put(f"{url}/captions?name=talk.vtt", data=CAPTIONS.encode(), headers=headers)
    assert attached.status_code == 200 and attached.get_json() == {"name": "talk.vtt", "cues": 2}
    done = patch(client, headers, url, 0, data)
    assert done.headers["Recall-Note"] == "talk.vtt is the transcript"  # type: ignore[attr-defined]
    services = app.extensions["recall"]
    rid = done.headers["Recall-Recording"]  # type: ignore[attr-defined]
    assert services.catalog.get(rid).stages_done == ("store", "transcribe")
    services.jobs.drain()  # makes it playable and indexes it; Whisper never runs
    recording = services.catalog.get(rid)
    assert recording.status == Status.READY
    assert [s.text for s in services.catalog.segments(rid)] == [
        "Welcome to our online gathering.",
        "Breakout rooms keep everyone talking.",
    ]
    assert services.catalog.segments(rid)[0].speaker == "Priya"
    assert services.index.search("breakout rooms").hits[0].start == 5.0
    assert not any(services.config.uploads_dir.iterdir())


def test_captions_that_do_not_fit_are_not_used_and_the_note_says_so(app: Flask) -> None:
    from urllib.parse import unquote

    client, headers = staff_client(app)
    data = GATHERINGS.read_bytes()
    url = create(client, headers, len(data), filename="talk.webm")
    too_long = "WEBVTT\n\n00:00:01.000 --> 00:09:00.000\nLonger than the recording.\n"
    name = "Präsentation 日本.vtt"
    attached = client.put(f"{url}/captions?name={name}", data=too_long.encode(), headers=headers)
    assert attached.status_code == 200
    done = patch(client, headers, url, 0, data)
    assert done.status_code == 204  # type: ignore[attr-defined]
    note = unquote(done.headers["Recall-Note"])  # type: ignore[attr-defined]
    assert note.startswith(f"{name} was not used (") and "ends after the recording" in note
    services = app.extensions["recall"]
    rid = done.headers["Recall-Recording"]  # type: ignore[attr-defined]
    assert services.catalog.get(rid).stages_done == ("store",)  # Whisper will transcribe it
