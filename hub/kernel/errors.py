"""The error base every domain error derives from.

The API layer maps ``DomainError`` to a 4xx response with ``code`` and ``message``;
anything else is a bug and surfaces as a 500. A message may be lazy (``gettext_lazy``,
``format_lazy``): it is rendered in the reader's language where it leaves, by
``message_text`` (the request's language, or a WebSocket's: ``hub.kernel.i18n``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise


class DomainError(Exception):
    """A business rule refused the request; nothing was written."""

    code: str = "domain_error"
    http_status: int = 400

    def __init__(self, message: _StrOrPromise, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(DomainError):
    code = "not_found"
    http_status = 404


class PermissionDenied(DomainError):
    code = "permission_denied"
    http_status = 403


class Conflict(DomainError):
    code = "conflict"
    http_status = 409


class InvalidTransition(Conflict):
    """A state machine refused a move; the message names both states."""

    code = "invalid_transition"

    def __init__(self, aggregate: str, current: str, target: str) -> None:
        super().__init__(
            f"{aggregate} cannot move from '{current}' to '{target}'",
            aggregate=aggregate,
            current=current,
            target=target,
        )


class IdempotencyKeyReused(DomainError):
    """The same ``Idempotency-Key`` came back with a different request body."""

    code = "idempotency_key_reused"
    http_status = 422


def message_text(error: DomainError) -> str:
    """The error's message in the active language (English where it has no translation)."""
    return str(error.message)


def error_body(error: DomainError) -> dict[str, Any]:
    """The JSON shape of every 4xx the API returns."""
    return {"error": {"code": error.code, "message": message_text(error), "details": error.details}}
