"""Transcripts people can trust: review before publishing ([library] publish = "after
review"), suggested corrections from visitors, find and replace.

Under "after review" an unreviewed recording opens and plays for visitors as its visibility
allows, but its words reach them nowhere: not the page, captions, downloads, quotes nor search.
"""

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from index.examples import phrases
from ingest.replace import find_matches
from ingest.review import mark_reviewed
from library.config import Config, LibraryConfig, parse_config
from library.models import Recording, RecordingId, RecordingMeta, Segment, Status, Visibility
from library.suggestions import MAX_TEXT, PER_HOUR
from tests.conftest import DATA, JFK, add_account, app_for, csrf_token, sign_in
from tests.test_visibility import recording_routes
from web.services import Services, open_services

# Said in the JFK excerpt: "And so, my fellow Americans, ask not what your country can do
# for you, ask what you can do for your country."
WORDS = ("fellow americans", "country")


def _recording(rid: str = "r1", title: str = "Talk") -> Recording:
    import datetime as dt

    return Recording(
        RecordingId(rid), RecordingMeta(title), "a.mp3", rid, Status.READY, dt.datetime(2024, 1, 1)
    )


def test_find_matches_whole_words_in_any_case_with_context() -> None:
    segments = [
        Segment(0, 2, "Welcome, tama kaffir and Tama Kaffirs."),
        Segment(2, 4, "Nothing here."),
        Segment(4, 6, "TAMA  KAFFIR spoke."),
    ]
    found = find_matches([(_recording(), segments)], "Tama Kaffir", "Tom Okafor")
    assert [(m.position, m.after) for m in found] == [
        (0, "Welcome, Tom Okafor and Tama Kaffirs."),
        (2, "Tom Okafor spoke."),
    ]
    assert found[0].before == segments[0].text and "tama kaffir" in found[0].context


@pytest.fixture(scope="module")
def review_config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    folder = tmp_path_factory.mktemp("review")
    config = parse_config({"library": {"publish": "after review"}}, folder, "review")
    services = open_services(config)
    try:
        for path, title, visibility in (
            (JFK, "Inaugural", Visibility.PUBLIC),
            (DATA / "food-bank-volunteers.mp3", "Board", Visibility.PRIVATE),
        ):
            meta = RecordingMeta(title=title, visibility=visibility)
            assert services.pipeline.ingest(path, meta).status.value == "ready"
    finally:
        services.close()
    add_account(config, "staff@example.org", "staff")
    return config


@pytest.fixture(scope="module")
def app(review_config: Config) -> Iterator[Flask]:
    with app_for(review_config) as app:
        yield app


def _ids(config: Config) -> dict[str, tuple[str, str]]:
    services = open_services(config)
    try:
        return {r.title: (r.id, r.playable_file) for r in services.catalog.recordings()}
    finally:
        services.close()


def _staff(app: Flask) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, "staff@example.org").status_code == 302  # type: ignore[attr-defined]
    return client


