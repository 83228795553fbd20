"""Role checks at the API edge; location scoping is enforced again in the services."""

from __future__ import annotations

from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from hub.kernel.roles import Role, user_has_role, user_is_merchant_admin


class IsStoreStaffOrAdmin(BasePermission):
    message = "store staff or merchant admin only"

    def has_permission(self, request: Request, view: APIView) -> bool:
        return user_has_role(request.user, Role.STORE_STAFF) or user_is_merchant_admin(request.user)


class IsMerchantAdmin(BasePermission):
    message = "merchant admin only"

    def has_permission(self, request: Request, view: APIView) -> bool:
        return user_is_merchant_admin(request.user)
