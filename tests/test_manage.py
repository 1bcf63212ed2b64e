"""Staff managing a recording: details, transcript corrections with undo, imported captions,
re-transcription, replaced media and deletion, each keeping catalog, files and index in step."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ingest.edits import Cue, align_words, check_cues
from library.config import Config
from library.errors import BadParameter
from library.models import RecordingMeta, Segment, Status, Visibility, Word
from tests.conftest import (
    JFK,
    add_account,
    app_for,
    copy_library,
    csrf_token,
    database_url_in_use,
    library_config,
    sign_in,
)
from web.services import Services

W = Word


def test_unchanged_words_keep_their_times_and_new_ones_fill_the_gaps() -> None:
    old = [
        Segment(0.0, 3.0, "ask not what your country", (
            W(0.0, 0.4, " ask", 0.9), W(0.5, 0.9, " not", 0.9), W(1.0, 1.3, " what", 0.9),
            W(1.4, 1.8, " your", 0.9), W(1.9, 2.8, " country", 0.9))),
        Segment(3.0, 5.0, "can do for you", (
            W(3.0, 3.4, " can", 0.8), W(3.5, 3.8, " do", 0.8), W(3.9, 4.2, " for", 0.8),
            W(4.3, 4.9, " you", 0.8))),
    ]  # fmt: skip
    new = [Cue(0.0, 3.0, "Ask not what your nation"), Cue(3.0, 5.0, "can do for you.", "JFK")]
    segments = align_words(old, new)
    first, second = segments
    assert [w.text for w in first.words] == [" Ask", " not", " what", " your", " nation"]
    assert first.words[1] == W(0.5, 0.9, " not", 0.9)
    # The changed word takes the gap after "your" up to the cue's end, marked as certain.
    assert first.words[4].start == pytest.approx(1.8) and first.words[4].end == pytest.approx(3.0)
    assert first.words[4].probability == 1.0
    assert second.speaker == "JFK" and second.words[3] == W(4.3, 4.9, " you.", 0.8)


def test_moved_edges_pull_words_inside_the_cue() -> None:
    old = [Segment(0.0, 2.0, "one two", (W(0.0, 0.9, " one"), W(1.0, 2.0, " two")))]
    (segment,) = align_words(old, [Cue(0.5, 1.5, "one two")])
    assert all(0.5 <= w.start <= w.end <= 1.5 for w in segment.words)


def test_bad_cues_are_refused_naming_the_cue() -> None:
    with pytest.raises(BadParameter, match=r"cue 2.*no text"):
        check_cues([Cue(0, 1, "a"), Cue(1, 2, "  ")], 10)
    with pytest.raises(BadParameter, match=r"cue 1.*start before it ends"):
        check_cues([Cue(2, 1, "a")], 10)
    with pytest.raises(BadParameter, match=r"cue 1.*ends after the recording"):
        check_cues([Cue(0, 20, "a")], 10)
    with pytest.raises(BadParameter, match=r"cue 2.*before the cue above"):
        check_cues([Cue(5, 6, "a"), Cue(1, 2, "b")], 10)
    assert check_cues([Cue(0, 10.3, " a  b ")], 10) == [Cue(0, 10, "a b")]


def _build(config: Config) -> str:
    """Ana (staff) and the JFK excerpt in ``config``'s library; the recording's id."""
    add_account(config, "ana@example.org", "staff")
    with app_for(config) as app:
        services: Services = app.extensions["recall"]
        recording = services.pipeline.ingest(JFK, RecordingMeta(title="Inaugural", event="1961"))
        assert recording.status == Status.READY
        return recording.id


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The library, transcribed once for the module; (its folder, the recording's id)."""
    folder = tmp_path_factory.mktemp("manage-library")
    return folder, _build(library_config(folder))


@pytest.fixture
def app(config: Config, request: pytest.FixtureRequest) -> Iterator[Flask]:
    if database_url_in_use():  # the catalog is on the server, outside the folder: build anew
        rid = _build(config)
    else:  # a copy of the module's library, which the test may change
        folder, rid = request.getfixturevalue("built")
        copy_library(folder, config.data_dir.parent)
    with app_for(config) as app:
        app.config["RID"] = rid
        yield app


@pytest.fixture
def staff(app: Flask) -> FlaskClient:
    client = app.test_client()
    sign_in(client, "ana@example.org")
    return client


def headers(client: FlaskClient) -> dict[str, str]:
    return {"X-CSRFToken": csrf_token(client, "/jobs")}


pytestmark = pytest.mark.slow


