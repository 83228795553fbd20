"""Error codes of sales-channel sync."""

from __future__ import annotations

from hub.kernel.errors import DomainError


class InvalidSignature(DomainError):
    """A webhook whose signature does not verify: refused, nothing stored."""

    code = "invalid_signature"
    http_status = 401


class UnsupportedWebhook(DomainError):
    code = "unsupported_webhook"
    http_status = 400


class MalformedPayload(DomainError):
    code = "malformed_payload"
    http_status = 400


class ConnectionDisabled(DomainError):
    code = "connection_disabled"
    http_status = 409


# ---- errors of outgoing calls (not API errors: the push loop handles them) ------------


class RemoteError(Exception):
    """A marketplace call failed; ``retryable`` says whether trying again can help."""

    retryable = True

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RateLimited(RemoteError):
    """HTTP 429 or a throttled response; wait ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentRemoteError(RemoteError):
    """The marketplace refused the request itself (bad id, auth); retrying will not help."""

    retryable = False


class CompareMismatch(RemoteError):
    """Compare-and-swap failed: the marketplace holds ``actual``, not what we compared."""

    def __init__(self, message: str, *, actual: int | None) -> None:
        super().__init__(message)
        self.actual = actual
