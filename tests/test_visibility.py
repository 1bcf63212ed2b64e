"""What visitors of the site may see: public is listed and searched, unlisted is reachable by
its link only, private does not exist for them (staff accounts come with issue 4)."""

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from index.search import TranscriptIndex
from library.config import Config, IndexConfig, parse_config
from library.models import RecordingMeta, Visibility
from tests.conftest import JFK, MediaFactory
from tests.test_web import BufferedClient
from web.app import create_app
from web.services import open_services

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def mixed_config(tmp_path_factory: pytest.TempPathFactory, media: MediaFactory) -> Config:
    config = parse_config({}, tmp_path_factory.mktemp("mixed"), "mixed")
    services = open_services(config)
    try:
        for path, title, visibility in (
            (JFK, "Secret address", Visibility.PRIVATE),
            (media("tone.m4a"), "Unlisted tone", Visibility.UNLISTED),
            (media("tone.mp3"), "Public tone", Visibility.PUBLIC),
        ):
            services.pipeline.ingest(path, RecordingMeta(title=title, visibility=visibility))
    finally:
        services.close()
    return config


@pytest.fixture
def client(mixed_config: Config) -> Iterator[FlaskClient]:
    app: Flask = create_app(mixed_config)
    app.test_client_class = BufferedClient
    yield app.test_client()
    app.extensions["recall"].close()


def by_title(config: Config) -> dict[str, str]:
    services = open_services(config)
    try:
        return {r.title: r.id for r in services.catalog.recordings()}
    finally:
        services.close()


def test_private_recordings_do_not_exist_for_visitors(
    client: FlaskClient, mixed_config: Config
) -> None:
    rid = by_title(mixed_config)["Secret address"]
    urls = [
        "/", "/search?q=ask+not+what+your+country", "/api/search?q=country",
        "/api/recordings", f"/r/{rid}", f"/r/{rid}?start=1&end=5", f"/embed/{rid}",
        f"/api/recordings/{rid}", f"/api/recordings/{rid}/transcript.txt",
        f"/media/{rid}/playable.m4a", f"/media/{rid}/poster.jpg", f"/media/{rid}/still.jpg",
        f"/r/{rid}/clip.m4a?start=1&end=5", f"/oembed?url=http://localhost/r/{rid}",
    ]  # fmt: skip
    for url in urls:
        response = client.get(url)
        body = response.get_data(as_text=True).lower()
        # The query is echoed; the recording's own words and title must not be.
        assert "fellow americans" not in body and "secret address" not in body, url
        assert response.status_code in (200, 400, 404), url
        if rid in url:
            assert response.status_code == 404, url


def test_unlisted_recordings_open_by_link_but_are_not_listed(
    client: FlaskClient, mixed_config: Config
) -> None:
    rid = by_title(mixed_config)["Unlisted tone"]
    assert client.get(f"/r/{rid}").status_code == 200
    assert client.get(f"/embed/{rid}").status_code == 200
    assert client.get(f"/media/{rid}/playable.m4a").status_code == 200
    assert client.get(f"/oembed?url=http://localhost/r/{rid}").status_code == 200
    assert "Unlisted tone" not in client.get("/").get_data(as_text=True)
    assert [r["title"] for r in client.get("/api/recordings").get_json()] == ["Public tone"]


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