def test_editing_a_sentence_updates_search_captions_and_keeps_undo(
    app: Flask, staff: FlaskClient
) -> None:
    rid = app.config["RID"]
    services: Services = app.extensions["recall"]
    transcript = staff.get(f"/api/recordings/{rid}/transcript").get_json()
    segments = transcript["segments"]
    first = segments[0]
    cues = [{**s, "speaker": ""} for s in segments]
    cues[0] = {**first, "text": first["text"] + " Zanzibar flamingo", "speaker": "JFK"}
    saved = staff.put(
        f"/api/recordings/{rid}/transcript",
        json={"version": transcript["version"], "segments": cues},
        headers=headers(staff),
    )
    assert saved.status_code == 200, saved.get_json()
    body = saved.get_json()
    assert body["can_undo"] and body["version"] == transcript["version"] + 1
    assert body["segments"][0]["speaker"] == "JFK"
    # Unchanged words kept Whisper's times.
    assert body["segments"][0]["words"][0] == first["words"][0]
    hit = services.index.search("zanzibar flamingo").hits[0]
    assert hit.recording_id == rid and hit.start == pytest.approx(first["start"])
    vtt = services.storage.transcript(rid, "vtt").read_text()
    assert "<v JFK>" in vtt and "Zanzibar flamingo" in vtt
    assert "JFK: " in services.storage.transcript(rid, "srt").read_text()
    assert "Zanzibar" in staff.get(f"/api/recordings/{rid}/transcript.txt").get_data(as_text=True)
    # Someone who opened the old version cannot overwrite this save.
    stale = staff.put(
        f"/api/recordings/{rid}/transcript",
        json={"version": transcript["version"], "segments": cues},
        headers=headers(staff),
    )
    assert stale.status_code == 409
    # Undo takes it back, everywhere.
    undone = staff.post(f"/api/recordings/{rid}/transcript/undo", headers=headers(staff))
    assert undone.status_code == 200
    assert undone.get_json()["segments"][0]["text"] == first["text"]
    assert services.index.search("zanzibar flamingo").hits == ()
    assert "Zanzibar" not in services.storage.transcript(rid, "vtt").read_text()


def test_a_bad_save_changes_nothing(app: Flask, staff: FlaskClient) -> None:
    rid = app.config["RID"]
    services: Services = app.extensions["recall"]
    before = services.catalog.segments(rid)
    response = staff.put(
        f"/api/recordings/{rid}/transcript",
        json={"segments": [{"start": 0, "end": 999, "text": "too long"}]},
        headers=headers(staff),
    )
    assert (
        response.status_code == 400 and "ends after the recording" in response.get_json()["message"]
    )
    assert services.catalog.segments(rid) == before
    assert staff.put(f"/api/recordings/{rid}/transcript", data="nonsense",
                     headers=headers(staff)).status_code == 400  # fmt: skip


def test_details_are_edited_and_visibility_applies_at_once(app: Flask, staff: FlaskClient) -> None:
    rid = app.config["RID"]
    services: Services = app.extensions["recall"]
    token = csrf_token(staff, f"/r/{rid}/manage")
    response = staff.post(f"/r/{rid}/manage", data={
        "csrf_token": token, "title": "The inaugural address", "event": "Washington 1961",
        "speakers": "John F. Kennedy, Narrator", "tags": "", "recorded_on": "1961-01-20",
        "visibility": "private", "description": "Ask not.",
    })  # fmt: skip
    assert response.status_code == 302
    recording = services.catalog.get(rid)
    assert recording.title == "The inaugural address"
    assert recording.meta.speakers == ("John F. Kennedy", "Narrator")
    assert str(recording.meta.recorded_on) == "1961-01-20"
    assert services.index.search("country", event="Washington 1961").hits
    assert app.test_client().get(f"/r/{rid}").status_code == 404  # private now
    bad = staff.post(f"/r/{rid}/manage", data={"csrf_token": token, "title": "", "event": "x"})
    assert bad.status_code == 400
    assert services.catalog.get(rid).meta.event == "Washington 1961"
    patched = staff.patch(f"/api/recordings/{rid}", json={"visibility": "public", "tags": ["a"]},
                          headers=headers(staff))  # fmt: skip
    assert patched.status_code == 200 and patched.get_json()["tags"] == ["a"]
    assert app.test_client().get(f"/r/{rid}").status_code == 200


