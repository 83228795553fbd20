"""Search fixtures: a small bilingual catalogue and each backend on a private index."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.test import override_settings

from oms.models import Location, Merchant, Product, ProductVariant
from oms.services.stock import stock_receive

CATALOGUE = [
    # slug, name_en, name_zh, category, price, stocked
    ("red-tee", "Red Cotton Tee", "红色纯棉T恤", "apparel", 12900, True),
    ("blue-tee", "Blue Linen Shirt", "蓝色亚麻衬衫", "apparel", 25900, False),
    ("white-mug", "White Ceramic Mug", "白色陶瓷马克杯", "home", 4500, True),
    ("green-tea", "Longjing Green Tea", "龙井绿茶", "food", 8800, True),
    ("tea-set", "Porcelain Tea Set", "青花瓷茶具", "home", 59900, False),
]


@pytest.fixture(params=["embedded", "elastic"])
def backend_kind(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "embedded":
        with override_settings(ELASTICSEARCH_URL="", SEARCH_EMBEDDED_PATH=tmp_path / "s.db"):
            yield "embedded"
    else:
        clone = request.getfixturevalue("osmem_clone")
        with override_settings(ELASTICSEARCH_URL=clone.url, ELASTICSEARCH_CLIENT="opensearch"):
            yield "elastic"


@pytest.fixture
def catalogue(merchant: Merchant, warehouse: Location, backend_kind: str) -> dict[str, Product]:
    products: dict[str, Product] = {}
    for slug, en, zh, category, price, stocked in CATALOGUE:
        product = Product.objects.create(
            merchant=merchant,
            slug=slug,
            name_en=en,
            name_zh=zh,
            category=category,
            description_en=f"{en} from the LiveHub test mall",
        )
        variant = ProductVariant.objects.create(
            product=product, sku=slug.upper(), price_amount=price, currency="CNY"
        )
        if stocked:
            stock_receive(variant=variant, location=warehouse, quantity=5, reason="test")
        products[slug] = product
    return products


@pytest.fixture
def indexed(catalogue: dict[str, Product]) -> dict[str, Product]:
    from search.services import search_reindex

    search_reindex()
    return catalogue


@pytest.fixture
def slugs() -> Callable[..., list[str]]:
    def hits_of(result: object) -> list[str]:
        return [h.slug for h in result.hits]  # type: ignore[attr-defined]

    return hits_of
