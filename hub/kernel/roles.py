"""The four roles, kept as Django auth groups so the admin can manage them."""

from __future__ import annotations

from enum import StrEnum

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


class Role(StrEnum):
    SHOPPER = "shopper"
    HOST = "host"
    STORE_STAFF = "store_staff"
    MERCHANT_ADMIN = "merchant_admin"


def user_has_role(user: AbstractBaseUser | AnonymousUser, role: Role) -> bool:
    if not user.is_authenticated:
        return False
    if getattr(user, "is_superuser", False):
        return True
    return user.groups.filter(name=role.value).exists()  # type: ignore[attr-defined]


def user_is_merchant_admin(user: AbstractBaseUser | AnonymousUser) -> bool:
    return user_has_role(user, Role.MERCHANT_ADMIN)
