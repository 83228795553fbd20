"""Error codes of the social app."""

from __future__ import annotations

from hub.kernel.errors import DomainError


class InvalidShare(DomainError):
    code = "invalid_share"


class UnknownShareLink(DomainError):
    code = "unknown_share_link"
    http_status = 404
