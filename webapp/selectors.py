"""Reads for the PWA session: who is signed in, with which roles and stores."""

from __future__ import annotations

from typing import Any, TypedDict

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from hub.kernel.roles import Role, user_has_role
from oms.models import Location, StaffMembership


class SessionProfile(TypedDict):
    authenticated: bool
    username: str
    roles: list[str]
    locations: list[dict[str, Any]]


def session_profile(*, user: AbstractBaseUser | AnonymousUser) -> SessionProfile:
    """The signed-in user as the app needs it; staff see the stores they work at."""
    if not user.is_authenticated:
        return {"authenticated": False, "username": "", "roles": [], "locations": []}
    roles = [role.value for role in Role if user_has_role(user, role)]
    if getattr(user, "is_superuser", False) or Role.MERCHANT_ADMIN.value in roles:
        locations = Location.objects.order_by("priority", "code")
    else:
        location_ids = StaffMembership.objects.filter(user_id=user.pk).values("location_id")
        locations = Location.objects.filter(pk__in=location_ids).order_by("priority", "code")
    return {
        "authenticated": True,
        "username": user.get_username(),
        "roles": roles,
        "locations": [
            {"code": loc.code, "name_en": loc.name_en, "name_zh": loc.name_zh} for loc in locations
        ],
    }
