"""``/healthz`` and ``/readyz`` for load balancers and orchestrators."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from web.checks import readiness
from web.services import services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Any:
    """The process is up and answering: no other part is looked at."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Any:
    """200 when the catalog, index, job queue and disk space are all fine; otherwise 503
    naming the failing parts, so a load balancer sends visitors elsewhere."""
    checks = readiness(services())
    failing = [c.name for c in checks if not c.ok]
    body = {
        "status": "not ready" if failing else "ready",
        "failing": failing,
        "checks": {c.name: ("ok: " if c.ok else "failing: ") + c.detail for c in checks},
    }
    response = jsonify(body)
    response.status_code = 503 if failing else 200
    response.cache_control.no_store = True
    return response
