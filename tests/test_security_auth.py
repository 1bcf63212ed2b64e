"""Sessions end when they should, sign-in guessing is slowed without locking the owner out,
redirects stay on the site, and a reverse proxy is trusted only when configured."""

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from library.config import Config, parse_config
from library.models import Role
from tests.conftest import PASSWORD, add_account, app_for, csrf_token, sign_in
from web.services import open_services


@pytest.fixture
def app(config: Config) -> Iterator[Flask]:
    add_account(config, "ana@example.org", "admin")
    with app_for(config) as app:
        yield app


def _config(tmp_path: Path, **web: object) -> Config:
    return parse_config({"web": web}, tmp_path / "home", "test")


def _from(client: FlaskClient, address: str) -> FlaskClient:
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _signed_in(client: FlaskClient) -> bool:
    return client.get("/jobs").status_code == 200


# -- item 3: a session names the account's current session key, not just its id ---------------


def test_a_removed_accounts_session_does_not_sign_in_the_next_account(app: Flask) -> None:
    users = app.extensions["recall"].users
    old, _ = users.add("old@example.org", PASSWORD, Role.ADMIN)
    client = app.test_client()
    sign_in(client, "old@example.org")
    assert _signed_in(client)
    users.remove("old@example.org")
    new, _ = users.add("new@example.org", PASSWORD, Role.ADMIN)
    assert new.id > old.id  # ids are never handed out again
    assert not _signed_in(client)
    assert "new@example.org" not in client.get("/").get_data(as_text=True)


def test_signing_out_ends_every_session_of_the_account(app: Flask) -> None:
    laptop, phone = app.test_client(), app.test_client()
    sign_in(laptop, "ana@example.org")
    sign_in(phone, "ana@example.org")
    assert _signed_in(laptop) and _signed_in(phone)
    kept = phone.get_cookie("recall_session")
    assert kept is not None
    laptop.post("/logout", data={"csrf_token": csrf_token(laptop, "/")})
    assert not _signed_in(phone)
    # A copy of the cookie kept from before the sign-out does not work either.
    thief = app.test_client()
    thief.set_cookie("recall_session", kept.value)
    assert not _signed_in(thief)


def test_a_new_password_ends_sessions_even_from_another_process(app: Flask, config: Config) -> None:
    token = app.extensions["recall"].users.new_token("ana@example.org")
    client = app.test_client()
    sign_in(client, "ana@example.org")
    assert _signed_in(client)
    other = open_services(config)  # as `recall user password` does, in its own process
    try:
        other.users.set_password("ana@example.org", "another long passphrase")
    finally:
        other.close()
    assert not _signed_in(client)
    # API tokens are not sessions: they keep working until replaced or the account is removed.
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/jobs", headers=bearer).status_code == 200
    assert sign_in(client, "ana@example.org", "another long passphrase").status_code == 302  # type: ignore[attr-defined]
    app.extensions["recall"].users.remove("ana@example.org")
    assert client.get("/api/jobs", headers=bearer).status_code == 401


def test_signing_in_starts_a_fresh_session(app: Flask) -> None:
    client = app.test_client()
    before = csrf_token(client)  # known to whoever planted this session cookie
    sign_in(client, "ana@example.org")
    assert client.post("/logout", data={"csrf_token": before}).status_code == 400
    assert _signed_in(client)


def _aged(app: Flask, cookie: str, days: float) -> str:
    """The same session cookie as if the browser had last used it ``days`` ago."""
    real = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    assert real is not None
    data = real.loads(cookie)

    class Then(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time() - days * 86400)

    old = URLSafeTimedSerializer(
        app.secret_key,  # type: ignore[arg-type]
        salt=real.salt,
        serializer=real.serializer,
        signer=Then,
        signer_kwargs=real.signer_kwargs,
    )
    return old.dumps(data)


