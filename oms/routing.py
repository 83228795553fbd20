"""Where an order's units come from.

Pick-up orders take everything from the chosen store. Shipped orders go to one location
that can fill the whole order, nearest to the customer first (when the sales channel
routes by distance and the address has coordinates), then by location priority; only
when no single location can fill it, and the sales channel allows it, does the order
split across locations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from oms.errors import InvalidInput, OutOfStock
from oms.models import Location, Order, ProductVariant, SalesChannel
from oms.selectors import free_units_by_location

EARTH_RADIUS_KM = 6371.0


@dataclass(frozen=True)
class Placement:
    variant_id: int
    location_id: int
    quantity: int


@dataclass(frozen=True)
class ShipTo:
    latitude: float
    longitude: float


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def candidate_locations(
    *, sales_channel: SalesChannel, method: str, ship_to: ShipTo | None
) -> list[Location]:
    locations = list(sales_channel.locations.all())
    if method == Order.FulfilmentMethod.SHIP_FROM_STORE:
        locations = [loc for loc in locations if loc.kind == Location.Kind.STORE and loc.ships]
    else:
        locations = [loc for loc in locations if loc.ships]

    def rank(loc: Location) -> tuple[float, int, int]:
        distance = 0.0
        if ship_to is not None and sales_channel.routing == SalesChannel.Routing.NEAREST:
            distance = distance_km(ship_to.latitude, ship_to.longitude, loc.latitude, loc.longitude)
        return (distance, loc.priority, loc.pk)

    return sorted(locations, key=rank)


def route_order(
    *,
    sales_channel: SalesChannel,
    quantities: dict[ProductVariant, int],
    method: str,
    pickup_location: Location | None = None,
    ship_to: ShipTo | None = None,
) -> list[Placement]:
    """Plan the placements for an order from current free stock.

    The plan is a proposal: the caller reserves it with conditional updates and
    re-plans if a concurrent buyer took the units first.
    """
    keep_free = sales_channel.safety_stock
    if method == Order.FulfilmentMethod.PICKUP:
        if pickup_location is None:
            raise InvalidInput("a pick-up order needs a pickup_location")
        if (
            not pickup_location.pickup
            or not sales_channel.locations.filter(pk=pickup_location.pk).exists()
        ):
            raise InvalidInput(
                f"{pickup_location.code} does not offer pick-up for this sales channel"
            )
        candidates = [pickup_location]
        allow_split = False
    else:
        candidates = candidate_locations(
            sales_channel=sales_channel, method=method, ship_to=ship_to
        )
        allow_split = sales_channel.allow_split
    if not candidates:
        raise InvalidInput("no location of this sales channel can fulfil this method")

    free = free_units_by_location(
        variant_ids=[v.pk for v in quantities],
        location_ids=[loc.pk for loc in candidates],
        keep_free=keep_free,
    )
    for location in candidates:
        if all(free.get((v.pk, location.pk), 0) >= q for v, q in quantities.items()):
            return [Placement(v.pk, location.pk, q) for v, q in quantities.items()]
    if not allow_split:
        raise _shortage(quantities, free, candidates)

    placements: list[Placement] = []
    for variant, wanted in quantities.items():
        remaining = wanted
        for location in candidates:
            take = min(remaining, free.get((variant.pk, location.pk), 0))
            if take:
                placements.append(Placement(variant.pk, location.pk, take))
                remaining -= take
            if not remaining:
                break
        if remaining:
            raise _shortage({variant: wanted}, free, candidates)
    return placements


def _shortage(
    quantities: dict[ProductVariant, int],
    free: dict[tuple[int, int], int],
    candidates: list[Location],
) -> OutOfStock:
    for variant, wanted in quantities.items():
        have = sum(free.get((variant.pk, loc.pk), 0) for loc in candidates)
        if have < wanted:
            return OutOfStock(
                f"only {have} of {variant.sku} available, {wanted} requested",
                sku=variant.sku,
                available=have,
                requested=wanted,
            )
    where = candidates[0].code if len(candidates) == 1 else "any single location"
    return OutOfStock(f"{where} cannot fill the whole order and splitting is not allowed")
