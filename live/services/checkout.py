"""Turn a live hold into an order at the drop's live price (pending payment).

The payments work marks it paid through ``oms.services.orders.order_mark_paid``, which
converts the hold; ``drop_claims_release`` then marks the claim converted.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from live.errors import InvalidMessage, NotAllowed
from live.models import DropClaim
from live.states import ClaimStatus
from oms.models import Location, Order
from oms.services.orders import OrderLineInput, order_create


def live_order_create(
    *,
    claim: DropClaim,
    buyer: User,
    fulfilment_method: str = Order.FulfilmentMethod.SHIP,
    shipping_address: dict[str, Any] | None = None,
    pickup_location: Location | None = None,
) -> Order:
    """One order per claim: a retry returns the first order."""
    if claim.buyer_id != buyer.pk:
        raise NotAllowed(_("this hold belongs to another buyer"))
    if claim.status != ClaimStatus.HELD or claim.hold is None:
        raise InvalidMessage(
            format_lazy(_("the hold is {status}; it cannot be checked out"), status=claim.status)
        )
    drop = claim.drop
    with transaction.atomic():
        return order_create(
            sales_channel=drop.show.sales_channel,
            lines=[OrderLineInput(sku=claim.variant.sku, quantity=claim.quantity)],
            fulfilment_method=fulfilment_method,
            customer=buyer,
            customer_email=buyer.email,
            pickup_location=pickup_location,
            shipping_address=shipping_address,
            unit_price_overrides={claim.variant.sku: drop.price_amount},
            external_ref=f"live-claim:{claim.pk}",
            hold=claim.hold,
            actor=buyer,
        )
