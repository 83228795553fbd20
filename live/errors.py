"""Error codes of live rooms; each maps to a 4xx (REST) or an error frame (WebSocket)."""

from __future__ import annotations

from hub.kernel.errors import Conflict, DomainError, NotFound, PermissionDenied


class InvalidMessage(DomainError):
    code = "invalid_message"


class RateLimited(DomainError):
    code = "rate_limited"
    http_status = 429


class CommentRefused(DomainError):
    code = "comment_refused"


class NotAllowed(PermissionDenied):
    code = "not_allowed"


class SignInRequired(PermissionDenied):
    code = "sign_in_required"
    http_status = 401


class ShowNotFound(NotFound):
    code = "show_not_found"


class DropNotOpen(Conflict):
    code = "drop_not_open"


class SoldOut(Conflict):
    code = "sold_out"


class BuyerLimitReached(Conflict):
    code = "buyer_limit"


class CouponGone(Conflict):
    code = "coupon_gone"


class GateUnavailable(DomainError):
    """The quota gate (Redis) did not answer; a retry with the same key is safe."""

    code = "try_again"
    http_status = 503
