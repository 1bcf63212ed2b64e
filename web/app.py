"""The Flask application factory."""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, Response, current_app, g, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from library.config import Config, load_config
from library.errors import (
    AccountError,
    BadParameter,
    Conflict,
    InsufficientStorage,
    MediaError,
    MetadataError,
    NotFound,
    QueryError,
    RecallError,
)
from library.timecode import clock
from web.services import Services, open_services

# Only embeds may be framed by other sites; every other page refuses framing.
_CSP = "default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self'; "
_FRAMING_DENIED = "frame-ancestors 'none'"
_FRAMING_ALLOWED = "frame-ancestors *"


def services() -> Services:
    """The open catalog, index and storage of the app serving this request."""
    return current_app.extensions["recall"]  # type: ignore[no-any-return]


def create_app(config: Config | None = None, opened: Services | None = None) -> Flask:
    """The site for ``config`` (default: ``load_config()``), or for services already open."""
    app = Flask(__name__)
    app.extensions["recall"] = opened or open_services(config or load_config())
    app.json.sort_keys = False  # type: ignore[attr-defined]

    from web import api, auth, manage, media, pages, staff, uploads

    auth.init_app(app)
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(media.bp)
    app.register_blueprint(staff.bp)
    app.register_blueprint(uploads.bp)
    app.register_blueprint(manage.bp)
    app.register_error_handler(RecallError, _recall_error)
    app.register_error_handler(HTTPException, _http_error)
    app.before_request(_start_timer)
    app.after_request(_security_headers)
    app.jinja_env.filters["clock"] = clock
    app.jinja_env.globals["clip_query"] = pages.clip_query
    app.jinja_env.filters["combine_args"] = pages.combine_args
    app.jinja_env.globals["current_staff"] = auth.current_staff
    return app


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/oembed"


def _error(status: int, title: str, message: str) -> tuple[Any, int]:
    if _wants_json():
        return jsonify({"error": title, "message": message}), status
    return render_template("error.html", status=status, title=title, message=message), status


def _recall_error(e: RecallError) -> tuple[Any, int]:
    """The one place domain errors become HTTP."""
    if isinstance(e, NotFound):
        return _error(404, "Not found", str(e))
    if isinstance(e, BadParameter | QueryError | AccountError | MetadataError):
        return _error(400, "Bad request", str(e))
    if isinstance(e, Conflict):
        return _error(409, "Conflict", str(e))
    if isinstance(e, InsufficientStorage):
        return _error(507, "Insufficient storage", str(e))
    if isinstance(e, MediaError):
        return _error(500, "Media error", f"{e.reason}")
    return _error(500, "Error", str(e))


def _http_error(e: HTTPException) -> tuple[Any, int]:
    return _error(e.code or 500, e.name, e.description or "")


def _start_timer() -> None:
    g.started = time.perf_counter()


def _security_headers(response: Response) -> Response:
    # Server time, for browsers' developer tools and bench/serve.py.
    elapsed_ms = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
    response.headers["Server-Timing"] = f"app;dur={elapsed_ms:.1f}"
    framing = _FRAMING_ALLOWED if request.path.startswith("/embed/") else _FRAMING_DENIED
    response.headers["Content-Security-Policy"] = _CSP + framing
    if not request.path.startswith("/embed/"):
        response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.vary.add("Cookie")
    from web.auth import current_staff

    if current_staff() is not None:
        # What staff see may be private: no shared cache keeps it.
        cached = response.cache_control.max_age is not None
        response.cache_control.public = False
        response.cache_control.private = True
        if not cached:
            response.cache_control.no_store = True
    response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    return response
