"""[web] accel_redirect: after the permission check, media, posters, stills and clips are
handed to nginx (X-Accel-Redirect, empty body); without it they stream as before."""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from pathlib import Path

import pytest

from ingest.manage import update_metadata
from library.config import Config, parse_config
from library.errors import ConfigError
from library.models import Visibility
from tests.conftest import add_account, app_for, sign_in
from web.services import open_services

PREFIX = "/_recall_media/"


def _accel(config: Config, prefix: str = PREFIX) -> Config:
    return dataclasses.replace(config, web=dataclasses.replace(config.web, accel_redirect=prefix))


def _files(config: Config) -> dict[str, tuple[str, str, str]]:
    """title -> (id, playable file, poster file)."""
    services = open_services(config)
    try:
        return {
            r.meta.title: (r.id, r.playable_file, r.poster_file)
            for r in services.catalog.recordings()
        }
    finally:
        services.close()


def test_media_and_posters_are_handed_to_nginx_with_their_type_and_caching(
    site_config: Config,
) -> None:
    talk, playable, poster = _files(site_config)["Online gatherings people enjoy"]
    with app_for(_accel(site_config)) as app:
        client = app.test_client()
        for name, kind in ((playable, "video/"), (poster, "image/jpeg")):
            response = client.get(f"/media/{talk}/{name}", headers={"Range": "bytes=0-99"})
            assert response.status_code == 200
            assert response.headers["X-Accel-Redirect"] == f"{PREFIX}{talk}/{name}"
            assert response.data == b""
            assert (response.mimetype or "").startswith(kind)
            assert response.cache_control.public and response.cache_control.max_age == 365 * 86400
        still = client.get(f"/media/{talk}/still.jpg?t=3")
        assert still.headers["X-Accel-Redirect"] == f"{PREFIX}{talk}/cache/frame-3.jpg"
        assert still.data == b"" and still.mimetype == "image/jpeg"


def test_clips_are_handed_to_nginx_as_downloads(site_config: Config) -> None:
    talk = _files(site_config)["Online gatherings people enjoy"][0]
    with app_for(_accel(site_config)) as app:
        response = app.test_client().get(f"/r/{talk}/clip.mp4?start=1&end=5")
    assert response.status_code == 200, response.data
    sent = response.headers["X-Accel-Redirect"]
    assert sent.startswith(f"{PREFIX}{talk}/cache/clip-") and sent.endswith(".mp4")
    assert (site_config.media_dir / sent.removeprefix(PREFIX)).is_file()
    assert response.data == b"" and response.mimetype == "video/mp4"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")


def test_without_the_setting_files_stream_through_the_site(site_config: Config) -> None:
    talk, playable, _ = _files(site_config)["Online gatherings people enjoy"]
    with app_for(site_config) as app:
        response = app.test_client().get(
            f"/media/{talk}/{playable}", headers={"Range": "bytes=0-99"}
        )
    assert response.status_code == 206 and len(response.data) == 100
    assert "X-Accel-Redirect" not in response.headers


def test_a_private_recording_is_not_found_for_visitors_but_handed_over_for_staff(
    site_config: Config,
) -> None:
    config = _accel(site_config)
    jfk, playable, poster = _files(config)["Inaugural address"]
    email = "accel-staff@example.org"
    add_account(config, email, "staff")
    with app_for(config) as app:
        services = app.extensions["recall"]
        meta = services.catalog.get(jfk).meta
        parts = services.catalog, services.storage, services.index
        update_metadata(*parts, jfk, replace(meta, visibility=Visibility.PRIVATE))
        try:
            visitor = app.test_client()
            for url in (f"/media/{jfk}/{playable}", f"/media/{jfk}/{poster}",
                        f"/r/{jfk}/clip.m4a?start=1&end=5", f"/media/{jfk}/still.jpg"):  # fmt: skip
                response = visitor.get(url)
                assert response.status_code == 404, url
                assert "X-Accel-Redirect" not in response.headers
            staff = app.test_client()
            sign_in(staff, email)
            response = staff.get(f"/media/{jfk}/{playable}")
            assert response.headers["X-Accel-Redirect"] == f"{PREFIX}{jfk}/{playable}"
            assert response.cache_control.private and not response.cache_control.public
        finally:
            update_metadata(*parts, jfk, meta)


@pytest.mark.parametrize("prefix", ["_media/", "/_media", "/a b/", "/x/\n/"])
def test_an_accel_prefix_must_start_and_end_with_a_slash(prefix: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="accel_redirect"):
        parse_config({"web": {"accel_redirect": prefix}}, tmp_path)
    assert parse_config({"web": {"accel_redirect": PREFIX}}, tmp_path).web.accel_redirect == PREFIX
