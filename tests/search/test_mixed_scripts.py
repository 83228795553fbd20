"""Mixed Chinese + Latin queries: the same answers from both backends (embedded and osmem).

Every term of a query must occur in some field of the product (cross-field), so a query
mixing scripts finds products whose Chinese name holds one part and English text the other.
"""

from __future__ import annotations

import pytest

from oms.models import Location, Merchant, Product, ProductVariant
from oms.services.stock import stock_receive
from search.query import SearchQuery
from search.selectors import search_products, search_suggest

pytestmark = pytest.mark.django_db

MIXED = [
    # slug, name_en, name_zh, description_en, options per variant
    (
        "magnetic-case",
        "Magnetic Silicone Phone Case",
        "磁吸硅胶手机壳",
        "Works with iPhone and Android.",
        [{"colour": "black"}],
    ),
    ("clear-case", "Clear Case", "iPhone 15 透明手机壳", "Slim and clear.", [{}]),
    ("earbuds", "Wireless Earbuds", "蓝牙无线耳机", "Bluetooth 5.3, 30 hours.", [{}]),
    ("speaker", "Bluetooth Speaker", "蓝牙音箱", "Room-filling sound.", [{}]),
    (
        "cotton-tee",
        "Cotton T-Shirt",
        "纯棉T恤",
        "Soft cotton.",
        [{"size": s} for s in ("S", "M", "L", "XL")],
    ),
    ("kids-tee", "Kids Tee", "儿童T恤", "For little ones.", [{"size": s} for s in ("S", "M")]),
    ("phone-stand", "Phone Stand", "手机支架", "Aluminium.", [{}]),
]


@pytest.fixture
def mixed(merchant: Merchant, warehouse: Location, backend_kind: str) -> str:
    from search.services import search_reindex

    for slug, en, zh, desc, variants in MIXED:
        product = Product.objects.create(
            merchant=merchant,
            slug=slug,
            name_en=en,
            name_zh=zh,
            category="electronics" if "tee" not in slug else "apparel",
            description_en=desc,
        )
        for n, attributes in enumerate(variants):
            variant = ProductVariant.objects.create(
                product=product,
                sku=f"{slug}-{n}".upper(),
                attributes=attributes,
                price_amount=9900,
                currency="CNY",
            )
            stock_receive(variant=variant, location=warehouse, quantity=3, reason="test")
    search_reindex()
    return backend_kind


SEARCH_CASES = [
    ("iPhone 手机壳", ["clear-case", "magnetic-case"]),
    ("手机壳 iphone", ["clear-case", "magnetic-case"]),
    ("蓝牙 earbuds", ["earbuds"]),
    ("earbuds 蓝牙 wireless", ["earbuds"]),
    ("蓝牙", ["earbuds", "speaker"]),
    ("T恤 XL", ["cotton-tee"]),
    ("t恤 xl", ["cotton-tee"]),
    ("\uff34恤\u3000\uff38\uff2c", ["cotton-tee"]),  # full-width T恤 XL from a Chinese IME
    ("T恤", ["cotton-tee", "kids-tee"]),
    ("T恤 M", ["cotton-tee", "kids-tee"]),
    ("iphnoe 手机壳", ["clear-case", "magnetic-case"]),  # Latin typo inside a mixed query
    ("iPhone 15 手机壳", ["clear-case"]),
    ("手机", ["clear-case", "magnetic-case", "phone-stand"]),
    ("壳", ["clear-case", "magnetic-case"]),  # one character finds it
    ("蓝牙 speaker 耳机", []),  # every term must match
    ("蓝芽耳机", ["earbuds"]),  # nothing exact: one wrong character of four is allowed
    ("蓝芽", []),  # two characters get no typo budget
    ("蓝芽耳机 wireless", ["earbuds"]),
]


@pytest.mark.parametrize(("text", "expected"), SEARCH_CASES)
def test_mixed_script_search_gives_the_same_hits_on_both_backends(
    mixed: str, text: str, expected: list[str]
) -> None:
    result = search_products(SearchQuery(text=text))
    assert sorted(h.slug for h in result.hits) == expected
    assert result.total == len(expected)


def test_mixed_query_ranks_the_name_match_first(mixed: str) -> None:
    # "iPhone" is in the clear case's Chinese name, only in the other's description.
    result = search_products(SearchQuery(text="iPhone 手机壳"))
    assert [h.slug for h in result.hits] == ["clear-case", "magnetic-case"]


def test_mixed_search_keeps_facets_and_filters(mixed: str) -> None:
    result = search_products(SearchQuery(text="T恤 XL", category="apparel", in_stock=True))
    assert [h.slug for h in result.hits] == ["cotton-tee"]
    assert [(b.key, b.count) for b in result.facets["category"]] == [("apparel", 1)]


SUGGEST_CASES = [
    ("蓝牙 ear", [("蓝牙无线耳机", "zh")]),
    ("iphone 手机", [("iPhone 15 透明手机壳", "zh")]),  # names only: not the description
    ("纯棉t", [("纯棉T恤", "zh")]),
    ("wireless ea", [("Wireless Earbuds", "en")]),
    ("蓝芽耳机", [("蓝牙无线耳机", "zh")]),  # a wrong character (芽 for 牙)
    ("无线耳鸡", [("蓝牙无线耳机", "zh")]),  # a wrong pinyin pick at the end
    ("wireles earb", [("Wireless Earbuds", "en")]),  # a typo in an earlier word
    ("bluetoth", [("Bluetooth Speaker", "en")]),  # a typo in the word being typed
    ("iphnoe 透明", [("iPhone 15 透明手机壳", "zh")]),
    ("phone", [("Phone Stand", "en"), ("Magnetic Silicone Phone Case", "en")]),
]


@pytest.mark.parametrize(("prefix", "expected"), SUGGEST_CASES)
def test_mixed_script_suggestions_tolerate_typos_on_both_backends(
    mixed: str, prefix: str, expected: list[tuple[str, str]]
) -> None:
    assert [(s.text, s.lang) for s in search_suggest(prefix=prefix)] == expected


def test_short_chinese_input_is_not_relaxed(mixed: str) -> None:
    # Two characters get no typo budget: 蓝芽 must not turn into every 蓝 product.
    assert search_suggest(prefix="蓝芽") == []
