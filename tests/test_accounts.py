"""Staff accounts: the CLI, sign-in, sessions, CSRF, API tokens and the login rate limit."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from library.config import Config
from library.errors import AccountError, UserNotFound
from library.models import Role
from tests.conftest import (
    PASSWORD,
    add_account,
    app_for,
    csrf_token,
    run_recall,
    sign_in,
    write_config,
)
from web.services import Services


def _session_cookie(response: object) -> str:
    """The Set-Cookie header of the session (sign-in also sets the known-browser cookie)."""
    headers = response.headers.getlist("Set-Cookie")  # type: ignore[attr-defined]
    return next(h for h in headers if h.startswith("recall_session="))  # type: ignore[no-any-return]


@pytest.fixture
def app(config: Config) -> Iterator[Flask]:
    add_account(config, "ana@example.org", "staff")
    with app_for(config) as app:
        yield app


def test_passwords_are_stored_as_scrypt_hashes_and_checked(services: Services) -> None:
    user, token = services.users.add(" Ana@Example.org ", PASSWORD, Role.ADMIN)
    assert user.email == "ana@example.org" and user.is_admin
    with services.catalog.engine.connect() as db:
        stored = db.exec_driver_sql("SELECT password_hash, token_hash FROM users").one()
    assert stored[0].startswith("scrypt:") and PASSWORD not in stored[0]
    assert token not in stored[1]
    assert services.users.authenticate("ANA@example.org", PASSWORD) == user
    assert services.users.authenticate("ana@example.org", "wrong password!") is None
    assert services.users.authenticate("nobody@example.org", PASSWORD) is None
    assert services.users.by_token(token) == user
    new = services.users.new_token("ana@example.org")
    assert services.users.by_token(token) is None and services.users.by_token(new) == user


def test_bad_accounts_are_refused(services: Services) -> None:
    with pytest.raises(AccountError, match="not an email"):
        services.users.add("ana", PASSWORD, Role.STAFF)
    with pytest.raises(AccountError, match="at least 10 characters"):
        services.users.add("ana@example.org", "short", Role.STAFF)
    services.users.add("ana@example.org", PASSWORD, Role.STAFF)
    with pytest.raises(AccountError, match="exists already"):
        services.users.add("ana@example.org", PASSWORD, Role.ADMIN)
    with pytest.raises(UserNotFound):
        services.users.remove("bob@example.org")


@pytest.mark.slow
def test_user_add_reads_the_password_from_stdin_and_prints_a_token(tmp_path: Path) -> None:
    import subprocess

    from tests.conftest import RECALL

    config = write_config(tmp_path)
    added = subprocess.run(
        [*RECALL, "--config", str(config), "user", "add", "ana@example.org", "--role", "staff",
         "--password-stdin"],
        input=PASSWORD + "\n", capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert len(added.stdout.strip()) >= 40 and "Added ana@example.org (staff)" in added.stderr
    listed = run_recall("--config", str(config), "user", "list", cwd=tmp_path)
    assert listed.stdout.startswith("ana@example.org\tstaff\t")
    short = subprocess.run(
        [*RECALL, "--config", str(config), "user", "add", "bob@example.org", "--role", "admin",
         "--password-stdin"],
        input="short\n", capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert short.returncode == 2
    expected = "recall: bob@example.org: the password needs at least 10 characters"
    assert short.stderr.strip() == expected
    assert "Traceback" not in short.stderr
    bad_role = run_recall("--config", str(config), "user", "add", "c@example.org", "--role", "x",
                          cwd=tmp_path)  # fmt: skip
    assert bad_role.returncode == 2 and "'x' is not one of 'staff', 'admin'" in bad_role.stderr


def test_sign_in_and_out(client: FlaskClient) -> None:
    assert client.get("/jobs").status_code == 302
    signed = sign_in(client, "ana@example.org")
    assert signed.status_code == 302 and signed.headers["Location"] == "/"  # type: ignore[attr-defined]
    cookie = _session_cookie(signed)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    page = client.get("/").get_data(as_text=True)
    assert "ana@example.org" in page and "Sign out" in page
    assert client.get("/jobs").status_code == 200
    # Signing out needs the CSRF token: a link on another site cannot do it.
    assert client.post("/logout").status_code == 400
    assert client.post("/logout", data={"csrf_token": csrf_token(client, "/")}).status_code == 302
    assert client.get("/jobs").status_code == 302


def test_a_wrong_password_says_nothing_about_which_part_was_wrong(client: FlaskClient) -> None:
    wrong = sign_in(client, "ana@example.org", "not the password")
    unknown = sign_in(client, "who@example.org")
    for response in (wrong, unknown):
        assert response.status_code == 401  # type: ignore[attr-defined]
        assert "do not match an account" in response.get_data(as_text=True)  # type: ignore[attr-defined]


def test_sign_in_needs_the_csrf_token(client: FlaskClient) -> None:
    response = client.post("/login", data={"email": "ana@example.org", "password": PASSWORD})
    assert response.status_code == 400 and "CSRF" in response.get_data(as_text=True)


def test_the_cookie_is_secure_over_https(client: FlaskClient) -> None:
    page = client.get("/login", base_url="https://recall.example.org").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = client.post(
        "/login",
        data={"email": "ana@example.org", "password": PASSWORD, "csrf_token": token},
        base_url="https://recall.example.org",
        headers={"Referer": "https://recall.example.org/login"},
    )
    assert response.status_code == 302
    assert "Secure" in _session_cookie(response)


def test_after_sign_in_only_local_pages_are_followed(client: FlaskClient) -> None:
    for target, expected in (("/jobs", "/jobs"), ("//evil.example/x", "/"),
                             ("https://evil.example/", "/")):  # fmt: skip
        # Each sign-in starts a fresh session, with a new CSRF token.
        token = csrf_token(client)
        response = client.post(
            f"/login?next={target}",
            data={"email": "ana@example.org", "password": PASSWORD, "csrf_token": token},
        )
        assert response.headers["Location"] == expected


def test_repeated_failed_sign_ins_are_slowed_down(client: FlaskClient) -> None:
    statuses = [sign_in(client, "ana@example.org", "guess number one").status_code  # type: ignore[attr-defined]
                for _ in range(6)]  # fmt: skip
    assert statuses == [401] * 5 + [429]
    assert sign_in(client, "ana@example.org").status_code == 429  # type: ignore[attr-defined]
    # Another account from the same address still works (the address limit is higher).
    add_other = client.application.extensions["recall"].users
    add_other.add("bob@example.org", PASSWORD, Role.STAFF)
    assert sign_in(client, "bob@example.org").status_code == 302  # type: ignore[attr-defined]


def test_api_writes_take_a_token_or_a_csrf_header(app: Flask, config: Config) -> None:
    token = add_account(config, "script@example.org", "staff")
    client = app.test_client()
    url = "/api/jobs/nosuchid/cancel"
    assert client.post(url).status_code == 401  # signed out, no API token
    assert client.post(url, headers={"Authorization": "Bearer wrong"}).status_code == 401
    # With the token: no CSRF needed; the job does not exist.
    response = client.post(url, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 404 and response.get_json()["error"] == "Not found"
    sign_in(client, "ana@example.org")
    header = {"X-CSRFToken": csrf_token(client, "/jobs")}
    assert client.post(url, headers=header).status_code == 404
    assert client.post(url).status_code == 400


def test_a_new_api_token_on_the_account_page(client: FlaskClient) -> None:
    sign_in(client, "ana@example.org")
    page = client.post("/account", data={"csrf_token": csrf_token(client, "/account")})
    import re

    token = re.search(r'id="api-token">([^<]+)<', page.get_data(as_text=True))
    assert token
    services = client.application.extensions["recall"]
    assert services.users.by_token(token.group(1)).email == "ana@example.org"


def test_administrators_manage_accounts_on_the_site(app: Flask, config: Config) -> None:
    add_account(config, "root@example.org", "admin")
    admin = app.test_client()
    sign_in(admin, "root@example.org")
    staff = app.test_client()
    sign_in(staff, "ana@example.org")
    assert staff.get("/users").status_code == 403
    page = admin.get("/users").get_data(as_text=True)
    assert "ana@example.org" in page and "root@example.org" in page
    token = csrf_token(admin, "/users")
    added = admin.post(
        "/users",
        data={"csrf_token": token, "email": "new@example.org", "password": PASSWORD,
              "role": "staff"},
    )  # fmt: skip
    assert added.status_code == 302
    short = admin.post(
        "/users",
        data={"csrf_token": token, "email": "x@example.org", "password": "short", "role": "staff"},
    )
    assert short.status_code == 400 and "at least 10" in short.get_data(as_text=True)
    users = app.extensions["recall"].users
    ana = next(u for u in users.all() if u.email == "ana@example.org")
    root = next(u for u in users.all() if u.email == "root@example.org")
    assert admin.post(f"/users/{root.id}/remove", data={"csrf_token": token}).status_code == 409
    promoted = admin.post(f"/users/{ana.id}/role", data={"csrf_token": token, "role": "admin"})
    assert promoted.status_code == 302 and users.get(ana.id).is_admin
    assert staff.get("/users").status_code == 200  # the new role applies at once
    assert admin.post(f"/users/{ana.id}/remove", data={"csrf_token": token}).status_code == 302
    assert staff.get("/jobs").status_code == 302  # the removed account is signed out
