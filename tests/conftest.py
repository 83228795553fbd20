"""Shared fixtures: a small merchant with two stores, a warehouse and one sales channel."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from asgiref.sync import SyncToAsync
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.utils import translation

from hub.kernel.roles import Role
from oms.models import Location, Merchant, Product, ProductVariant, SalesChannel, StaffMembership
from oms.services.stock import stock_receive


def _fresh_sync_to_async_thread() -> None:
    """Tests fork servers (Daphne, media workers) after async tests have used asgiref's
    single-thread executor here; the child inherits it with a thread that does not exist
    there, so every ``sync_to_async`` call would wait forever. Give the child its own."""
    SyncToAsync.single_thread_executor = ThreadPoolExecutor(max_workers=1)


os.register_at_fork(after_in_child=_fresh_sync_to_async_thread)


@pytest.fixture(autouse=True)
def default_language() -> Iterator[None]:
    """Every test starts in ``LANGUAGE_CODE``. A test client's request in Chinese leaves
    Chinese active in the thread (``LocaleMiddleware`` sets it per request and never
    resets it), and lazy error messages are rendered in the active language."""
    with translation.override(settings.LANGUAGE_CODE):
        yield


@pytest.fixture
def merchant(db: None) -> Merchant:
    return Merchant.objects.create(name="Test Mall", default_currency="CNY")


def _location(
    merchant: Merchant, code: str, kind: str, lat: float, lng: float, priority: int
) -> Location:
    is_store = kind == Location.Kind.STORE
    return Location.objects.create(
        merchant=merchant,
        code=code,
        kind=kind,
        name_en=code.title(),
        name_zh=code,
        latitude=lat,
        longitude=lng,
        ships=True,
        pickup=is_store,
        accepts_returns=is_store,
        priority=priority,
    )


@pytest.fixture
def warehouse(merchant: Merchant) -> Location:
    return _location(merchant, "kunshan-dc", Location.Kind.WAREHOUSE, 31.3856, 120.9807, 10)


@pytest.fixture
def store_jingan(merchant: Merchant) -> Location:
    return _location(merchant, "jingan", Location.Kind.STORE, 31.2304, 121.4737, 20)


@pytest.fixture
def store_pudong(merchant: Merchant) -> Location:
    return _location(merchant, "pudong", Location.Kind.STORE, 31.2397, 121.4998, 30)


@pytest.fixture
def web(warehouse: Location, store_jingan: Location, store_pudong: Location) -> SalesChannel:
    channel = SalesChannel.objects.create(
        code="web", name="Web shop", kind=SalesChannel.Kind.WEB, currency="CNY"
    )
    channel.locations.set([warehouse, store_jingan, store_pudong])
    return channel


@pytest.fixture
def make_variant(merchant: Merchant) -> Callable[..., ProductVariant]:
    counter = iter(range(1, 10_000))

    def make(sku: str | None = None, price: int = 9900) -> ProductVariant:
        n = next(counter)
        product = Product.objects.create(
            merchant=merchant, slug=f"product-{n}", name_en=f"Product {n}", name_zh=f"商品{n}"
        )
        return ProductVariant.objects.create(
            product=product, sku=sku or f"SKU-{n}", price_amount=price, currency="CNY"
        )

    return make


@pytest.fixture
def tee(make_variant: Callable[..., ProductVariant]) -> ProductVariant:
    return make_variant("TEE-RED-M", price=12900)


@pytest.fixture
def mug(make_variant: Callable[..., ProductVariant]) -> ProductVariant:
    return make_variant("MUG-WHITE", price=4500)


@pytest.fixture
def stock(db: None) -> Callable[[ProductVariant, Location, int], None]:
    def receive(variant: ProductVariant, location: Location, quantity: int) -> None:
        stock_receive(variant=variant, location=location, quantity=quantity, reason="test")

    return receive


def _user(username: str, role: Role) -> User:
    group, _ = Group.objects.get_or_create(name=role.value)
    user = User.objects.create_user(
        username=username, password=username, email=f"{username}@t.test"
    )
    user.groups.add(group)
    return user


@pytest.fixture
def shopper(db: None) -> User:
    return _user("shopper", Role.SHOPPER)


@pytest.fixture
def other_shopper(db: None) -> User:
    return _user("other", Role.SHOPPER)


@pytest.fixture
def admin_user(db: None) -> User:
    return _user("boss", Role.MERCHANT_ADMIN)


@pytest.fixture
def jingan_staff(store_jingan: Location) -> User:
    user = _user("jingan-staff", Role.STORE_STAFF)
    StaffMembership.objects.create(user=user, location=store_jingan)
    return user


@pytest.fixture
def pudong_staff(store_pudong: Location) -> User:
    user = _user("pudong-staff", Role.STORE_STAFF)
    StaffMembership.objects.create(user=user, location=store_pudong)
    return user
