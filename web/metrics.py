"""``/metrics`` in Prometheus' text format, for the addresses in [web] metrics_from and staff.

Requests are counted by endpoint (the route's name, e.g. ``pages.recording``), never by path:
paths hold recording ids and search words, which would make one series per visitor query and
put private text into the monitoring system. Jobs, ingest stage times and the clip cache are
read when scraped (from the catalog and the workers' files), so every site process reports the
same numbers and nothing is kept in step by hand.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, g, request
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric, SummaryMetricFamily
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

from ingest.liveness import live_workers
from ingest.stagetimes import stage_totals
from library.models import Status
from web.auth import current_staff
from web.services import Services, services

bp = Blueprint("metrics", __name__)

# Both search views: the page and the API.
_SEARCH_ENDPOINTS = frozenset({"pages.search", "api.search"})
_SEARCH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# The classic text format, which every Prometheus reads (our names need none of 1.0.0's
# escaping); prometheus-client's CONTENT_TYPE_LATEST changed between releases.
_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_JOB_STATES = {"queued": Status.QUEUED, "running": Status.PROCESSING, "failed": Status.FAILED}


class _Scraped(Collector):
    """What is looked up at each scrape."""

    def __init__(self, opened: Services) -> None:
        self.services = opened

    def collect(self) -> Iterator[Metric]:
        jobs = GaugeMetricFamily("recall_jobs", "Jobs by state.", labels=["state"])
        statuses = [r.status for r in self.services.catalog.recordings()]
        for state, status in _JOB_STATES.items():
            jobs.add_metric([state], statuses.count(status))
        yield jobs
        stages = SummaryMetricFamily(
            "recall_ingest_stage_seconds", "Seconds ingest stages took.", labels=["stage"]
        )
        for stage, (count, seconds) in sorted(stage_totals(self.services.config.data_dir).items()):
            stages.add_metric([stage], count, seconds)
        yield stages
        yield GaugeMetricFamily(
            "recall_clip_cache_bytes",
            "Bytes of cut clips and stills kept.",
            value=self.services.cuts.size(),
        )
        yield GaugeMetricFamily(
            "recall_workers_alive",
            "Workers that said they are alive in the last 15 s.",
            value=live_workers(self.services.config.data_dir),
        )


class SiteMetrics:
    """One registry per app (not prometheus_client's global one): tests and embedders may
    create several apps in one process."""

    def __init__(self, opened: Services) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "recall_http_requests",
            "Requests answered, by endpoint (the route's name) and status.",
            ["endpoint", "method", "status"],
            registry=self.registry,
        )
        self.search_seconds = Histogram(
            "recall_search_seconds",
            "Seconds to answer a search (page or API).",
            ["endpoint"],
            buckets=_SEARCH_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_Scraped(opened))

    def observe(self, response: Response) -> Response:
        endpoint = request.url_rule.endpoint if request.url_rule is not None else "unmatched"
        self.requests.labels(endpoint, request.method, str(response.status_code)).inc()
        if endpoint in _SEARCH_ENDPOINTS and "started" in g:
            self.search_seconds.labels(endpoint).observe(time.perf_counter() - g.started)
        return response


def init_app(app: Flask) -> None:
    site = SiteMetrics(app.extensions["recall"])
    app.extensions["recall_metrics"] = site
    app.after_request(site.observe)
    app.register_blueprint(bp)


def _allowed() -> bool:
    if current_staff() is not None:
        return True
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(
        address in ipaddress.ip_network(network, strict=False)
        for network in services().config.web.metrics_from
    )


@bp.get("/metrics")
def metrics() -> Any:
    if not _allowed():
        abort(403, "Metrics are served to the addresses in [web] metrics_from, and to staff.")
    site: SiteMetrics = current_app.extensions["recall_metrics"]
    response = Response(generate_latest(site.registry), content_type=_CONTENT_TYPE)
    response.cache_control.no_store = True
    return response
