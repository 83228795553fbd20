"""Checkout writes: carts (per user or session, merged at sign-in), the address book,
and turning a cart or a live hold into a ``pending_payment`` order.

Placing an order is one transaction: the order and its stock hold (``oms``), the coupon
use and the points spent commit together or not at all. Endpoints wrap it in
``run_idempotently`` so a retried request returns the first order.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from checkout import selectors
from checkout.errors import EmptyCart, InvalidCheckout
from checkout.live_prices import live_prices_for
from checkout.models import Address, Cart, CartLine
from checkout.pricing import Quote, price_quote
from hub.kernel.audit import audit_record
from members.services import coupon_redeem, points_redeem
from oms.models import Hold, Location, Order, ProductVariant, SalesChannel
from oms.routing import ShipTo
from oms.services.orders import OrderLineInput, order_create
from oms.states import HoldStatus

MAX_LINE_QUANTITY = 99


# ---- carts ------------------------------------------------------------------------------


def cart_get(
    *, sales_channel: SalesChannel, user: User | None = None, session_key: str = ""
) -> Cart:
    """The user's cart, else the session's; created on first use."""
    if user is None and not session_key:
        raise InvalidCheckout("a cart needs a signed-in user or a session")
    lookup: dict[str, Any] = (
        {"user": user} if user is not None else {"user": None, "session_key": session_key}
    )
    try:
        with transaction.atomic():
            cart, _ = Cart.objects.get_or_create(
                sales_channel=sales_channel,
                **lookup,
                defaults={"session_key": "" if user is not None else session_key},
            )
    except IntegrityError:  # a concurrent first request created it
        cart = Cart.objects.get(sales_channel=sales_channel, **lookup)
    return cart


def cart_set_line(*, cart: Cart, sku: str, quantity: int) -> Cart:
    """Set a line's quantity (0 removes it)."""
    if not 0 <= quantity <= MAX_LINE_QUANTITY:
        raise InvalidCheckout(f"quantity must be between 0 and {MAX_LINE_QUANTITY}")
    variant = ProductVariant.objects.filter(sku=sku, product__is_active=True).first()
    if variant is None:
        raise InvalidCheckout(f"unknown SKU: {sku}", sku=sku)
    with transaction.atomic():
        if quantity == 0:
            CartLine.objects.filter(cart=cart, variant=variant).delete()
        else:
            CartLine.objects.update_or_create(
                cart=cart, variant=variant, defaults={"quantity": quantity}
            )
        cart.save(update_fields=["updated_at"])
    return cart


def cart_merge(*, session_key: str, user: User) -> int:
    """Fold the anonymous session's carts into the user's at sign-in; returns lines moved."""
    moved = 0
    with transaction.atomic():
        for anonymous in Cart.objects.select_for_update().filter(
            user=None, session_key=session_key
        ):
            target = cart_get(sales_channel=anonymous.sales_channel, user=user)
            for line in anonymous.lines.all():
                existing = CartLine.objects.filter(cart=target, variant=line.variant).first()
                if existing is None:
                    CartLine.objects.create(
                        cart=target, variant=line.variant, quantity=line.quantity
                    )
                else:
                    existing.quantity = min(MAX_LINE_QUANTITY, existing.quantity + line.quantity)
                    existing.save(update_fields=["quantity"])
                moved += 1
            anonymous.delete()
    return moved


# ---- address book -------------------------------------------------------------------------


def address_create(*, user: User, data: dict[str, Any]) -> Address:
    with transaction.atomic():
        make_default = (
            bool(data.pop("is_default", False)) or not Address.objects.filter(user=user).exists()
        )
        if make_default:
            Address.objects.filter(user=user).update(is_default=False)
        return Address.objects.create(user=user, is_default=make_default, **data)


# ---- placing orders -----------------------------------------------------------------------


def _destination(
    *, address: Address | None, pickup_location: Location | None, sales_channel: SalesChannel
) -> tuple[str, str]:
    if (address is None) == (pickup_location is None):
        raise InvalidCheckout("choose either a shipping address or a pick-up store")
    if pickup_location is not None:
        if (
            not pickup_location.pickup
            or not sales_channel.locations.filter(pk=pickup_location.pk).exists()
        ):
            raise InvalidCheckout(f"{pickup_location.code} is not a pick-up store here")
        return Order.FulfilmentMethod.PICKUP, "*"
    assert address is not None
    return Order.FulfilmentMethod.SHIP, address.region


