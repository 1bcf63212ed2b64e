"""Sign-in throttling: guessing is slowed, yet a stranger cannot lock the owner out.

Three limits guard ``POST /login``:

- per address, every attempt: enough for a person who mistypes, far too few for guessing;
- per account and address, failed attempts only: the guesser waits; the owner, signing in from
  anywhere else, does not notice;
- per account from every address, failed attempts only, slower: caps a guesser spread over
  many addresses. A browser that signed in to the account before carries a signed "known
  browser" cookie and is exempt from this one, so even during such an attack the owner gets in.

A refusal is a 429 with ``Retry-After``. The counts live in each site process's memory, or
with ``[web] limits_url`` in Redis, shared by every site process that names it: guesses spread
over several sites then count against one limit. While Redis cannot be reached, each process
counts in its own memory again (the limits still hold per process; sign-in never fails for it).
"""

from __future__ import annotations

import datetime as dt
import functools
import time
from typing import Any

from flask import Flask, Response, current_app, render_template, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits.storage import storage_from_string
from werkzeug.wrappers import Response as BaseResponse

from library.config import WebConfig
from library.errors import ConfigError
from library.users import normalise_email

ADDRESS_LIMIT = "10 per minute;60 per hour"
PAIR_LIMIT = "5 per 15 minutes"
ACCOUNT_LIMIT = "20 per hour"
KNOWN_COOKIE = "recall_known"
_KNOWN_DAYS = 365
_KNOWN_MAX = 5  # accounts one browser is remembered for


def _email() -> str:
    return normalise_email(request.form.get("email", "")) or "-"


def _pair() -> str:
    return f"{_email()}|{get_remote_address()}"


def _failed(response: Response) -> bool:
    return response.status_code != 302


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(str(current_app.secret_key), salt="recall-known-browser")


def _known_accounts() -> list[str]:
    cookie = request.cookies.get(KNOWN_COOKIE, "")
    if not cookie:
        return []
    try:
        emails = _serializer().loads(cookie, max_age=_KNOWN_DAYS * 86400)
    except BadSignature:
        return []
    return [e for e in emails if isinstance(e, str)] if isinstance(emails, list) else []


def _known_browser() -> bool:
    return _email() in _known_accounts()


def remember_browser(response: BaseResponse, email: str, secure: bool) -> None:
    """After a successful sign-in: this browser is exempt from the per-account limit."""
    emails = [email] + [e for e in _known_accounts() if e != email]
    response.set_cookie(
        KNOWN_COOKIE,
        _serializer().dumps(emails[:_KNOWN_MAX]),
        max_age=dt.timedelta(days=_KNOWN_DAYS),
        path="/login",
        secure=secure,
        httponly=True,
        samesite="Strict",
    )


def _too_many(limiter: Limiter, e: Exception) -> tuple[str, int, dict[str, str]]:
    try:
        limit = limiter.current_limit
        wait = max(1, int(limit.reset_at - time.time())) if limit else 60
    except Exception:  # the shared storage went away since the refusal: a guess will do
        wait = 60
    page = render_template(
        "error.html",
        status=429,
        title="Too many attempts",
        message=f"Too many sign-in attempts. Try again in {-(-wait // 60)} minute(s).",
    )
    return page, 429, {"Retry-After": str(wait)}


def _storage_uri(web: WebConfig) -> str:
    if web.limits_url.startswith(("redis", "unix")):
        try:
            import redis  # noqa: F401
        except ImportError as e:
            raise ConfigError(
                "web.limits_url", "limits in Redis need: pip install 'recall-sessions[redis]'"
            ) from e
    if web.limits_url.startswith("unix://"):  # the spelling redis-py and [jobs] use
        return "redis+" + web.limits_url
    return web.limits_url or "memory://"


def check_storage(web: WebConfig) -> str:
    """For ``recall doctor``: whether the counts are shared, and their storage answers."""
    if not web.limits_url or web.limits_url.startswith("memory"):
        return "counted in each site process's memory"
    if not storage_from_string(_storage_uri(web)).check():
        raise ConnectionError("Redis does not answer: each site process counts alone meanwhile")
    return "shared in Redis"


def init_app(app: Flask, endpoint: str, web: WebConfig) -> None:
    """Put the limits on the sign-in view ``endpoint``, counted where ``web.limits_url`` says."""
    limiter = Limiter(
        get_remote_address,
        app=app,
        storage_uri=_storage_uri(web),
        # Keys of their own in a Redis shared with the job queue.
        key_prefix="recall-login",
        # Redis down: count in memory meanwhile (and try Redis again now and then), never a 500.
        in_memory_fallback_enabled=True,
        swallow_errors=True,
    )
    view: Any = app.view_functions[endpoint]
    view = limiter.limit(ADDRESS_LIMIT, methods=["POST"])(view)
    view = limiter.limit(PAIR_LIMIT, methods=["POST"], key_func=_pair, deduct_when=_failed)(view)
    view = limiter.limit(
        ACCOUNT_LIMIT,
        methods=["POST"],
        key_func=_email,
        deduct_when=_failed,
        exempt_when=_known_browser,
    )(view)
    app.view_functions[endpoint] = view
    app.register_error_handler(429, functools.partial(_too_many, limiter))
