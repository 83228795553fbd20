"""Logs, metrics and health probes shared by every process.

Every log line is one JSON object carrying the request id of the request that caused
it, every HTTP request lands in one latency histogram, and orchestrators ask two
questions: ``/healthz`` (is the process alive?) and ``/readyz`` (can it serve traffic,
i.e. are the database and the configured backing services reachable?).
"""

from __future__ import annotations

import logging
import re
import time
import urllib.request
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

# --- Logging ----------------------------------------------------------------------------

# Run for structlog and stdlib records alike, so both carry the same keys.
_SHARED_PROCESSORS: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
]

_structlog_configured = False


def configure_structlog() -> None:
    """Route ``structlog.get_logger()`` through stdlib logging, once per process.

    Going through stdlib means one handler, one level and one JSON formatter (the
    ``LOGGING`` setting) for our own lines and for Django's, Celery's and Daphne's.
    """
    global _structlog_configured
    if _structlog_configured:
        return
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_SHARED_PROCESSORS,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    _structlog_configured = True


def json_log_formatter() -> logging.Formatter:
    """Build the formatter named in ``settings.LOGGING``: one JSON object per line.

    Each object has ``timestamp`` (ISO 8601, UTC), ``level``, ``logger`` and ``event``,
    plus whatever is bound in structlog's contextvars (``request_id`` during a request).
    """
    configure_structlog()
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_SHARED_PROCESSORS,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
    )


# --- Metrics ----------------------------------------------------------------------------

REQUEST_DURATION = Histogram(
    "livehub_http_request_duration_seconds",
    "HTTP request latency, by method, URL route pattern and status code",
    ["method", "route", "status"],
)
ORDERS_CREATED = Counter(
    "livehub_orders_created_total", "orders placed, by sales channel code", ["channel"]
)
HOLDS_CREATED = Counter("livehub_holds_created_total", "stock holds placed, by kind", ["kind"])
STOCK_REJECTIONS = Counter(
    "livehub_stock_rejections_total", "reservations refused for lack of stock"
)

# Any other method string a client sends is folded into "OTHER" to keep labels bounded.
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


# --- Request middleware -----------------------------------------------------------------

REQUEST_ID_HEADER = "X-Request-ID"
# A caller's id is kept only if it cannot smuggle anything into logs or headers.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

_access_log = structlog.get_logger("hub.request")


def current_request_id() -> str | None:
    """The id of the request being served in this context, for error bodies and tasks."""
    value = structlog.contextvars.get_contextvars().get("request_id")
    return value if isinstance(value, str) else None


class RequestObservabilityMiddleware:
    """Give each request an id, time it into the histogram and log one line for it.

    It sits first in ``MIDDLEWARE`` so the id is bound before any other code logs and
    the measured time covers the whole stack. It is both sync and async capable, so it
    never forces Django to adapt the chain (one thread hop per request) either way.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        configure_structlog()
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        request_id = self._request_id(request)
        tokens = structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        try:
            response: HttpResponse = self.get_response(request)
            self._finish(request, response, request_id, started)
        finally:
            structlog.contextvars.reset_contextvars(**tokens)
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        request_id = self._request_id(request)
        tokens = structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        try:
            get_response: Callable[[HttpRequest], Awaitable[HttpResponse]] = self.get_response
            response = await get_response(request)
            self._finish(request, response, request_id, started)
        finally:
            structlog.contextvars.reset_contextvars(**tokens)
        return response

    @staticmethod
    def _request_id(request: HttpRequest) -> str:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        if _SANE_REQUEST_ID.fullmatch(incoming):
            return incoming
        return uuid.uuid4().hex

    @staticmethod
    def _finish(
        request: HttpRequest, response: HttpResponse, request_id: str, started: float
    ) -> None:
        duration = time.perf_counter() - started
        method = request.method if request.method in _KNOWN_METHODS else "OTHER"
        # The route pattern, never the raw path: one time series per view, not per URL.
        match = request.resolver_match
        route = "/" + match.route if match is not None else "unmatched"
        status = response.status_code
        REQUEST_DURATION.labels(method=method, route=route, status=str(status)).observe(duration)
        response[REQUEST_ID_HEADER] = request_id
        _access_log.info(
            "http_request",
            method=request.method,
            path=request.path,
            route=route,
            status=status,
            duration_ms=round(duration * 1000, 2),
        )


# --- Probes and metrics endpoint --------------------------------------------------------

PROBE_TIMEOUT_SECONDS = 2.0

_probe_log = structlog.get_logger("hub.readiness")


def _check_database() -> None:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _check_redis() -> None:
    import redis

    client = redis.Redis.from_url(
        settings.REDIS_URL,
        socket_connect_timeout=PROBE_TIMEOUT_SECONDS,
        socket_timeout=PROBE_TIMEOUT_SECONDS,
    )
    try:
        client.ping()
    finally:
        client.close()


def _check_search() -> None:
    url: str = settings.ELASTICSEARCH_URL
    if not url.startswith(("http://", "https://")):
        raise ValueError("ELASTICSEARCH_URL must be an http(s) URL")
    # urlopen raises for connection errors and for any 4xx/5xx answer.
    with urllib.request.urlopen(url, timeout=PROBE_TIMEOUT_SECONDS) as answer:
        answer.read(1)


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: answering at all is the whole test, so a slow database never kills pods."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: 200 only when every configured backing service answers.

    Services that are not configured (no ``REDIS_URL``, no ``ELASTICSEARCH_URL``) are
    reported as ``"skipped"``; a failing one is ``"failed"`` with its error under
    ``errors``, and the answer is 503 so the load balancer stops routing here.
    """
    probes: dict[str, Callable[[], None] | None] = {
        "db": _check_database,
        "redis": _check_redis if settings.REDIS_URL else None,
        "search": _check_search if settings.ELASTICSEARCH_URL else None,
    }
    checks: dict[str, str] = {}
    errors: dict[str, str] = {}
    for name, probe in probes.items():
        if probe is None:
            checks[name] = "skipped"
            continue
        try:
            probe()
        except Exception as exc:
            checks[name] = "failed"
            errors[name] = f"{type(exc).__name__}: {exc}"
        else:
            checks[name] = "ok"
    if errors:
        _probe_log.warning("readiness_failed", errors=errors)
        return JsonResponse(
            {"status": "unavailable", "checks": checks, "errors": errors}, status=503
        )
    return JsonResponse({"status": "ok", "checks": checks})


@never_cache
@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus scrape endpoint for this process's default registry."""
    return HttpResponse(generate_latest(), content_type=CONTENT_TYPE_LATEST)