def checkout_quote(
    *,
    sales_channel: SalesChannel,
    quantities: dict[ProductVariant, int],
    user: User | None,
    address: Address | None = None,
    pickup_location: Location | None = None,
    coupon_code: str = "",
    points: int = 0,
    live_prices: dict[str, int] | None = None,
) -> Quote:
    if not quantities:
        raise EmptyCart("the cart is empty")
    method, region = _destination(
        address=address, pickup_location=pickup_location, sales_channel=sales_channel
    )
    return price_quote(
        sales_channel=sales_channel,
        quantities=quantities,
        user=user,
        region=region,
        pickup=method == Order.FulfilmentMethod.PICKUP,
        coupon_code=coupon_code,
        points=points,
        live_prices=live_prices,
    )


def _place(
    *,
    user: User,
    sales_channel: SalesChannel,
    quantities: dict[ProductVariant, int],
    address: Address | None,
    pickup_location: Location | None,
    coupon_code: str,
    points: int,
    hold: Hold | None,
    live_prices: dict[str, int] | None,
) -> tuple[Order, Quote]:
    if address is not None and address.user_id != user.pk:
        raise InvalidCheckout("that address is not in your address book")
    with transaction.atomic():
        quote = checkout_quote(
            sales_channel=sales_channel,
            quantities=quantities,
            user=user,
            address=address,
            pickup_location=pickup_location,
            coupon_code=coupon_code,
            points=points,
            live_prices=live_prices,
        )
        ship_to = (
            ShipTo(address.latitude, address.longitude)
            if address is not None
            and address.latitude is not None
            and address.longitude is not None
            else None
        )
        order = order_create(
            sales_channel=sales_channel,
            lines=[OrderLineInput(line.sku, line.quantity) for line in quote.lines],
            fulfilment_method=(
                Order.FulfilmentMethod.PICKUP if pickup_location else Order.FulfilmentMethod.SHIP
            ),
            customer=user,
            customer_email=user.email,
            pickup_location=pickup_location,
            shipping_address=address.as_shipping_address() if address else None,
            ship_to=ship_to,
            shipping_amount=quote.shipping,
            discount_amount=quote.discount,
            unit_price_overrides={line.sku: line.unit_price for line in quote.lines},
            hold=hold,
            actor=user,
        )
        if quote.coupon_id is not None:
            coupon_redeem(
                coupon_id=quote.coupon_id,
                user=user,
                order_number=order.number,
                amount=quote.coupon_discount,
            )
        if quote.points:
            points_redeem(user=user, points=quote.points, order_number=order.number)
        audit_record(
            kind="checkout.priced",
            aggregate_type="order",
            aggregate_id=order.number,
            actor_id=user.pk,
            payload=quote.as_dict(),
        )
    return order, quote


def checkout_from_cart(
    *,
    user: User,
    cart: Cart,
    address: Address | None = None,
    pickup_location: Location | None = None,
    coupon_code: str = "",
    points: int = 0,
) -> tuple[Order, Quote]:
    """Turn the user's cart into a pending-payment order and empty the cart."""
    if cart.user_id != user.pk:
        raise InvalidCheckout("that cart is not yours")
    with transaction.atomic():
        cart = Cart.objects.select_for_update().get(pk=cart.pk)
        order, quote = _place(
            user=user,
            sales_channel=cart.sales_channel,
            quantities=selectors.cart_quantities(cart),
            address=address,
            pickup_location=pickup_location,
            coupon_code=coupon_code,
            points=points,
            hold=None,
            live_prices=None,
        )
        cart.lines.all().delete()
    return order, quote


def checkout_from_hold(
    *,
    user: User,
    hold_token: str,
    address: Address | None = None,
    pickup_location: Location | None = None,
    coupon_code: str = "",
    points: int = 0,
    live_prices: dict[str, int] | None = None,
) -> tuple[Order, Quote]:
    """Turn the buyer's live-drop hold into an order; the hold's units are adopted as is.

    ``live_prices`` (SKU -> minor units) come from trusted server code (the live app),
    never from the client.
    """
    hold = Hold.objects.filter(token=hold_token).first()
    if hold is None or hold.owner_id != user.pk:
        raise InvalidCheckout("no such hold for you")
    if hold.status != HoldStatus.ACTIVE:
        raise InvalidCheckout(f"the hold is {hold.status}, not active")
    if live_prices is None and hold.kind == Hold.Kind.LIVE_DROP:
        live_prices = live_prices_for(hold)
        if live_prices is None:
            raise InvalidCheckout("the live price of this hold is unknown; buy it in the room")
    quantities: dict[ProductVariant, int] = {}
    for line in hold.lines.select_related("variant"):
        quantities[line.variant] = quantities.get(line.variant, 0) + line.quantity
    return _place(
        user=user,
        sales_channel=hold.sales_channel,
        quantities=quantities,
        address=address,
        pickup_location=pickup_location,
        coupon_code=coupon_code,
        points=points,
        hold=hold,
        live_prices=live_prices,
    )
