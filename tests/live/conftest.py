"""Live fixtures: a host, the live sales channel, a show with a sized tee in its line-up."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta

import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import connections
from django.utils import timezone

from hub.kernel.roles import Role
from live import quota
from live.models import LineupItem, Show
from live.services.shows import lineup_add, show_create, transition_show
from oms.models import Location, Merchant, Product, ProductVariant, SalesChannel


@pytest_asyncio.fixture
async def thread_connections_closed() -> AsyncIterator[None]:
    """Async tests reach the database from asgiref's threads: close those connections, so
    the test database can be dropped."""
    yield
    await sync_to_async(connections.close_all)()


@pytest.fixture(autouse=True)
def clean_live_redis() -> Iterator[None]:
    """Drop and coupon ids restart in every test database; clear their Redis keys around
    each test."""

    def wipe() -> None:
        if settings.REDIS_URL:
            for pattern in ("{live:drop:*", "{live:coupon:*"):
                keys = list(quota.client().scan_iter(match=pattern, count=1000))
                if keys:
                    quota.client().delete(*keys)

    wipe()
    yield
    wipe()


def make_user(username: str, role: Role) -> User:
    group, _ = Group.objects.get_or_create(name=role.value)
    user = User.objects.create_user(username=username, password=username)
    user.groups.add(group)
    return user


@pytest.fixture
def host(db: None) -> User:
    return make_user("host", Role.HOST)


@pytest.fixture
def live_channel(warehouse: Location, store_jingan: Location) -> SalesChannel:
    channel = SalesChannel.objects.create(
        code="live", name="Live room", kind=SalesChannel.Kind.LIVE, currency="CNY"
    )
    channel.locations.set([warehouse, store_jingan])
    return channel


@pytest.fixture
def hoodie(merchant: Merchant) -> Product:
    product = Product.objects.create(
        merchant=merchant, slug="hoodie", name_en="Hoodie", name_zh="卫衣"
    )
    for size in ("M", "XL"):
        ProductVariant.objects.create(
            product=product,
            sku=f"HOODIE-RED-{size}",
            attributes={"size": size, "colour": "Red", "colour_zh": "红色"},
            price_amount=19900,
            currency="CNY",
        )
    return product


@pytest.fixture
def hoodie_xl(hoodie: Product) -> ProductVariant:
    return hoodie.variants.get(sku="HOODIE-RED-XL")


@pytest.fixture
def show(host: User, live_channel: SalesChannel, hoodie: Product) -> Show:
    show = show_create(
        host=host,
        title="Friday drop",
        scheduled_at=timezone.now() + timedelta(hours=1),
        sales_channel=live_channel,
    )
    lineup_add(
        show=show, actor=host, product=hoodie, label="A12", live_price_amount=9900, quota=10,
        per_buyer_limit=2,
    )  # fmt: skip
    return transition_show(show=show, target="live", actor=host)


@pytest.fixture
def item(show: Show) -> LineupItem:
    return show.lineup.get(label="A12")


@pytest.fixture
def buyers(db: None) -> Callable[[int], list[User]]:
    def make(n: int) -> list[User]:
        return [make_user(f"buyer{i}", Role.SHOPPER) for i in range(n)]

    return make
