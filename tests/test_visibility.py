"""Who sees what. Visitors: public is listed and searched, unlisted opens by its link only,
private does not exist. Staff and admins see everything. Checked on every route, with the
words of the private recording never in any body a visitor gets, and the words of the private
and unlisted ones never in what search tells a visitor: hits, suggestions, corrections, totals
or facet counts."""

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from index.search import TranscriptIndex
from library.config import Config, IndexConfig
from library.models import RecordingMeta, Visibility
from tests.conftest import DATA, JFK, add_account, app_for, csrf_token, library_config, sign_in
from web.services import open_services

pytestmark = pytest.mark.slow

SECRET_WORDS = ("fellow americans", "secret address")
ROLES = ("anonymous", "staff", "admin")
VISIBILITIES = ("public", "unlisted", "private")


@pytest.fixture(scope="module")
def mixed_config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    # Each has speech: "unlisted is never searched" can fail only if the unlisted one says
    # something.
    config = library_config(tmp_path_factory.mktemp("mixed"), source="mixed")
    services = open_services(config)
    try:
        for path, title, visibility, event in (
            (JFK, "Secret address", Visibility.PRIVATE, "Board"),
            (DATA / "food-bank-volunteers.mp3", "Unlisted talk", Visibility.UNLISTED, "Board"),
            (DATA / "digital-inclusion-panel.mkv", "Public panel", Visibility.PUBLIC, "Open"),
        ):
            meta = RecordingMeta(title=title, visibility=visibility, event=event)
            assert services.pipeline.ingest(path, meta).status.value == "ready"
    finally:
        services.close()
    add_account(config, "staff@example.org", "staff")
    add_account(config, "admin@example.org", "admin")
    return config


@pytest.fixture
def app(mixed_config: Config) -> Iterator[Flask]:
    with app_for(mixed_config) as app:
        yield app


@pytest.fixture
def keyword_app(mixed_config: Config) -> Iterator[Flask]:
    """The same library with keyword search alone. With semantic search on, how close a
    query's words are in meaning to the public sentences differs from one made-up word to
    another, so "a private word gets the answer of a word said nowhere" is exact only here
    (semantic search itself only ever looks at the recordings the asker may search)."""
    index = dataclasses.replace(mixed_config.index, semantic="off")
    with app_for(dataclasses.replace(mixed_config, index=index)) as app:
        yield app


def client_as(app: Flask, role: str) -> FlaskClient:
    client = app.test_client()
    if role != "anonymous":
        assert sign_in(client, f"{role}@example.org").status_code == 302  # type: ignore[attr-defined]
    return client


def by_visibility(config: Config) -> dict[str, tuple[str, str]]:
    """visibility -> (recording id, playable file name)."""
    services = open_services(config)
    try:
        return {
            r.meta.visibility.value: (r.id, r.playable_file) for r in services.catalog.recordings()
        }
    finally:
        services.close()


def recording_routes(rid: str, playable: str) -> list[str]:
    return [
        f"/r/{rid}", f"/r/{rid}?start=1&end=5", f"/r/{rid}?t=2", f"/embed/{rid}",
        f"/embed/{rid}?start=1&end=3", f"/api/recordings/{rid}",
        *(f"/api/recordings/{rid}/transcript.{fmt}" for fmt in ("vtt", "srt", "txt", "json")),
        f"/api/recordings/{rid}/transcript.vtt?start=1&end=3",
        f"/media/{rid}/{playable}", f"/media/{rid}/poster.jpg", f"/media/{rid}/still.jpg?t=1",
        f"/r/{rid}/clip.m4a?start=1&end=2", f"/oembed?url=http://localhost/r/{rid}",
        f"/oembed?url=http://localhost/embed/{rid}?start=1%26end=3",
    ]  # fmt: skip


LISTINGS = [
    "/",
    "/search?q=country",
    "/api/search?q=country",
    "/api/recordings",
    "/moments?q=country",
    "/embed/moments?q=country&order=recording",
]
STAFF_PAGES = ["/upload", "/jobs", "/account"]
STAFF_API = ["/api/jobs"]


