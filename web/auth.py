"""Staff sign-in: sessions (Flask-Login), API tokens, CSRF on every state change (Flask-WTF),
and rate-limited login attempts (Flask-Limiter).

Visitors need no account. A browser signs in on /login and sends the CSRF token with every
form and with the ``X-CSRFToken`` header on API writes; scripts send
``Authorization: Bearer <token>`` instead (``recall user token EMAIL``) and need no CSRF token,
since a browser never adds that header by itself.
"""

from __future__ import annotations

import functools
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

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
    url_for,
)
from flask.sessions import SecureCookieSessionInterface
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from library.models import User
from web.app import services

bp = Blueprint("auth", __name__)

# Per address: enough for a person who mistypes, far too few for guessing. Per account: failed
# attempts only, so one attacker spread over many addresses still gets five tries a quarter.
ADDRESS_LIMIT = "10 per minute;60 per hour"
ACCOUNT_LIMIT = "5 per 15 minutes"
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})

_F = TypeVar("_F", bound=Callable[..., Any])


class _Staff(UserMixin):  # type: ignore[misc]
    def __init__(self, user: User) -> None:
        self.user = user

    def get_id(self) -> str:
        return str(self.user.id)


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


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never another host (an open redirect)."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and "\\" not in target:
            return target
    return url_for("pages.library")


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
            login_user(_Staff(user))
            return redirect(_safe_next(request.args.get("next")))
        problem = "That email and password do not match an account."
    elif request.method == "POST":
        problem = "Enter your email and password."
    status = 401 if problem else 200
    return render_template("login.html", form=form, problem=problem), status


@bp.route("/logout", methods=["GET", "POST"])
def logout() -> Any:
    if request.method == "POST":  # CSRF-checked: a link elsewhere cannot sign anyone out
        logout_user()
        flash("You are signed out.")
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


def _load_user(user_id: str) -> _Staff | None:
    user = services().users.get(int(user_id)) if user_id.isdigit() else None
    return _Staff(user) if user else None


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


class _SessionInterface(SecureCookieSessionInterface):
    """The session cookie is marked Secure whenever the site is reached over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return request.is_secure or bool(super().get_cookie_secure(app))


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


def _too_many(e: Exception) -> tuple[str, int]:
    return (
        render_template(
            "error.html",
            status=429,
            title="Too many attempts",
            message="Too many sign-in attempts. Wait a few minutes, then try again.",
        ),
        429,
    )


def init_app(app: Flask) -> None:
    app.secret_key = _secret_key(app.extensions["recall"].config.data_dir)
    app.session_interface = _SessionInterface()
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="recall_session",
        # Checked in _before_request instead, so token-authenticated API calls skip it.
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=None,  # valid for the session, so a long upload page still saves
    )
    manager = LoginManager(app)
    manager.session_protection = "basic"

    manager.user_loader(_load_user)

    csrf = CSRFProtect(app)
    app.before_request(functools.partial(_before_request, csrf))
    app.register_blueprint(bp)
    limiter = Limiter(get_remote_address, app=app, storage_uri="memory://")
    view: Any = app.view_functions["auth.login"]
    view = limiter.limit(ADDRESS_LIMIT, methods=["POST"])(view)
    view = limiter.limit(
        ACCOUNT_LIMIT,
        methods=["POST"],
        key_func=lambda: request.form.get("email", "").strip().lower() or "-",
        deduct_when=lambda response: response.status_code != 302,
    )(view)
    app.view_functions["auth.login"] = view
    app.register_error_handler(429, _too_many)


def no_store(response: Response) -> Response:
    """Pages that depend on who is signed in must not be kept by shared caches."""
    response.headers["Cache-Control"] = "private, no-store"
    return response
