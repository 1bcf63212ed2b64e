"""The Flask application factory."""

from __future__ import annotations

import time
from typing import Any

from flask import (
    Flask,
    Response,
    g,
    has_request_context,
    jsonify,
    render_template,
    request,
)
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from library.config import Config, load_config
from library.errors import (
    AccountError,
    BadParameter,
    Busy,
    Conflict,
    InsufficientStorage,
    MediaError,
    MetadataError,
    NotFound,
    QueryError,
    RecallError,
    TooManyRequests,
)
from library.timecode import clock
from web import (
    api,
    auth,
    glossary,
    health,
    manage,
    media,
    metrics,
    pages,
    present,
    replace,
    review,
    staff,
    uploads,
)
from web.auth import current_staff
from web.services import Services, open_services, public_url

# Only embeds may be framed by other sites; every other page refuses framing.
_CSP = "default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self'; "
_FRAMING_DENIED = "frame-ancestors 'none'"
_FRAMING_ALLOWED = "frame-ancestors *"


class _Site(Flask):
    """Absolute links (oEmbed, OpenGraph, embed code) go to base_url when it is set: the Host
    header is whatever the client sent, and a forged one must not end up in a page a cache
    keeps or in embed code copied to other sites."""

    def url_for(
        self,
        /,
        endpoint: str,
        *,
        _anchor: str | None = None,
        _method: str | None = None,
        _scheme: str | None = None,
        _external: bool | None = None,
        **values: Any,
    ) -> str:
        base = self.extensions["recall"].config.library.base_url
        if (_external or _scheme) and base and has_request_context():
            return public_url(super().url_for(endpoint, _anchor=_anchor, _method=_method, **values))
        return super().url_for(
            endpoint,
            _anchor=_anchor,
            _method=_method,
            _scheme=_scheme,
            _external=_external,
            **values,
        )


def create_app(config: Config | None = None, opened: Services | None = None) -> Flask:
    """The site for ``config`` (default: ``load_config()``), or for services already open."""
    app = _Site(__name__)
    app.extensions["recall"] = opened or open_services(config or load_config())
    hops = app.extensions["recall"].config.web.trusted_proxies
    if hops:
        # Only when configured: without a proxy that overwrites them, anyone can send these.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops
        )
    app.json.sort_keys = False  # type: ignore[attr-defined]

    auth.init_app(app)
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(media.bp)
    app.register_blueprint(staff.bp)
    app.register_blueprint(uploads.bp)
    app.register_blueprint(manage.bp)
    app.register_blueprint(review.bp)
    app.register_blueprint(replace.bp)
    app.register_blueprint(health.bp)
    metrics.init_app(app)
    app.register_blueprint(glossary.bp)
    app.register_error_handler(RecallError, _recall_error)
    app.register_error_handler(HTTPException, _http_error)
    app.before_request(_start_timer)
    app.after_request(_security_headers)
    app.jinja_env.filters["clock"] = clock
    app.jinja_env.globals["clip_query"] = pages.clip_query
    app.jinja_env.filters["combine_args"] = pages.combine_args
    app.jinja_env.filters["marked"] = present.marked
    app.jinja_env.globals["current_staff"] = auth.current_staff
    app.jinja_env.globals["open_suggestion_count"] = review.open_suggestion_count
    return app


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/oembed"


def _error(status: int, title: str, message: str) -> tuple[Any, int]:
    if _wants_json():
        return jsonify({"error": title, "message": message}), status
    return render_template("error.html", status=status, title=title, message=message), status


def _recall_error(e: RecallError) -> tuple[Any, int] | tuple[Any, int, dict[str, str]]:
    """The one place domain errors become HTTP."""
    if isinstance(e, NotFound):
        return _error(404, "Not found", str(e))
    if isinstance(e, BadParameter | QueryError | AccountError | MetadataError):
        return _error(400, "Bad request", str(e))
    if isinstance(e, Conflict):
        return _error(409, "Conflict", str(e))
    if isinstance(e, Busy):
        body, status = _error(503, "Busy", e.reason)
        return body, status, {"Retry-After": str(e.retry_after)}
    if isinstance(e, InsufficientStorage):
        return _error(507, "Insufficient storage", str(e))
    if isinstance(e, TooManyRequests):
        body, status = _error(429, "Too many requests", str(e))
        return body, status, {"Retry-After": str(e.retry_after)}
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
    if current_staff() is not None:
        # What staff see may be private: no shared cache keeps it.
        cached = response.cache_control.max_age is not None
        response.cache_control.public = False
        response.cache_control.private = True
        if not cached:
            response.cache_control.no_store = True
    response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    return response