@pytest.mark.parametrize("blank", ["", "  ", "\t\n "])
def test_a_blank_visibility_leaves_a_private_recording_private(
    app: Flask, staff: FlaskClient, blank: str
) -> None:
    """An empty visibility means "unchanged"; one of spaces means the same, never public."""
    rid = app.config["RID"]
    services: Services = app.extensions["recall"]
    private = staff.patch(f"/api/recordings/{rid}", json={"visibility": "private"},
                          headers=headers(staff))  # fmt: skip
    assert private.status_code == 200 and private.get_json()["visibility"] == "private"
    patched = staff.patch(f"/api/recordings/{rid}", json={"visibility": blank, "event": "Kept"},
                          headers=headers(staff))  # fmt: skip
    assert patched.status_code == 200, patched.get_json()
    assert patched.get_json()["visibility"] == "private" and patched.get_json()["event"] == "Kept"
    token = csrf_token(staff, f"/r/{rid}/manage")
    saved = staff.post(f"/r/{rid}/manage", data={"csrf_token": token, "title": "Inaugural",
                                                 "visibility": blank})  # fmt: skip
    assert saved.status_code == 302
    assert services.catalog.get(rid).meta.visibility == Visibility.PRIVATE
    assert app.test_client().get(f"/r/{rid}").status_code == 404
    assert app.test_client().get(f"/api/recordings/{rid}").status_code == 404


def test_imported_captions_become_the_transcript(app: Flask, staff: FlaskClient) -> None:
    import io

    rid = app.config["RID"]
    services: Services = app.extensions["recall"]
    vtt = ("WEBVTT\n\n00:00:00.500 --> 00:00:04.000\n<v Kennedy>My fellow citizens of the world\n\n"
           "00:00:04.000 --> 00:00:09.000\nask what <b>together</b> we can do\n")  # fmt: skip
    token = csrf_token(staff, f"/r/{rid}/manage")
    response = staff.post(
        f"/r/{rid}/captions",
        data={"csrf_token": token, "captions": (io.BytesIO(vtt.encode()), "speech.vtt")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    segments = services.catalog.segments(rid)
    assert [s.text for s in segments] == [
        "My fellow citizens of the world",
        "ask what together we can do",
    ]
    assert segments[0].speaker == "Kennedy" and segments[0].start == 0.5
    assert services.index.search("citizens of the world").hits[0].start == 0.5
    garbage = staff.post(
        f"/r/{rid}/captions",
        data={"csrf_token": token, "captions": (io.BytesIO(b"not captions"), "x.srt")},
        content_type="multipart/form-data",
    )
    assert garbage.status_code == 400 and "not a WebVTT or SRT" in garbage.get_data(as_text=True)
    assert len(services.catalog.segments(rid)) == 2


def test_retranscribe_queues_a_job_and_checks_the_model(app: Flask, staff: FlaskClient) -> None:
    rid = app.config["RID"]
    services: Services = app.extensions["recall"]
    bad = staff.post(f"/api/recordings/{rid}/retranscribe", json={"model": "huge-v9"},
                     headers=headers(staff))  # fmt: skip
    assert bad.status_code == 400 and "not a Whisper model" in bad.get_json()["message"]
    ok = staff.post(f"/api/recordings/{rid}/retranscribe", json={"model": "tiny.en"},
                    headers=headers(staff))  # fmt: skip
    assert ok.status_code == 200
    recording = services.catalog.get(rid)
    assert recording.status == Status.QUEUED
    assert recording.stages_done == ("store", "playable", "poster")
    assert services.jobs.pending_ids() == {rid}
    # While it waits, its transcript cannot be edited.
    busy = staff.post(f"/api/recordings/{rid}/transcript/undo", headers=headers(staff))
    assert busy.status_code == 409
    services.jobs.drain()
    assert services.catalog.get(rid).status == Status.READY
    assert services.index.search("ask not what your country").hits


def test_delete_removes_media_transcripts_rows_and_index_entries(
    app: Flask, staff: FlaskClient
) -> None:
    rid = app.config["RID"]
    services: Services = app.extensions["recall"]
    folder = services.storage.folder(rid)
    assert folder.exists()
    token = csrf_token(staff, f"/r/{rid}/manage")
    assert staff.post(f"/r/{rid}/delete", data={"csrf_token": token}).status_code == 302
    assert not folder.exists()
    assert services.catalog.recordings() == []
    assert services.index.search("country").hits == ()
    assert services.index.document_count() == 0
    assert staff.get(f"/r/{rid}").status_code == 404
    assert staff.delete(f"/api/recordings/{rid}", headers=headers(staff)).status_code == 404