def test_a_session_ends_after_the_configured_idle_days(tmp_path: Path) -> None:
    config = _config(tmp_path, session_idle_days=3)
    add_account(config, "ana@example.org", "staff")
    with app_for(config) as app:
        client = app.test_client()
        signed = sign_in(client, "ana@example.org")
        cookies = signed.headers.getlist("Set-Cookie")  # type: ignore[attr-defined]
        assert any(c.startswith("recall_session=") and "Expires=" in c for c in cookies)
        cookie = client.get_cookie("recall_session")
        assert cookie is not None
        client.set_cookie("recall_session", _aged(app, cookie.value, 2.9))
        assert _signed_in(client)  # each visit starts the idle time anew
        cookie = client.get_cookie("recall_session")
        assert cookie is not None
        client.set_cookie("recall_session", _aged(app, cookie.value, 3.1))
        assert not _signed_in(client)


def test_idle_days_default_to_fourteen_and_must_be_positive(tmp_path: Path) -> None:
    from library.errors import ConfigError

    assert _config(tmp_path).web.session_idle_days == 14
    with pytest.raises(ConfigError, match="session_idle_days"):
        _config(tmp_path, session_idle_days=0)


# -- item 5: guessing is slowed per address; a stranger cannot lock the owner out --------------


def _fail(client: FlaskClient, email: str = "ana@example.org") -> int:
    return sign_in(client, email, "not the password").status_code  # type: ignore[attr-defined, no-any-return]


def test_a_stranger_guessing_does_not_lock_the_owner_out(app: Flask) -> None:
    stranger = _from(app.test_client(), "203.0.113.9")
    statuses = [_fail(stranger) for _ in range(8)]
    assert statuses == [401] * 5 + [429] * 3
    owner = _from(app.test_client(), "198.51.100.7")
    assert sign_in(owner, "ana@example.org").status_code == 302  # type: ignore[attr-defined]
    # The guessing address stays throttled, even with the right password, and is told when
    # to come back.
    refused = sign_in(stranger, "ana@example.org")
    assert refused.status_code == 429  # type: ignore[attr-defined]
    assert 0 < int(refused.headers["Retry-After"]) <= 15 * 60  # type: ignore[attr-defined]


@pytest.mark.slow
def test_guessing_from_many_addresses_spares_browsers_that_signed_in_before(app: Flask) -> None:
    known = _from(app.test_client(), "198.51.100.7")
    assert sign_in(known, "ana@example.org").status_code == 302  # type: ignore[attr-defined]
    attacker = app.test_client()
    statuses = [_fail(_from(attacker, f"203.0.113.{n}")) for n in range(1, 26)]
    assert statuses[0] == 401 and statuses[-1] == 429  # the slower limit for the account
    newcomer = _from(app.test_client(), "192.0.2.44")
    assert sign_in(newcomer, "ana@example.org").status_code == 429  # type: ignore[attr-defined]
    assert sign_in(known, "ana@example.org").status_code == 302  # type: ignore[attr-defined]


# -- item 6: after sign-in, only a path on this site ------------------------------------------

HOSTILE = [
    "//evil.example", "////evil.example", "/\\evil.example", "\\\\evil.example",
    "%2F%2Fevil.example", "/%2F/evil.example", "/%2f%2fevil.example", "/%5Cevil.example",
    "https:evil.example", "https://evil.example/", "http:/evil.example", "HTTPS://evil.example",
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,hi", "/\r\nSet-Cookie: x=1",
    "/\rx", "/\nx", "/\t/evil.example", "/%09/evil.example", " //evil.example",
    "/\x00/evil.example", "/\x7f", "evil.example", "../evil", "/.//evil.example/..//",
    "/%0d%0aSet-Cookie:%20x=1", "\u3000//evil.example", "//evil.example%2F",
]  # fmt: skip


