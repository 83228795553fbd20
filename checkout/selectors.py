"""Reads for checkout: carts, addresses and where the items can be picked up."""

from __future__ import annotations

from django.contrib.auth.models import User

from checkout.models import Address, Cart
from oms.models import Location, ProductVariant, SalesChannel
from oms.selectors import free_units_by_location


def cart_quantities(cart: Cart) -> dict[ProductVariant, int]:
    return {line.variant: line.quantity for line in cart.lines.select_related("variant")}


def addresses_for(user: User) -> list[Address]:
    return list(Address.objects.filter(user=user))


def pickup_stores(
    *, sales_channel: SalesChannel, quantities: dict[ProductVariant, int]
) -> list[Location]:
    """The sales channel's pick-up stores that have every item in the wanted quantity."""
    stores = list(sales_channel.locations.filter(pickup=True).order_by("priority", "id"))
    free = free_units_by_location(
        variant_ids=[v.pk for v in quantities],
        location_ids=[s.pk for s in stores],
        keep_free=sales_channel.safety_stock,
    )
    return [
        store
        for store in stores
        if all(free.get((v.pk, store.pk), 0) >= q for v, q in quantities.items())
    ]