def _visitor(app: Flask, address: str = "192.0.2.1") -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _mark(staff: FlaskClient, rid: str, state: str) -> None:
    token = csrf_token(staff, "/review")
    response = staff.post(f"/review/{rid}/{state}", data={"csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)


def _words_in(body: str) -> bool:
    return any(w in body.lower() for w in WORDS)


SEARCHES = ("/search?q=country", "/api/search?q=country", "/api/search?q=americanz")


def _check_visitor(app: Flask, rid: str, playable: str, published: bool) -> None:
    visitor = _visitor(app)
    for url in recording_routes(rid, playable):
        response = visitor.get(url)
        body = response.get_data().decode("utf-8", "replace")
        if "/transcript." in url and not published:
            assert response.status_code == 404, url
            assert "being reviewed" in body or "reviewing" in body, url
        else:
            assert response.status_code == 200, (url, response.status_code)
        if not published:
            assert not _words_in(body), url
    page = visitor.get(f"/r/{rid}").get_data(as_text=True)
    assert ("is being checked by staff" in page) != published
    assert ("<track" in page) == published and ("Suggest a correction" in page) == published
    for url in SEARCHES:
        body = visitor.get(url).get_data(as_text=True)
        if url.startswith("/search"):  # the page may name the (public) recording elsewhere
            assert ('<li class="hit">' in body) == published, url
        else:
            assert ("Inaugural" in body) == published, url
        assert (url.endswith("americanz") and "americans" in body) == (
            published and url.endswith("americanz")
        ), url
    listed = {r["title"]: r for r in visitor.get("/api/recordings").get_json()}
    assert listed["Inaugural"]["transcript"] == ("reviewed" if published else "machine")


@pytest.mark.slow
def test_after_review_hides_words_from_visitors_on_every_route_until_reviewed(
    app: Flask, review_config: Config
) -> None:
    rid, playable = _ids(review_config)["Inaugural"]
    staff = _staff(app)
    _check_visitor(app, rid, playable, published=False)
    # Staff read and search every word all along.
    for url in recording_routes(rid, playable):
        assert staff.get(url).status_code == 200, url
    assert _words_in(staff.get(f"/r/{rid}").get_data(as_text=True))
    assert staff.get("/api/search?q=country").get_json()["hits"]
    review = staff.get("/review").get_data(as_text=True)
    assert "unreviewed" in review and "Inaugural" in review

    _mark(staff, rid, "reviewed")
    _check_visitor(app, rid, playable, published=True)
    assert "by staff@example.org" in staff.get("/review").get_data(as_text=True)

    _mark(staff, rid, "machine")
    _check_visitor(app, rid, playable, published=False)
    _mark(staff, rid, "reviewed")


def _examples(body: str) -> list[str]:
    """The example questions a search page offers (its "Try" list)."""
    listed = re.search(r'<ul class="examples">(.*?)</ul>', body, re.S)
    return re.findall(r"<a [^>]*>([^<]*)</a>", listed.group(1)) if listed else []


@pytest.mark.slow
def test_example_questions_never_quote_an_unreviewed_transcript_to_visitors(
    app: Flask, review_config: Config
) -> None:
    rid, _ = _ids(review_config)["Inaugural"]
    staff = _staff(app)
    _mark(staff, rid, "machine")
    # The example the (public) Inaugural transcript gives, as said now (other tests edit it).
    transcript = staff.get(f"/api/recordings/{rid}/transcript").get_json()
    said = [s["text"] for s in transcript["segments"]]
    quoted = phrases([said])
    assert quoted
    # The empty page and a fruitless search both offer starting points.
    pages = ("/search", "/search?q=zzqxjv")
    for url in pages:
        assert set(quoted) <= set(_examples(staff.get(url).get_data(as_text=True))), url
        body = _visitor(app).get(url).get_data(as_text=True)
        assert "Recent recordings" in body and "Inaugural" in body, url  # it may be named
        assert not set(quoted) & set(_examples(body)), url
        assert not _words_in(body), url
    _mark(staff, rid, "reviewed")
    for url in pages:
        assert set(quoted) <= set(_examples(_visitor(app).get(url).get_data(as_text=True))), url


def _suggest(client: FlaskClient, rid: str, position: str, text: str) -> object:
    page = client.get(f"/r/{rid}/suggest?position=0")
    assert page.status_code == 200 and "no-store" in page.headers["Cache-Control"]
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert token
    return client.post(
        f"/r/{rid}/suggest",
        data={"csrf_token": token.group(1), "position": position, "text": text},
    )


@pytest.mark.slow
def test_suggestions_are_rate_limited_capped_and_never_public(
    app: Flask, review_config: Config
) -> None:
    ids = _ids(review_config)
    rid, playable = ids["Inaugural"]
    staff = _staff(app)
    _mark(staff, rid, "reviewed")
    visitor = _visitor(app, "198.51.100.7")
    # Without the CSRF token nothing is stored.
    assert visitor.post(f"/r/{rid}/suggest", data={"position": "0", "text": "x"}).status_code == 400
    assert _suggest(visitor, rid, "0", "zebracorn wording").status_code == 302  # type: ignore[attr-defined]
    too_long = _suggest(visitor, rid, "0", "a" * (MAX_TEXT + 1))
    assert too_long.status_code == 400  # type: ignore[attr-defined]
    assert _suggest(visitor, rid, "999", "x").status_code == 400  # type: ignore[attr-defined]
    # A private recording does not exist for visitors, so neither do its sentences.
    private = ids["Board"][0]
    assert visitor.get(f"/r/{private}/suggest?position=0").status_code == 404
    assert visitor.post(f"/r/{private}/suggest", data={}).status_code in (400, 404)
    for _ in range(PER_HOUR - 1):
        assert _suggest(visitor, rid, "0", "zebracorn again").status_code == 302  # type: ignore[attr-defined]
    refused = _suggest(visitor, rid, "0", "one too many")
    assert refused.status_code == 429 and refused.headers["Retry-After"]  # type: ignore[attr-defined]
    # Another address is not held back by this one.
    assert _suggest(_visitor(app, "198.51.100.8"), rid, "0", "zebracorn b").status_code == 302  # type: ignore[attr-defined]
    # Stored for staff, shown to no visitor.
    assert _visitor(app).get("/api/search?q=zebracorn").get_json()["total"] == 0
    for url in [*recording_routes(rid, playable), "/", "/suggestions", "/review"]:
        body = _visitor(app).get(url).get_data().decode("utf-8", "replace")
        assert "zebracorn" not in body, url
    listed = staff.get("/suggestions").get_data(as_text=True)
    assert listed.count("zebracorn") == PER_HOUR + 1
    assert 'class="count"' in listed  # the count in the staff navigation
    assert f"{PER_HOUR + 1} open" in staff.get("/review").get_data(as_text=True)
    jobs = staff.get("/jobs").get_data(as_text=True)
    assert f"{PER_HOUR + 1} suggested correction(s) waiting" in jobs
    # Dismiss them all.
    for sid in re.findall(r"/suggestions/(\d+)/dismiss", listed):
        token = csrf_token(staff, "/suggestions")
        assert (
            staff.post(f"/suggestions/{sid}/dismiss", data={"csrf_token": token}).status_code == 302
        )
    assert "No open suggestions" in staff.get("/suggestions").get_data(as_text=True)


@pytest.mark.slow
def test_accepting_a_suggestion_saves_it_as_an_editor_edit(
    app: Flask, review_config: Config
) -> None:
    rid, _ = _ids(review_config)["Inaugural"]
    staff = _staff(app)
    _mark(staff, rid, "reviewed")
    before = staff.get(f"/api/recordings/{rid}/transcript").get_json()
    assert (
        _suggest(_visitor(app, "203.0.113.5"), rid, "0", "Ask what the quokka can do.").status_code
        == 302
    )  # type: ignore[attr-defined]
    listed = staff.get("/suggestions").get_data(as_text=True)
    sid = re.findall(r"/suggestions/(\d+)/accept", listed)[-1]
    token = csrf_token(staff, "/suggestions")
    assert staff.post(f"/suggestions/{sid}/accept", data={"csrf_token": token}).status_code == 302
    after = staff.get(f"/api/recordings/{rid}/transcript").get_json()
    assert after["segments"][0]["text"] == "Ask what the quokka can do."
    assert after["can_undo"] and after["version"] == before["version"] + 1
    visitor = _visitor(app)
    assert visitor.get("/api/search?q=quokka").get_json()["hits"][0]["recording_id"] == rid
    assert "quokka" in visitor.get(f"/api/recordings/{rid}/transcript.vtt").get_data(as_text=True)
    # Accepted once: a second accept is a conflict, not a second edit.
    token = csrf_token(staff, "/suggestions")
    assert staff.post(f"/suggestions/{sid}/accept", data={"csrf_token": token}).status_code == 409


@pytest.mark.slow
def test_find_and_replace_lists_matches_first_then_updates_search_and_captions(
    app: Flask, review_config: Config, tmp_path: Path
) -> None:
    # Whisper heard "Tama Kaffir" in the (private) food bank talk.
    rid, _ = _ids(review_config)["Board"]
    staff = _staff(app)
    body = staff.get("/replace?find=tama+kaffir&replace=Tom+Okafor").get_data(as_text=True)
    assert "1 sentence(s) match" in body and "Board" in body
    assert "I am Tama Kaffir from" in body and "I am Tom Okafor from" in body
    assert staff.get("/api/search?q=okafor").get_json()["hits"] == []  # nothing changed yet

    # The command line: a dry run lists each match (id, time, context) and changes nothing.
    from web.cli import cli

    config_file = tmp_path / "config.toml"
    config_file.write_text(
        f'[library]\ndata_dir = "{review_config.data_dir}"\npublish = "after review"\n'
        '[index]\nsemantic = "off"\n'
    )
    run = CliRunner().invoke(
        cli, ["--config", str(config_file), "replace", "Tama Kaffir", "Tom Okafor", "--dry-run"]
    )
    assert run.exit_code == 0, run.output
    assert f"{rid}\t0:00\t" in run.output and "Tama Kaffir" in run.output
    assert "1 sentence(s) in 1 recording(s) would change" in run.output
    assert staff.get("/api/search?q=okafor").get_json()["hits"] == []

    token = csrf_token(staff, "/replace")
    done = staff.post(
        "/replace", data={"csrf_token": token, "find": "tama kaffir", "replace": "Tom Okafor"}
    )
    assert done.status_code == 302
    assert [h["recording_id"] for h in staff.get("/api/search?q=okafor").get_json()["hits"]] == [
        rid
    ]
    assert staff.get("/api/search?q=kaffir").get_json()["hits"] == []
    vtt = staff.get(f"/api/recordings/{rid}/transcript.vtt").get_data(as_text=True)
    assert "I am Tom Okafor from" in vtt and "Kaffir" not in vtt
    # An editor save: one step of undo, and the new words are timed inside their cue.
    saved = staff.get(f"/api/recordings/{rid}/transcript").get_json()
    assert saved["can_undo"]
    cue = saved["segments"][0]
    assert all(cue["start"] <= w["start"] <= w["end"] <= cue["end"] + 0.01 for w in cue["words"])
    assert [w["word"].strip() for w in cue["words"]][4:6] == ["Tom", "Okafor"]

    run = CliRunner().invoke(
        cli,
        ["--config", str(config_file), "replace", "tom okafor", "Tama Kaffir", "--recording", rid],
    )
    assert run.exit_code == 0 and "Replaced in 1 sentence(s) of 1 recording(s)" in run.output
    assert staff.get("/api/search?q=kaffir").get_json()["hits"]


def test_publish_setting_is_checked(tmp_path: Path) -> None:
    from library.errors import ConfigError

    with pytest.raises(ConfigError, match="publish"):
        parse_config({"library": {"publish": "later"}}, tmp_path)
    assert parse_config({}, tmp_path).library == dataclasses.replace(
        LibraryConfig(), data_dir=tmp_path / "var"
    )


def _ready_recording(services: Services, title: str, text: str) -> Recording:
    """A finished recording with a one-sentence transcript, without transcribing anything."""
    from library.models import MediaInfo

    info = MediaInfo("mp3", 10.0, "mp3", None)
    recording = services.catalog.add(RecordingMeta(title), f"{title}.mp3", title, info)
    services.catalog.replace_segments(recording.id, [Segment(0.0, 4.0, text)])
    return services.catalog.update(recording.id, status=Status.READY)


def test_changing_publish_rebuilds_the_index_so_unreviewed_words_vanish_at_once(
    tmp_path: Path,
) -> None:
    immediately = parse_config({}, tmp_path, "t")
    services = open_services(immediately)
    try:
        rid = _ready_recording(services, "Talk", "The aardvark spoke first.").id
        services.rebuild_index()
        assert services.index.search("aardvark", visibilities=("public",)).hits
    finally:
        services.close()
    after = parse_config({"library": {"publish": "after review"}}, tmp_path, "t")
    services = open_services(after)
    try:
        assert services.index.search("aardvark", visibilities=("public",)).hits == ()
        assert services.index.search("aardvark").hits  # staff still find it
        parts = services.catalog, services.storage, services.index
        mark_reviewed(*parts, rid, "ana@example.org")
        assert services.index.search("aardvark", visibilities=("public",)).hits
        reviewed = services.catalog.get(rid)
        assert reviewed.transcript_state == "reviewed" and reviewed.reviewed_at is not None
    finally:
        services.close()
    services = open_services(after)  # built for this setting now: not rebuilt again
    try:
        assert services.index.is_current
    finally:
        services.close()


def test_the_review_command_publishes_the_words_and_undo_hides_them(tmp_path: Path) -> None:
    from web.cli import cli

    raw = {"library": {"publish": "after review"}, "index": {"semantic": "off"}}
    config = parse_config(raw, tmp_path, "t")
    services = open_services(config)
    try:
        rid = _ready_recording(services, "Talk", "The aardvark spoke first.").id
    finally:
        services.close()
    config_file = tmp_path / "config.toml"
    config_file.write_text(
        f'[library]\ndata_dir = "{config.data_dir}"\npublish = "after review"\n'
        '[index]\nsemantic = "off"\n'
    )
    for undo, state in (([], "reviewed"), (["--undo"], "machine")):
        args = ["--config", str(config_file), "review", rid, "--by", "ana@example.org", *undo]
        run = CliRunner().invoke(cli, args)
        assert run.exit_code == 0 and f"Talk: transcript {state}" in run.output, run.output
        services = open_services(config)
        try:
            assert services.catalog.get(rid).transcript_state == state
            public = services.index.search("aardvark", visibilities=("public",)).hits
            assert bool(public) is (state == "reviewed")
        finally:
            services.close()


def test_suggestions_go_with_their_recording_and_count_per_address(tmp_path: Path) -> None:
    import datetime as dt

    from library.errors import TooManyRequests
    from library.suggestions import Suggestions

    services = open_services(parse_config({}, tmp_path, "t"))
    try:
        rid = _ready_recording(services, "Talk", "The aardvark spoke first.").id
        store = Suggestions(services.catalog)
        now = dt.datetime(2026, 1, 1, 12)
        for minute in range(PER_HOUR):
            store.add(rid, 0, 0.0, "a", f"b {minute}", "v1", now + dt.timedelta(minutes=minute))
        with pytest.raises(TooManyRequests):
            store.add(rid, 0, 0.0, "a", "late", "v1", now + dt.timedelta(minutes=30))
        store.add(rid, 0, 0.0, "a", "an hour on", "v1", now + dt.timedelta(minutes=61))
        assert store.open_counts() == {rid: PER_HOUR + 1}
        services.catalog.delete(rid)
        assert store.open() == [] and store.open_counts() == {}
    finally:
        services.close()
