"""Where an order's units come from.

Pick-up orders take everything from the chosen store. Shipped orders go to one location
that can fill the whole order, nearest to the customer first (when the sales channel
routes by distance and the address has coordinates), then by location priority; only
when no single location can fill it, and the sales channel allows it, does the order
split across locations.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
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


def route_candidates(
    *,
    sales_channel: SalesChannel,
    method: str,
    pickup_location: Location | None = None,
    ship_to: ShipTo | None = None,
) -> tuple[list[Location], bool]:
    """The locations an order may come from, best first, and whether it may split."""
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
        return [pickup_location], False
    candidates = candidate_locations(sales_channel=sales_channel, method=method, ship_to=ship_to)
    if not candidates:
        raise InvalidInput("no location of this sales channel can fulfil this method")
    return candidates, sales_channel.allow_split


def plan_placements(
    quantities: Mapping[int, int],
    free: Mapping[tuple[int, int], int],
    location_ids: Sequence[int],
    allow_split: bool,
) -> list[Placement] | None:
    """The routing rule, in memory: ``None`` when the units are not there.

    The first location (in ``location_ids`` order: nearest, then priority) that can fill
    every line; else, if allowed, each line taken from the locations in the same order.
    """
    for location_id in location_ids:
        if all(free.get((v, location_id), 0) >= q for v, q in quantities.items()):
            return [Placement(v, location_id, q) for v, q in quantities.items()]
    if not allow_split:
        return None
    placements: list[Placement] = []
    for variant_id, wanted in quantities.items():
        remaining = wanted
        for location_id in location_ids:
            take = min(remaining, free.get((variant_id, location_id), 0))
            if take:
                placements.append(Placement(variant_id, location_id, take))
                remaining -= take
            if not remaining:
                break
        if remaining:
            return None
    return placements


def route_order(
    *,
    sales_channel: SalesChannel,
    quantities: dict[ProductVariant, int],
    method: str,
    pickup_location: Location | None = None,
    ship_to: ShipTo | None = None,
) -> list[Placement]:
    """Plan the placements for an order from current free stock (a read-only proposal).

    Units of holds past their expiry count as free here, as in ATP. ``hold_create``
    plans with the same rule (``plan_placements``) from the stock rows themselves and
    reserves the plan with conditional updates.
    """
    candidates, allow_split = route_candidates(
        sales_channel=sales_channel,
        method=method,
        pickup_location=pickup_location,
        ship_to=ship_to,
    )
    free = free_units_by_location(
        variant_ids=[v.pk for v in quantities],
        location_ids=[loc.pk for loc in candidates],
        keep_free=sales_channel.safety_stock,
    )
    plan = plan_placements(
        {v.pk: q for v, q in quantities.items()}, free, [loc.pk for loc in candidates], allow_split
    )
    if plan is None:
        raise shortage(quantities, free, candidates)
    return plan


def shortage(
    quantities: dict[ProductVariant, int],
    free: Mapping[tuple[int, int], int],
    candidates: list[Location],
) -> OutOfStock:
    """The refusal for an order that ``plan_placements`` could not place from ``free``."""
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
