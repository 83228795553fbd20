"""Payment fixtures: gateway simulators on local ports, a payable order."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from pytest_django.fixtures import Settings as SettingsWrapper

from oms.models import Location, Order, ProductVariant, SalesChannel
from oms.services.orders import OrderLineInput, order_create
from payments.simulators.alipay import AlipaySimulator
from payments.simulators.wechatpay import WeChatPaySimulator

NOTIFY = "http://127.0.0.1:8000/payments/notify/{}/"


@pytest.fixture(scope="session")
def wechat_gateway() -> Iterator[WeChatPaySimulator]:
    simulator = WeChatPaySimulator()
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture(scope="session")
def alipay_gateway() -> Iterator[AlipaySimulator]:
    simulator = AlipaySimulator()
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture
def gateways(
    settings: SettingsWrapper,
    wechat_gateway: WeChatPaySimulator,
    alipay_gateway: AlipaySimulator,
    tmp_path: Any,
) -> dict[str, Any]:
    settings.LIVEHUB_PAYMENT_PROVIDERS = {
        "sandbox": {"secret": "sandbox-test-secret"},
        "wechatpay": wechat_gateway.merchant_config(notify_url=NOTIFY.format("wechatpay")),
        "alipay": alipay_gateway.merchant_config(notify_url=NOTIFY.format("alipay")),
    }
    settings.LIVEHUB_PAYMENT_PROVIDERS_FILE = str(tmp_path / "none.json")
    return {"wechatpay": wechat_gateway, "alipay": alipay_gateway}


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
