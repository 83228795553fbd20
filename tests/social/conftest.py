"""Social fixtures: a sharer, buyers, a product link and helpers to click and buy."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client

from hub.kernel.outbox import outbox_relay
from oms.models import Location, Order, ProductVariant, SalesChannel
from oms.services.orders import OrderLineInput, order_create
from social.models import ShareLink
from social.services.links import share_link_create

BROWSER_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI"
)
ADDRESS = {"name": "Li Lei", "line1": "1 Nanjing Rd", "city": "Shanghai"}


@pytest.fixture
def sharer(db: None) -> User:
    return User.objects.create(username="sharer")


@pytest.fixture
def buyer(db: None) -> User:
    return User.objects.create(username="buyer")


@pytest.fixture
def stocked_tee(tee: ProductVariant, warehouse: Location, stock: Callable) -> ProductVariant:
    stock(tee, warehouse, 50)
    return tee


@pytest.fixture
def tee_link(sharer: User, stocked_tee: ProductVariant) -> ShareLink:
    link, _ = share_link_create(
        sharer=sharer,
        target_kind="product",
        target_id=str(stocked_tee.product_id),
        platform="wechat",
    )
    return link


@pytest.fixture
def click() -> Callable[..., None]:
    """A visitor (signed in as ``user``) opens the share link in a browser."""

    def open_link(link: ShareLink, user: User | None, *, client: Client | None = None) -> Client:
        client = client or Client(HTTP_USER_AGENT=BROWSER_UA)
        if user is not None:
            client.force_login(user)
        response = client.get(f"/s/{link.code}")
        assert response.status_code == 302
        return client

    return open_link


@pytest.fixture
def buy(web: SalesChannel) -> Callable[..., Order]:
    """The user buys ``quantity`` units; the outbox delivers ``order.created``."""

    def place(user: User, variant: ProductVariant, quantity: int = 1, **kwargs: object) -> Order:
        order = order_create(
            sales_channel=web,
            lines=[OrderLineInput(variant.sku, quantity)],
            fulfilment_method="ship",
            shipping_address=ADDRESS,
            customer=user,
            **kwargs,  # type: ignore[arg-type]
        )
        outbox_relay()
        return order

    return place