def test_permission_matrix(app: Flask, mixed_config: Config) -> None:
    """Every route x {anonymous, staff, admin} x {public, unlisted, private}."""
    recordings = by_visibility(mixed_config)
    for role in ROLES:
        client = client_as(app, role)
        for visibility in VISIBILITIES:
            rid, playable = recordings[visibility]
            expected = 404 if role == "anonymous" and visibility == "private" else 200
            for url in recording_routes(rid, playable):
                response = client.get(url)
                assert response.status_code == expected, (role, visibility, url)
                body = response.get_data().decode("utf-8", "replace").lower()
                if role == "anonymous":
                    assert not any(w in body for w in SECRET_WORDS), (visibility, url)
        for url in LISTINGS:
            response = client.get(url)
            assert response.status_code == 200, (role, url)
            body = response.get_data(as_text=True).lower()
            assert ("secret address" in body) == (role != "anonymous"), (role, url)
            searched = "search" in url or "moments" in url
            assert ("unlisted talk" in body) == (role != "anonymous" and not searched)
        staff_pages = STAFF_PAGES + [
            f"/r/{recordings[v][0]}/{page}" for v in VISIBILITIES for page in ("manage", "edit")
        ]
        staff_api = STAFF_API + [
            f"/api/recordings/{recordings[v][0]}/transcript" for v in VISIBILITIES
        ]
        for url in staff_pages:
            response = client.get(url)
            if role == "anonymous":
                assert response.status_code == 302, url
                assert response.headers["Location"].startswith("/login?next="), url
            else:
                assert response.status_code == 200, (role, url)
        for url in staff_api:
            assert client.get(url).status_code == (401 if role == "anonymous" else 200), url
        # Writes: visitors are refused before anything happens.
        if role == "anonymous":
            rid = recordings["private"][0]
            for method, url in (
                ("patch", f"/api/recordings/{rid}"),
                ("delete", f"/api/recordings/{rid}"),
                ("put", f"/api/recordings/{rid}/transcript"),
                ("post", f"/api/recordings/{rid}/retranscribe"),
                ("post", "/api/uploads"),
                ("post", f"/api/jobs/{rid}/cancel"),
            ):
                response = getattr(client, method)(url, json={})
                assert response.status_code == 401, url
                assert "fellow americans" not in response.get_data(as_text=True).lower()
            for url in (f"/r/{rid}/manage", f"/r/{rid}/delete", f"/r/{rid}/captions"):
                # Without the form's CSRF token: refused before anything else is looked at.
                assert client.post(url).status_code == 400, url
                # With a valid one (any visitor's session has one): sent to sign in.
                token = csrf_token(client)
                response = client.post(url, data={"csrf_token": token})
                assert response.status_code == 302, url
                assert response.headers["Location"].startswith("/login?next="), url
            assert len(by_visibility(mixed_config)) == 3


def test_staff_pages_are_never_cached_by_shared_caches(app: Flask, mixed_config: Config) -> None:
    rid, playable = by_visibility(mixed_config)["private"]
    staff = client_as(app, "staff")
    page = staff.get(f"/r/{rid}")
    assert {"no-store", "private"} <= set(page.headers["Cache-Control"].split(", "))
    media = staff.get(f"/media/{rid}/{playable}")
    assert "private" in media.headers["Cache-Control"]
    assert "public" not in media.headers["Cache-Control"]
    assert "Cookie" in page.headers["Vary"]


def test_unlisted_recordings_open_by_link_but_are_not_listed(
    client: FlaskClient, mixed_config: Config
) -> None:
    rid, _ = by_visibility(mixed_config)["unlisted"]
    assert client.get(f"/r/{rid}").status_code == 200
    assert "Unlisted talk" not in client.get("/").get_data(as_text=True)
    assert [r["title"] for r in client.get("/api/recordings").get_json()] == ["Public panel"]


def _answer(client: FlaskClient, query: str) -> tuple[object, ...]:
    found = client.get("/api/search", query_string={"q": query, "facets": "1"}).get_json()
    # The words a hit lacks are the asker's own: the rest must not depend on them.
    hits = [{k: v for k, v in h.items() if k != "missing"} for h in found["hits"]]
    return (found["total"], hits, found.get("suggestion"), found.get("facets"), found["moments"])


