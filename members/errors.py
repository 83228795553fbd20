"""Error codes of members; every one maps to a 4xx with its message."""

from __future__ import annotations

from hub.kernel.errors import Conflict, DomainError


class CouponNotApplicable(DomainError):
    code = "coupon_not_applicable"


class NotEnoughPoints(Conflict):
    code = "not_enough_points"


class SignInFailed(DomainError):
    code = "sign_in_failed"
    http_status = 401


class TooManyAttempts(DomainError):
    code = "too_many_attempts"
    http_status = 429
