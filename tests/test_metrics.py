"""/metrics: Prometheus text, counted by endpoint never by path, served only to the addresses
in [web] metrics_from and to staff tokens."""

from __future__ import annotations

import dataclasses

import pytest

from library.config import Config, parse_config
from library.errors import ConfigError
from library.models import RecordingMeta, Status
from tests.conftest import MediaFactory, add_account, app_for


def _value(body: str, series: str) -> float:
    for line in body.splitlines():
        if line.startswith(series + " "):
            return float(line.rpartition(" ")[2])
    raise AssertionError(f"{series} not in\n{body}")


def test_metrics_count_by_endpoint_and_report_jobs_stages_and_cache(
    config: Config, media: MediaFactory
) -> None:
    with app_for(config) as app:
        pipeline = app.extensions["recall"].pipeline
        quiet = pipeline.ingest(media("silence.wav"), RecordingMeta(title="Quiet"))
        assert quiet.status == Status.NO_SPEECH
        client = app.test_client()
        assert client.get("/r/nosuchrecording").status_code == 404
        assert client.get("/api/search?q=confidential+merger").status_code == 200
        assert client.get("/no/such/page").status_code == 404
        scraped = client.get("/metrics")
        assert scraped.status_code == 200
        assert scraped.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        body = scraped.get_data(as_text=True)
    requests = "recall_http_requests_total"
    assert _value(body, f'{requests}{{endpoint="pages.recording",method="GET",status="404"}}') == 1
    assert _value(body, f'{requests}{{endpoint="api.search",method="GET",status="200"}}') == 1
    assert _value(body, f'{requests}{{endpoint="unmatched",method="GET",status="404"}}') == 1
    assert _value(body, 'recall_search_seconds_count{endpoint="api.search"}') == 1
    assert _value(body, 'recall_search_seconds_bucket{endpoint="api.search",le="10.0"}') == 1
    for state in ("queued", "running", "failed"):
        assert _value(body, f'recall_jobs{{state="{state}"}}') == 0
    assert _value(body, 'recall_ingest_stage_seconds_count{stage="playable"}') == 1
    assert _value(body, 'recall_ingest_stage_seconds_sum{stage="playable"}') > 0
    assert _value(body, "recall_clip_cache_bytes") == 0
    assert _value(body, "recall_workers_alive") == 0
    # Paths and query words never become labels.
    assert "nosuchrecording" not in body and "confidential" not in body
    assert "/no/such/page" not in body


def test_metrics_are_refused_elsewhere_but_served_to_staff_tokens(config: Config) -> None:
    token = add_account(config, "ana@example.org", "staff")
    with app_for(config) as app:
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = "203.0.113.9"
        refused = client.get("/metrics")
        assert refused.status_code == 403
        assert "recall_" not in refused.get_data(as_text=True)
        staff = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert staff.status_code == 200 and "recall_jobs" in staff.get_data(as_text=True)
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    network = dataclasses.replace(config.web, metrics_from=("127.0.0.1", "203.0.113.0/24"))
    with app_for(dataclasses.replace(config, web=network)) as app:
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = "203.0.113.9"
        assert client.get("/metrics").status_code == 200


def test_metrics_from_must_list_addresses_or_networks(tmp_path: object) -> None:
    from pathlib import Path

    base = Path(str(tmp_path))
    assert parse_config({"web": {"metrics_from": ["10.0.0.0/8", "::1"]}}, base).web.metrics_from
    with pytest.raises(ConfigError, match="'localhost' is not an address"):
        parse_config({"web": {"metrics_from": ["localhost"]}}, base)
    with pytest.raises(ConfigError, match="must be a list of strings"):
        parse_config({"web": {"metrics_from": "127.0.0.1"}}, base)