def test_search_tells_visitors_nothing_of_private_or_unlisted_words(keyword_app: Flask) -> None:
    app = keyword_app
    visitor, staff = client_as(app, "anonymous"), client_as(app, "staff")
    # "parcels" and "kettle" are said only in the unlisted talk, "country" only in the private.
    for word in ("parcels", "kettle", "country"):
        assert _answer(visitor, word)[:2] == (0, []), word
        assert staff.get(f"/api/search?q={word}").get_json()["hits"], word
    # Misspelled: staff are offered the word and its moments; visitors nothing.
    for typo, word in (("americanz", "americans"), ("exhaustid", "exhausted")):
        mine = staff.get(f"/api/search?q={typo}").get_json()
        assert word in mine["suggestion"] and mine["hits"], typo
        theirs = visitor.get(f"/api/search?q={typo}").get_json()
        assert theirs["hits"] == [] and word not in theirs.get("suggestion", ""), typo
        page = visitor.get(f"/search?q={typo}").get_data(as_text=True).lower()
        assert word not in page.replace(typo, ""), typo
    # A word only others say changes no number a visitor sees: the same as a word said nowhere.
    nowhere = _answer(visitor, "zzqxjv people")
    # (Moments with some of the words: "people", never the word no one said.)
    raw = visitor.get("/api/search?q=zzqxjv+people").get_json()["hits"]
    assert raw and all(h["missing"] == ["zzqxjv"] for h in raw)
    for word in ("parcels", "country", "americans", "kettle"):
        assert _answer(visitor, f"{word} people") == nowhere, word
    # And the public words are found, counted only in the public recording.
    public = _answer(visitor, "services")
    assert public[0] > 0 and {h["title"] for h in public[1]} == {"Public panel"}  # type: ignore[attr-defined]
    assert set(public[3]["event"]) == {"Open"}  # type: ignore[index]


def test_the_command_line_sees_everything(mixed_config: Config) -> None:
    services = open_services(mixed_config)
    try:
        assert services.index.search("country").hits[0].title == "Secret address"
        assert services.index.search("country", visibilities=("public",)).hits == ()
    finally:
        services.close()


def test_an_index_from_before_visibility_is_rebuilt(tmp_path: Path, mixed_config: Config) -> None:
    from whoosh import index as whoosh_index
    from whoosh.fields import ID, TEXT, Schema

    old = dataclasses.replace(mixed_config, index=IndexConfig(dir=tmp_path / "old-index"))
    (tmp_path / "old-index").mkdir()
    whoosh_index.create_in(str(tmp_path / "old-index"), Schema(doc_id=ID(unique=True), text=TEXT))
    assert not TranscriptIndex(tmp_path / "old-index").is_current
    services = open_services(old)
    try:
        assert services.index.is_current
        assert services.index.search("country").hits
    finally:
        services.close()


def test_metadata_examples_and_browsing_tell_visitors_only_of_public_recordings(
    keyword_app: Flask,
) -> None:
    """Recordings found by title or event, the empty page's examples, events, speakers and
    recent recordings, related words and moments with some of the words: for a visitor, all
    of them come from the public recording alone."""
    app = keyword_app
    visitor, staff = client_as(app, "anonymous"), client_as(app, "staff")
    for query in ("secret address", "unlisted talk", "board", "secret", "unlisted"):
        doc = visitor.get(f"/api/search?q={query}").get_json()
        assert doc["recordings"] == [] and doc["hits"] == [], query
        page = visitor.get(f"/search?q={query}").get_data(as_text=True)
        assert "Secret address" not in page and "Unlisted talk" not in page, query
        assert staff.get(f"/api/search?q={query}").get_json()["recordings"], query
    assert visitor.get("/api/search?q=public+panel").get_json()["recordings"]
    for url in ("/search", "/search?q=zebra+crossing", "/search?q=parcel"):
        page = visitor.get(url).get_data(as_text=True)
        assert "Secret address" not in page and "Unlisted talk" not in page, url
        assert "Board" not in page and "parcels" not in page and "americans" not in page, url
    assert "Secret address" in staff.get("/search").get_data(as_text=True)
    # Moments with some of the words: the same for a private word as for one said nowhere.
    nowhere = visitor.get("/api/search?q=zzqxjv+digital").get_json()
    private = visitor.get("/api/search?q=americans+digital").get_json()
    assert nowhere["total"] == private["total"] and nowhere["moments"] == private["moments"]
    # Related words come from the public recording alone: "parcels" (unlisted) is not one.
    related = visitor.get("/api/search?q=parcel").get_json().get("related", [])
    assert not {"parcels", "parcel"} & set(related), related
    assert "parcels" in staff.get("/api/search?q=parcelz").get_json().get("suggestion", "")
