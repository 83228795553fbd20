"""Health probes, the metrics endpoint, request ids and JSON log lines."""

from __future__ import annotations

import json
import logging
import re

import pytest
import structlog
from asgiref.sync import iscoroutinefunction
from django.conf import settings as django_settings
from django.http import HttpRequest, HttpResponse
from django.test import AsyncClient, AsyncRequestFactory, Client
from pytest_django.fixtures import Settings

from hub.observability import (
    RequestObservabilityMiddleware,
    current_request_id,
    json_log_formatter,
)


def test_healthz_answers_ok_without_touching_the_database(client: Client) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok"}


def test_readyz_reports_each_configured_check(client: Client, db: None) -> None:
    response = client.get("/readyz")

    expected_redis = "ok" if django_settings.REDIS_URL else "skipped"
    expected_search = "ok" if django_settings.ELASTICSEARCH_URL else "skipped"
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"db": "ok", "redis": expected_redis, "search": expected_search},
    }


def test_readyz_is_503_when_search_is_unreachable(
    client: Client, db: None, settings: Settings
) -> None:
    settings.ELASTICSEARCH_URL = "http://127.0.0.1:9"

    response = client.get("/readyz")

    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "unavailable"
    assert body["checks"]["db"] == "ok"
    assert body["checks"]["search"] == "failed"
    assert list(body["errors"]) == ["search"]
    assert body["errors"]["search"].startswith("URLError: ")


def test_metrics_exposes_the_request_histogram_by_route(client: Client) -> None:
    client.get("/healthz")

    response = client.get("/metrics")

    text = response.content.decode()
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert "# TYPE livehub_http_request_duration_seconds histogram" in text
    assert (
        'livehub_http_request_duration_seconds_count{method="GET",route="/healthz",status="200"}'
        in text
    )


def test_metrics_lists_the_domain_counters(client: Client) -> None:
    text = client.get("/metrics").content.decode()

    assert "# TYPE livehub_orders_created_total counter" in text
    assert "# TYPE livehub_holds_created_total counter" in text
    assert "# TYPE livehub_stock_rejections_total counter" in text


def test_unmatched_paths_share_one_route_label(client: Client) -> None:
    client.get("/no-such-page/12345")

    text = client.get("/metrics").content.decode()
    assert 'route="unmatched",status="404"' in text
    assert "no-such-page" not in text


def test_response_carries_a_generated_request_id(client: Client) -> None:
    response = client.get("/healthz")

    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


def test_incoming_request_id_is_kept(client: Client) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": "edge-7f3a.1"})

    assert response["X-Request-ID"] == "edge-7f3a.1"


def test_insane_incoming_request_id_is_replaced(client: Client) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces" + "x" * 200})

    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


@pytest.mark.asyncio
async def test_request_id_is_set_under_asgi(async_client: AsyncClient) -> None:
    response = await async_client.get("/healthz", headers={"X-Request-ID": "asgi-1"})

    assert response.status_code == 200
    assert response["X-Request-ID"] == "asgi-1"


@pytest.mark.asyncio
async def test_async_chain_binds_the_request_id_for_the_view() -> None:
    seen: list[str | None] = []

    async def view(request: HttpRequest) -> HttpResponse:
        seen.append(current_request_id())
        return HttpResponse("ok")

    middleware = RequestObservabilityMiddleware(view)
    request = AsyncRequestFactory().get("/anything", headers={"X-Request-ID": "async-1"})

    response = await middleware(request)

    assert iscoroutinefunction(middleware)
    assert seen == ["async-1"]
    assert response["X-Request-ID"] == "async-1"
    assert current_request_id() is None


def test_log_lines_are_json_with_the_bound_request_id() -> None:
    formatter = json_log_formatter()
    record = logging.LogRecord(
        "oms.orders", logging.WARNING, __file__, 1, "low %s", ("stock",), None
    )

    with structlog.contextvars.bound_contextvars(request_id="req-42"):
        line = formatter.format(record)

    entry = json.loads(line)
    assert "\n" not in line
    assert entry["event"] == "low stock"
    assert entry["level"] == "warning"
    assert entry["logger"] == "oms.orders"
    assert entry["request_id"] == "req-42"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z", entry["timestamp"])


@pytest.mark.django_db
def test_uploaded_media_is_served_in_embedded_mode(client, settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "products").mkdir()
    (tmp_path / "products" / "x.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    response = client.get("/media/products/x.png")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"\x89PNG\r\n\x1a\n"
    assert client.get("/media/../settings.py").status_code == 400  # path traversal refused
