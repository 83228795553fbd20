"""Reads of the OMS: availability, stock views, pick lists, the order inbox, returns."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from hub.kernel.roles import Role, user_has_role, user_is_merchant_admin
from oms.models import (
    FulfilmentLine,
    HoldLine,
    Location,
    Order,
    ProductVariant,
    ReturnLine,
    ReturnRequest,
    SalesChannel,
    StaffMembership,
    StockLevel,
    StockMovement,
)
from oms.states import FulfilmentStatus, HoldStatus

User = AbstractBaseUser | AnonymousUser


def expired_hold_units(variant_ids: Iterable[int]) -> dict[tuple[int, int], int]:
    """Units still counted as reserved by holds past their expiry (not yet swept)."""
    rows = (
        HoldLine.objects.filter(
            variant_id__in=list(variant_ids),
            hold__status=HoldStatus.ACTIVE,
            hold__expires_at__lte=timezone.now(),
        )
        .values("variant_id", "location_id")
        .annotate(units=Sum("quantity"))
    )
    return {(r["variant_id"], r["location_id"]): r["units"] for r in rows}


def free_units_by_location(
    *, variant_ids: Iterable[int], location_ids: Iterable[int], keep_free: int = 0
) -> dict[tuple[int, int], int]:
    """(variant, location) -> units a sales channel may still promise there."""
    variant_ids = list(variant_ids)
    expired = expired_hold_units(variant_ids)
    levels = StockLevel.objects.filter(
        variant_id__in=variant_ids, location_id__in=list(location_ids)
    )
    result: dict[tuple[int, int], int] = {}
    for level in levels:
        key = (level.variant_id, level.location_id)
        result[key] = max(0, level.free + expired.get(key, 0) - keep_free)
    return result


def available_to_promise(
    *, sales_channel: SalesChannel, variant_ids: Iterable[int]
) -> dict[int, int]:
    """Per variant: sum over the sales channel's locations of on hand - allocated -
    unexpired holds - the sales channel's safety stock."""
    variant_ids = list(variant_ids)
    location_ids = list(sales_channel.locations.values_list("id", flat=True))
    per_location = free_units_by_location(
        variant_ids=variant_ids, location_ids=location_ids, keep_free=sales_channel.safety_stock
    )
    totals: dict[int, int] = dict.fromkeys(variant_ids, 0)
    for (variant_id, _location_id), units in per_location.items():
        totals[variant_id] += units
    return totals


def variants_by_sku(skus: Iterable[str]) -> dict[str, ProductVariant]:
    return {
        v.sku: v
        for v in ProductVariant.objects.select_related("product").filter(
            sku__in=list(skus), product__is_active=True
        )
    }


def staff_location_ids(user: User) -> set[int] | None:
    """Locations a user may work in; ``None`` means all (merchant admin)."""
    if user_is_merchant_admin(user):
        return None
    if not user_has_role(user, Role.STORE_STAFF):
        return set()
    memberships = StaffMembership.objects.filter(user_id=int(user.pk or 0))
    return set(memberships.values_list("location_id", flat=True))


def stock_levels_visible(
    *, user: User, sku: str | None = None, location: str | None = None
) -> QuerySet[StockLevel]:
    """Stock rows at the locations a user works in, optionally for one SKU or location."""
    levels = StockLevel.objects.select_related("variant", "location").order_by(
        "variant_id", "location_id"
    )
    scope = staff_location_ids(user)
    if scope is not None:
        levels = levels.filter(location_id__in=scope)
    if sku:
        levels = levels.filter(variant__sku=sku)
    if location:
        levels = levels.filter(location__code=location)
    return levels


def stock_movements_visible(*, user: User, sku: str | None = None) -> QuerySet[StockMovement]:
    """The ledger at the locations a user works in, newest first."""
    moves = StockMovement.objects.select_related("variant", "location").order_by("-id")
    scope = staff_location_ids(user)
    if scope is not None:
        moves = moves.filter(location_id__in=scope)
    if sku:
        moves = moves.filter(variant__sku=sku)
    return moves


def order_inbox(
    *, user: User, status: str | None = None, channel: str | None = None
) -> QuerySet[Order]:
    """Orders a user may see: all for admins, their stores' for staff, own for shoppers."""
    orders = Order.objects.select_related("sales_channel", "pickup_location").prefetch_related(
        "lines", "fulfilments"
    )
    scope = staff_location_ids(user)
    if scope is None:
        pass
    elif scope:
        orders = orders.filter(
            Q(fulfilments__location_id__in=scope) | Q(pickup_location_id__in=scope)
        ).distinct()
    else:
        orders = orders.filter(customer_id=user.pk)
    if status:
        orders = orders.filter(status=status)
    if channel:
        orders = orders.filter(sales_channel__code=channel)
    return orders


@dataclass
class PickListRow:
    sku: str
    product_name: str
    quantity: int = 0
    orders: list[str] = field(default_factory=list)


def pick_list(*, location: Location) -> list[PickListRow]:
    """What to pick at a location now: open fulfilment lines grouped by SKU."""
    lines = FulfilmentLine.objects.filter(
        fulfilment__location=location,
        fulfilment__status__in=[FulfilmentStatus.PENDING, FulfilmentStatus.PICKING],
    ).select_related("order_line", "fulfilment__order")
    rows: dict[str, PickListRow] = {}
    for line in lines:
        sku = line.order_line.sku
        row = rows.setdefault(sku, PickListRow(sku=sku, product_name=line.order_line.product_name))
        row.quantity += line.quantity
        if line.fulfilment.order.number not in row.orders:
            row.orders.append(line.fulfilment.order.number)
    return [rows[sku] for sku in sorted(rows)]


def returns_with_lines() -> QuerySet[ReturnRequest]:
    """RMAs ready for output: order, receiving store and every line with its order line
    (SKU and name as sold) in two queries, however many lines there are."""
    return ReturnRequest.objects.select_related("order", "received_at_location").prefetch_related(
        Prefetch("lines", queryset=ReturnLine.objects.select_related("order_line").order_by("id"))
    )


def return_for_output(*, pk: int) -> ReturnRequest:
    """One RMA as the API shows it, read fresh after a service changed it."""
    return returns_with_lines().get(pk=pk)


def ledger_totals(*, variant_id: int, location_id: int) -> dict[str, int]:
    """Sum of the ledger for one stock row; equals the row when the books balance."""
    sums = StockMovement.objects.filter(variant_id=variant_id, location_id=location_id).aggregate(
        on_hand=Sum("on_hand_delta"),
        allocated=Sum("allocated_delta"),
        reserved=Sum("reserved_delta"),
    )
    return {k: v or 0 for k, v in sums.items()}
