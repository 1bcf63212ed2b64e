"""Staff sign-in: sessions (Flask-Login), API tokens, CSRF on every state change (Flask-WTF);
the sign-in limits are in :mod:`web.throttle`.

A session names the account's current session key (:mod:`library.users`), not just its id:
signing out or a new password replaces the key and so ends every session of the account, and a
removed account's cookie never signs in as another. A session ends after
``[web] session_idle_days`` without a visit.

Visitors need no account. A browser signs in on /login and sends the CSRF token with every
form and with the ``X-CSRFToken`` header on API writes; scripts send
``Authorization: Bearer <token>`` instead (``recall user token EMAIL``) and need no CSRF token,
since a browser never adds that header by itself.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import posixpath
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from library.models import User
from web import throttle
from web.services import services

bp = Blueprint("auth", __name__)

_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Browsers drop tabs and newlines inside a URL and spaces and controls around it ("/\t/evil"
# becomes "//evil"), and treat "\\" as "/"; a CR or LF in a Location header is an error.
_NOT_IN_NEXT = re.compile(r"[\x00-\x20\x7f\\]")

_F = TypeVar("_F", bound=Callable[..., Any])


class _Staff(UserMixin):  # type: ignore[misc]
    def __init__(self, user: User, session_id: str) -> None:
        self.user = user
        self.session_id = session_id

    def get_id(self) -> str:
        return self.session_id


def current_staff() -> User | None:
    """The signed-in account (by session or API token); None for a visitor."""
    staff = g.get("token_user")
    if staff is not None:
        return staff  # type: ignore[no-any-return]
    if current_user and current_user.is_authenticated:
        return current_user.user  # type: ignore[no-any-return]
    return None


def staff_required(view: _F) -> _F:
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_staff() is None:
            return _unauthorized()
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def admin_required(view: _F) -> _F:
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        user = current_staff()
        if user is None:
            return _unauthorized()
        if not user.is_admin:
            abort(403, "Only administrators can do this.")
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def _unauthorized() -> Any:
    if request.path.startswith("/api/"):
        abort(401, "Sign in, or send 'Authorization: Bearer <token>'.")
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def safe_next(target: str | None) -> str:
    """Where to go after signing in: only a path on this site, normalised; else the library.
    Never another host (an open redirect), whatever spelling a browser would read as one."""
    home: str = url_for("pages.library")
    if not target or _NOT_IN_NEXT.search(target) or _NOT_IN_NEXT.search(unquote(target)):
        return home
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return home
    path = posixpath.normpath(parts.path)  # "/a/../jobs" is "/jobs"; "///x" is "/x"
    if parts.path.endswith("/") and path != "/":
        path += "/"
    if path.startswith("//") or unquote(path).startswith("//"):
        return home
    return path + (f"?{parts.query}" if parts.query else "")


class LoginForm(FlaskForm):  # type: ignore[misc]
    email = EmailField("Email", validators=[DataRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    form = LoginForm()
    problem = ""
    if form.validate_on_submit():
        user = services().users.authenticate(form.email.data, form.password.data)
        if user is not None:
            # A fresh session: nothing planted before sign-in (a known CSRF token) carries over.
            session.clear()
            login_user(_Staff(user, services().users.session_id(user.id)))
            session.permanent = True  # expires after session_idle_days without a visit
            response = redirect(safe_next(request.args.get("next")))
            throttle.remember_browser(response, user.email, _secure_site())
            return response
        problem = "That email and password do not match an account."
    elif request.method == "POST":
        problem = "Enter your email and password."
    status = 401 if problem else 200
    return render_template("login.html", form=form, problem=problem), status


@bp.route("/logout", methods=["GET", "POST"])
def logout() -> Any:
    if request.method == "POST":  # CSRF-checked: a link elsewhere cannot sign anyone out
        user = current_staff()
        if user is not None and g.token_user is None:
            # Everywhere: a cookie copied before, or left on another machine, stops working.
            services().users.end_sessions(user.id)
        logout_user()
        flash("You are signed out everywhere.")
        return redirect(url_for("pages.library"))
    return render_template("logout.html")


@bp.route("/account", methods=["GET", "POST"])
@staff_required
def account() -> Any:
    user = current_staff()
    assert user is not None
    token = ""
    if request.method == "POST":
        token = services().users.new_token(user.email)
    return render_template("account.html", user=user, token=token)


def _load_user(session_id: str) -> _Staff | None:
    user = services().users.by_session(session_id)
    return _Staff(user, session_id) if user else None


def _token_user() -> User | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    user = services().users.by_token(token.strip())
    if user is None:
        abort(401, "That API token is not valid.")
    return user


def _before_request(csrf: CSRFProtect) -> None:
    g.token_user = _token_user()
    if request.method in _UNSAFE and g.token_user is None:
        if request.path.startswith("/api/") and current_staff() is None:
            abort(401, "Sign in, or send 'Authorization: Bearer <token>'.")
        csrf.protect()


def _secure_site() -> bool:
    """Reached over HTTPS (as told by a trusted proxy, see [web] trusted_proxies), or public at
    an https:// base_url."""
    return request.is_secure or services().config.library.base_url.startswith("https://")


class _SessionInterface(SecureCookieSessionInterface):
    """The session cookie is marked Secure whenever the site is served over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return _secure_site() or bool(super().get_cookie_secure(app))


def _secret_key(data_dir: Path) -> str:
    """Signs session cookies and CSRF tokens: made once per library and kept beside it, so
    sessions survive a restart and several processes agree."""
    path = data_dir / "secret_key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(".secret_key.part")
        tmp.write_text(secrets.token_hex(32))
        tmp.chmod(0o600)
        try:
            os.link(tmp, path)  # fails if another process made it first: then theirs is used
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    return path.read_text().strip()


def init_app(app: Flask) -> None:
    config = app.extensions["recall"].config
    app.secret_key = _secret_key(config.data_dir)
    app.session_interface = _SessionInterface()
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="recall_session",
        # Checked in _before_request instead, so token-authenticated API calls skip it.
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=None,  # valid for the session, so a long upload page still saves
        # Flask refuses a cookie signed longer ago than this, and signs it anew on each visit.
        PERMANENT_SESSION_LIFETIME=dt.timedelta(days=config.web.session_idle_days),
        SESSION_REFRESH_EACH_REQUEST=True,
    )
    manager = LoginManager(app)
    manager.session_protection = "basic"

    manager.user_loader(_load_user)

    csrf = CSRFProtect(app)
    app.before_request(functools.partial(_before_request, csrf))
    app.register_blueprint(bp)
    throttle.init_app(app, "auth.login", config.web)


def no_store(response: Response) -> Response:
    """Pages that depend on who is signed in must not be kept by shared caches."""
    response.headers["Cache-Control"] = "private, no-store"
    return response
