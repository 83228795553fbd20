"""The pricing engine: one pure pipeline from lines to a quote, in integer minor units.

Order of operations (each step rounds half-up to the minor unit with Decimal, never
floats):

1. unit price: a trusted live price override, else the sales channel's price list, else
   the variant's list price (which must be in the sales channel's currency);
2. member price: the tier's discount off each unit (live prices are final: no discount);
3. tax: regions with tax added on top (``TaxRate.included=False``) add it per unit, so
   order lines always carry the price the shopper pays; included tax is reported only;
4. coupon: off eligible goods (fixed, percentage rounded down, or free shipping);
5. shipping by region (``'*'`` fallback; free over a goods threshold; pick-up is free);
6. points: at most ``max_redeem_bp`` of the goods after the coupon, worth
   ``value_minor_units`` each.

total = goods + shipping - coupon - points, and never below zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth.models import User

from checkout.errors import InvalidCheckout
from checkout.models import ShippingRate, TaxRate
from members.errors import NotEnoughPoints
from members.rules import points_rules
from members.services import (
    CouponEffect,
    PricedLine,
    coupon_evaluate,
    member_tier,
    points_balance,
)
from oms.models import ChannelPrice, ProductVariant, SalesChannel


def round_half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class QuoteLine:
    sku: str
    quantity: int
    list_price: int  #: before member price and added tax
    unit_price: int  #: what the shopper pays per unit
    live_price: bool


@dataclass(frozen=True)
class Quote:
    currency: str
    lines: list[QuoteLine]
    goods: int  #: sum of unit_price x quantity
    member_discount: int
    coupon_code: str
    coupon_discount: int
    shipping: int
    points: int
    points_discount: int
    tax: int  #: tax contained in the total
    tax_included: bool
    total: int
    coupon_id: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def discount(self) -> int:
        return self.coupon_discount + self.points_discount

    def as_dict(self) -> dict[str, object]:
        return {
            "currency": self.currency,
            "lines": [line.__dict__ for line in self.lines],
            "goods": self.goods,
            "member_discount": self.member_discount,
            "coupon_code": self.coupon_code,
            "coupon_discount": self.coupon_discount,
            "shipping": self.shipping,
            "points": self.points,
            "points_discount": self.points_discount,
            "tax": self.tax,
            "tax_included": self.tax_included,
            "total": self.total,
        }


def _lookup(model: type[ShippingRate] | type[TaxRate], region: str, currency: str):  # type: ignore[no-untyped-def]
    return (
        model.objects.filter(region=region, currency=currency).first()
        or model.objects.filter(region="*", currency=currency).first()
    )


def price_quote(
    *,
    sales_channel: SalesChannel,
    quantities: dict[ProductVariant, int],
    user: User | None,
    region: str,
    pickup: bool,
    coupon_code: str = "",
    points: int = 0,
    live_prices: dict[str, int] | None = None,
) -> Quote:
    currency = sales_channel.currency
    live_prices = live_prices or {}
    channel_prices = dict(
        ChannelPrice.objects.filter(
            sales_channel=sales_channel, variant__in=list(quantities)
        ).values_list("variant_id", "amount")
    )
    tier = member_tier(user) if user is not None else None
    tax_rate = _lookup(TaxRate, region, currency)
    lines: list[QuoteLine] = []
    member_discount = 0
    for variant, quantity in sorted(quantities.items(), key=lambda kv: kv[0].sku):
        if variant.sku in live_prices:
            base, live = live_prices[variant.sku], True
        elif variant.pk in channel_prices:
            base, live = channel_prices[variant.pk], False
        elif variant.currency == currency:
            base, live = variant.price_amount, False
        else:
            raise InvalidCheckout(f"{variant.sku} has no {currency} price on {sales_channel.code}")
        unit = base
        if tier is not None and tier.discount_bp and not live:
            unit = round_half_up(Decimal(base) * (10000 - tier.discount_bp) / 10000)
            member_discount += (base - unit) * quantity
        if tax_rate is not None and not tax_rate.included:
            unit += round_half_up(Decimal(unit) * tax_rate.rate_bp / 10000)
        lines.append(QuoteLine(variant.sku, quantity, base, unit, live))
    goods = sum(line.unit_price * line.quantity for line in lines)

    effect: CouponEffect | None = None
    if coupon_code:
        if user is None:
            raise InvalidCheckout("sign in to use a coupon")
        effect = coupon_evaluate(
            code=coupon_code,
            user=user,
            sales_channel_id=sales_channel.pk,
            currency=currency,
            lines=[PricedLine(line.sku, line.unit_price, line.quantity) for line in lines],
        )
    coupon_discount = effect.discount if effect else 0

    shipping = 0
    if not pickup:
        rate = _lookup(ShippingRate, region, currency)
        if rate is not None and not (rate.free_over is not None and goods >= rate.free_over):
            shipping = rate.amount
        if effect is not None and effect.free_shipping:
            coupon_discount += shipping

    rules = points_rules()
    points_discount = 0
    if points:
        if user is None:
            raise InvalidCheckout("sign in to redeem points")
        if points < 0:
            raise InvalidCheckout("points must be a positive number")
        cap = (goods - min(coupon_discount, goods)) * rules.max_redeem_bp // 10000
        points_discount = points * rules.value_minor_units
        if points_discount > cap:
            raise NotEnoughPoints(f"points can pay at most {cap} of this order", cap=cap)
        balance = points_balance(user)
        if points > balance:
            raise NotEnoughPoints(f"you have {balance} points, not {points}", balance=balance)

    total = max(0, goods + shipping - coupon_discount - points_discount)
    if tax_rate is None:
        tax = 0
    else:
        goods_after = max(0, goods - min(coupon_discount, goods) - points_discount)
        tax = round_half_up(Decimal(goods_after) * tax_rate.rate_bp / (10000 + tax_rate.rate_bp))
    return Quote(
        currency=currency,
        lines=lines,
        goods=goods,
        member_discount=member_discount,
        coupon_code=effect.coupon.code if effect else "",
        coupon_discount=coupon_discount,
        shipping=shipping,
        points=points,
        points_discount=points_discount,
        tax=tax,
        tax_included=tax_rate.included if tax_rate is not None else True,
        total=total,
        coupon_id=effect.coupon.pk if effect else None,
    )
