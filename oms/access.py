"""Who may act where: store staff are scoped to their stores, merchant admins to all."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from oms.errors import WrongLocation
from oms.models import Location
from oms.selectors import staff_location_ids


def require_location_access(
    *, user: AbstractBaseUser | AnonymousUser | None, location: Location
) -> None:
    if user is None:
        return  # system actors (imports, background jobs)
    scope = staff_location_ids(user)
    if scope is not None and location.pk not in scope:
        raise WrongLocation(f"you are not staff at {location.code}", location=location.code)