@pytest.mark.parametrize("target", HOSTILE)
def test_sign_in_never_redirects_off_the_site(app: Flask, target: str) -> None:
    client = app.test_client()
    response = client.post(
        f"/login?next={quote(target, safe='')}",
        data={"email": "ana@example.org", "password": PASSWORD, "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_sign_in_follows_paths_on_this_site_normalised(app: Flask) -> None:
    client = app.test_client()
    for target, expected in (
        ("/jobs", "/jobs"),
        ("/search?q=open+web&sort=date", "/search?q=open+web&sort=date"),
        ("/a/../jobs", "/jobs"),
        ("/r/abc/", "/r/abc/"),
    ):
        token = csrf_token(client)
        response = client.post(
            f"/login?next={quote(target, safe='')}",
            data={"email": "ana@example.org", "password": PASSWORD, "csrf_token": token},
        )
        assert response.headers["Location"] == expected


# -- item 17: a reverse proxy's headers count only when configured -----------------------------


def _https_sign_in(client: FlaskClient) -> str:
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "recall.example.org"}
    token = csrf_token(client)
    response = client.post(
        "/login",
        data={"email": "ana@example.org", "password": PASSWORD, "csrf_token": token},
        headers={**headers, "Referer": "https://recall.example.org/login"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    cookies = response.headers.getlist("Set-Cookie")
    return next(c for c in cookies if c.startswith("recall_session="))


def test_forwarded_headers_are_ignored_without_trusted_proxies(app: Flask) -> None:
    assert "Secure" not in _https_sign_in(app.test_client())
    client = app.test_client()
    statuses = []
    for n in range(6):
        client.environ_base["HTTP_X_FORWARDED_FOR"] = f"203.0.113.{n}"
        statuses.append(_fail(client))
    assert statuses == [401] * 5 + [429]  # one address, whatever the header claims


def test_a_trusted_proxy_gives_the_scheme_and_the_visitors_address(tmp_path: Path) -> None:
    config = _config(tmp_path, trusted_proxies=1)
    add_account(config, "ana@example.org", "staff")
    with app_for(config) as app:
        assert "Secure" in _https_sign_in(app.test_client())
        stranger = app.test_client()
        stranger.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.9"
        assert [_fail(stranger) for _ in range(6)] == [401] * 5 + [429]
        owner = app.test_client()
        owner.environ_base["HTTP_X_FORWARDED_FOR"] = "198.51.100.7"
        assert sign_in(owner, "ana@example.org").status_code == 302  # type: ignore[attr-defined]


def test_an_https_base_url_keeps_the_cookie_secure_behind_any_proxy(tmp_path: Path) -> None:
    config = parse_config(
        {"library": {"base_url": "https://recall.example.org"}}, tmp_path / "home", "test"
    )
    add_account(config, "ana@example.org", "staff")
    with app_for(config) as app:
        assert "Secure" in _https_sign_in(app.test_client())


def test_trusted_proxies_must_not_be_negative(tmp_path: Path) -> None:
    from library.errors import ConfigError

    assert _config(tmp_path).web.trusted_proxies == 0
    with pytest.raises(ConfigError, match="trusted_proxies"):
        _config(tmp_path, trusted_proxies=-1)
    with pytest.raises(ConfigError, match="base_url"):
        parse_config({"library": {"base_url": "recall.example.org"}}, tmp_path, "test")


def test_absolute_links_use_base_url_not_the_host_header(site_config: Config) -> None:
    config = dataclasses.replace(
        site_config,
        library=dataclasses.replace(site_config.library, base_url="https://recall.example.org"),
    )
    with app_for(config) as app:
        client = app.test_client()
        rid = app.extensions["recall"].catalog.recordings()[0].id
        forged = {"Host": "evil.example"}
        oembed = client.get(f"/oembed?url=https://recall.example.org/r/{rid}", headers=forged)
        text = oembed.get_data(as_text=True)
        assert oembed.status_code == 200 and "evil.example" not in text
        assert f"https://recall.example.org/embed/{rid}" in oembed.get_json()["html"]
        page = client.get(f"/r/{rid}", headers=forged).get_data(as_text=True)
        assert "evil.example" not in page
        assert 'content="https://recall.example.org/embed/' in page
        assert "https://recall.example.org/oembed?url=https" in page
