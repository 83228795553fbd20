"""Payment fixtures: gateway simulators on local ports, a payable order."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User

from oms.models import Location, Order, ProductVariant, SalesChannel
from oms.services.orders import OrderLineInput, order_create
from tests.fixtures.gateways import NOTIFY, alipay_gateway, gateways, wechat_gateway

__all__ = ["NOTIFY", "alipay_gateway", "gateways", "make_order", "wechat_gateway"]


@pytest.fixture
def make_order(
    web: SalesChannel,
    warehouse: Location,
    tee: ProductVariant,
    mug: ProductVariant,
    stock: Callable[[ProductVariant, Location, int], None],
    shopper: User,
) -> Callable[..., Order]:
    stock(tee, warehouse, 50)
    stock(mug, warehouse, 50)

    def make(tees: int = 1, mugs: int = 0, customer: User | None = None) -> Order:
        lines = [OrderLineInput(tee.sku, tees)]
        if mugs:
            lines.append(OrderLineInput(mug.sku, mugs))
        return order_create(
            sales_channel=web,
            lines=lines,
            fulfilment_method=Order.FulfilmentMethod.SHIP,
            customer=customer or shopper,
            shipping_address={"line1": "1 Nanjing Rd", "city": "Shanghai"},
            shipping_amount=1000,
        )

    return make
