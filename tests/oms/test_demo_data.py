"""The demo data set: complete, consistent with the stock ledger, and idempotent."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.db.models import Count, Sum
from PIL import Image

from hub.kernel.models import AuditEvent, OutboxMessage
from hub.kernel.roles import Role
from oms.errors import InvalidInput
from oms.models import (
    Location,
    Merchant,
    Product,
    ProductVariant,
    SalesChannel,
    StaffMembership,
    StockLevel,
    StockMovement,
)
from oms.services.demo_data import DemoSummary, demo_data_load

STORES = {"sh-jingan", "sh-xuhui", "sh-pudong"}
ALL_LOCATIONS = STORES | {"ks-warehouse"}


@pytest.fixture
def media_root(settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    # The loader sets four passwords per run; a fast hasher keeps these tests quick.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return tmp_path


@pytest.fixture
def demo(db: None, media_root: Path) -> DemoSummary:
    return demo_data_load(products=12)


def _counts() -> dict[str, int]:
    return {
        "merchants": Merchant.objects.count(),
        "locations": Location.objects.count(),
        "sales_channels": SalesChannel.objects.count(),
        "products": Product.objects.count(),
        "variants": ProductVariant.objects.count(),
        "stock_levels": StockLevel.objects.count(),
        "stock_movements": StockMovement.objects.count(),
        "audit_events": AuditEvent.objects.count(),
        "outbox_messages": OutboxMessage.objects.count(),
        "users": User.objects.count(),
        "memberships": StaffMembership.objects.count(),
    }


def _ean13_valid(code: str) -> bool:
    digits = [int(d) for d in code]
    weighted = sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits[:12]))
    return len(code) == 13 and (weighted + digits[12]) % 10 == 0


@pytest.mark.django_db
def test_demo_load_creates_three_stores_and_one_warehouse(demo: DemoSummary) -> None:
    locations = {loc.code: loc for loc in Location.objects.all()}
    assert set(locations) == ALL_LOCATIONS
    assert demo.locations == 4
    for code in STORES:
        store = locations[code]
        assert store.kind == Location.Kind.STORE
        assert store.city == "Shanghai"
        assert (store.ships, store.pickup, store.accepts_returns) == (True, True, True)
        assert store.opening_hours["mon"] == ["10:00", "22:00"]
        assert 31.0 < store.latitude < 31.5 and 121.2 < store.longitude < 121.7
    assert sorted(locations[c].priority for c in STORES) == [20, 30, 40]
    warehouse = locations["ks-warehouse"]
    assert warehouse.kind == Location.Kind.WAREHOUSE
    assert (warehouse.ships, warehouse.pickup, warehouse.accepts_returns) == (True, False, False)
    assert warehouse.priority == 10
    assert Location.objects.filter(merchant__name="LiveHub Demo Mall").count() == 4


@pytest.mark.django_db
def test_demo_load_creates_the_five_sales_channels(demo: DemoSummary) -> None:
    channels = {
        c.code: (
            c.kind,
            c.currency,
            c.safety_stock,
            c.allow_split,
            c.routing,
            {loc.code for loc in c.locations.all()},
        )
        for c in SalesChannel.objects.prefetch_related("locations")
    }
    nearest, priority = SalesChannel.Routing.NEAREST, SalesChannel.Routing.PRIORITY
    assert channels == {
        "web": ("web", "CNY", 0, True, nearest, ALL_LOCATIONS),
        "app": ("app", "CNY", 0, True, nearest, ALL_LOCATIONS),
        "pos": ("pos", "CNY", 0, True, nearest, STORES),
        "live": ("live", "CNY", 0, True, nearest, ALL_LOCATIONS),
        "shopify": ("marketplace", "CNY", 2, False, priority, ALL_LOCATIONS),
    }
    assert demo.sales_channels == 5


@pytest.mark.django_db
def test_demo_products_have_names_variants_and_an_image_file(
    demo: DemoSummary, media_root: Path
) -> None:
    products = list(Product.objects.annotate(n_variants=Count("variants")))
    assert len(products) == 12
    assert demo.products == 12
    assert demo.images_generated == 12
    assert len({p.category for p in products}) == 8
    for product in products:
        assert 1 <= product.n_variants <= 6
        assert product.name_en.strip() and product.name_zh.strip()
        assert product.description_en.strip() and product.description_zh.strip()
        assert any("\u4e00" <= ch <= "\u9fff" for ch in product.name_zh)
        assert product.image.name == f"products/{product.slug}.png"
        path = media_root / product.image.name
        assert path.is_file()
    with Image.open(media_root / products[0].image.name) as image:
        assert (image.format, image.size) == ("PNG", (480, 480))


@pytest.mark.django_db
def test_demo_variants_have_unique_skus_valid_barcodes_and_prices_in_fen(
    demo: DemoSummary,
) -> None:
    variants = list(ProductVariant.objects.select_related("product"))
    assert len(variants) == demo.variants
    assert len({v.sku for v in variants}) == len(variants)
    assert len({v.barcode for v in variants}) == len(variants)
    for variant in variants:
        assert variant.barcode is not None and _ean13_valid(variant.barcode)
        assert variant.currency == "CNY"
        assert 1990 <= variant.price_amount <= 89900
        if variant.product.category in {"apparel", "shoes"}:
            assert set(variant.attributes) == {"size", "colour", "colour_zh"}
            assert variant.sku.endswith(f"-{variant.attributes['size']}")


@pytest.mark.django_db
def test_demo_stock_rows_equal_their_ledger_sums(demo: DemoSummary) -> None:
    ledger = {
        (row["variant_id"], row["location_id"]): (row["on_hand"], row["allocated"], row["reserved"])
        for row in StockMovement.objects.values("variant_id", "location_id").annotate(
            on_hand=Sum("on_hand_delta"),
            allocated=Sum("allocated_delta"),
            reserved=Sum("reserved_delta"),
        )
    }
    levels = {
        (level.variant_id, level.location_id): (level.on_hand, level.allocated, level.reserved)
        for level in StockLevel.objects.all()
    }
    assert levels
    assert levels == ledger
    assert all(0 < on_hand <= 40 for on_hand, _, _ in levels.values())
    assert set(StockMovement.objects.values_list("kind", "reason", "reference")) == {
        ("receive", "demo opening stock", "demo")
    }
    assert demo.stock_levels == len(levels) == demo.stock_receipts
    assert demo.units_on_hand == sum(on_hand for on_hand, _, _ in levels.values())


@pytest.mark.django_db
def test_demo_users_log_in_with_their_username_and_have_their_role(demo: DemoSummary) -> None:
    roles = {
        "admin": Role.MERCHANT_ADMIN,
        "staff": Role.STORE_STAFF,
        "host": Role.HOST,
        "shopper": Role.SHOPPER,
    }
    for username, role in roles.items():
        user = authenticate(username=username, password=username)
        assert user is not None
        assert list(user.groups.values_list("name", flat=True)) == [role.value]
        assert user.email == f"{username}@demo.livehub.local"
    admin = User.objects.get(username="admin")
    assert (admin.is_staff, admin.is_superuser) == (True, True)
    staff = User.objects.get(username="staff")
    assert (staff.is_staff, staff.is_superuser) == (False, False)
    assert demo.users == 4


@pytest.mark.django_db
def test_demo_staff_works_at_the_first_store_only(demo: DemoSummary) -> None:
    memberships = StaffMembership.objects.filter(user__username="staff")
    assert [m.location.code for m in memberships] == ["sh-jingan"]


@pytest.mark.django_db
def test_loading_twice_changes_no_counts(demo: DemoSummary) -> None:
    before = _counts()
    again = demo_data_load(products=12)
    assert _counts() == before
    assert (
        again.products_created,
        again.variants_created,
        again.images_generated,
        again.stock_receipts,
    ) == (0, 0, 0, 0)
    assert (again.products, again.variants, again.stock_levels, again.units_on_hand) == (
        demo.products,
        demo.variants,
        demo.stock_levels,
        demo.units_on_hand,
    )


@pytest.mark.django_db
def test_a_second_run_resets_a_changed_demo_password(demo: DemoSummary) -> None:
    host = User.objects.get(username="host")
    host.set_password("changed-it")
    host.save()
    demo_data_load(products=12)
    assert authenticate(username="host", password="host") is not None


@pytest.mark.django_db
def test_a_larger_load_extends_a_smaller_one(demo: DemoSummary) -> None:
    first = list(Product.objects.order_by("id").values_list("slug", "name_en"))
    bigger = demo_data_load(products=20)
    assert bigger.products_created == 8
    assert list(Product.objects.order_by("id").values_list("slug", "name_en"))[:12] == first
    assert Product.objects.count() == 20


@pytest.mark.django_db
def test_a_negative_product_count_is_refused_and_writes_nothing(media_root: Path) -> None:
    with pytest.raises(InvalidInput):
        demo_data_load(products=-1)
    counts = _counts()
    assert counts == dict.fromkeys(counts, 0)
