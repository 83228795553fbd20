"""API plumbing shared by every app: the error shape and ``Idempotency-Key`` handling."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Model
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from hub.kernel.errors import DomainError, NotFound, error_body
from hub.kernel.idempotency import idempotent_call, request_fingerprint

IDEMPOTENCY_HEADER = "Idempotency-Key"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Every 4xx has the same shape: ``{"error": {"code", "message", "details"}}``."""
    if isinstance(exc, DomainError):
        return Response(error_body(exc), status=exc.http_status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "not found")
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    detail = exc.detail
    if isinstance(detail, dict | list):
        message = "invalid input" if isinstance(exc, exceptions.ValidationError) else str(exc)
        details: Any = {"fields": detail}
    else:
        message, details = str(detail), {}
    response.data = {"error": {"code": exc.default_code, "message": message, "details": details}}
    return response


def acting_user(request: Request) -> User:
    """The signed-in user behind a request (views that call this require sign-in)."""
    user = request.user
    if not isinstance(user, User):
        raise exceptions.NotAuthenticated()
    return user


def get_or_404(model: type[Model], label: str, **lookup: Any) -> Any:
    """Fetch one row or raise a ``NotFound`` that says what was missing."""
    found = model._default_manager.filter(**lookup).first()
    if found is None:
        shown = ", ".join(f"{k}={v}" for k, v in lookup.items())
        raise NotFound(f"{label} not found ({shown})")
    return found


def run_idempotently(
    request: Request, *, scope: str, work: Callable[[], tuple[int, dict[str, Any]]]
) -> Response:
    """Run a create once per ``Idempotency-Key``; retries get the first response back."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        with transaction.atomic():
            status_code, body = work()
        return Response(body, status=status_code)
    result = idempotent_call(
        scope=f"{scope}:user{request.user.pk}",
        key=key,
        fingerprint=request_fingerprint(request.data),
        work=work,
    )
    headers = {"Idempotent-Replayed": "true"} if result.replayed else {}
    return Response(result.body, status=result.status_code, headers=headers)


CREATED = status.HTTP_201_CREATED
